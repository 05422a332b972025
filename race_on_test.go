//go:build race

package main

// raceEnabled: the race detector slows every goroutine many times over
// and unevenly, so throughput ratios measured under it say little.
const raceEnabled = true

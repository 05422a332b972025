package index

import (
	"math"
	"time"
)

// Times as the stores keep and compare them.

// unixSeconds is t as float unix seconds, the SDK's time format.
func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// cutoffSeconds is the oldest time (unix s) still inside a window of d
// before now; -Inf when d <= 0, which means "no age limit".
func cutoffSeconds(now time.Time, d time.Duration) float64 {
	if d <= 0 {
		return math.Inf(-1)
	}
	return unixSeconds(now) - d.Seconds()
}

// eventSeconds makes a time received from outside safe to store: NaN and
// the infinities become 0 (unknown), negative times become 0.
func eventSeconds(t float64) float64 {
	if math.IsNaN(t) || math.IsInf(t, 0) || t < 0 {
		return 0
	}
	return t
}

// unixNanos is t as unix nanoseconds, clamped to [0, now] so that a time
// read from a snapshot can neither overflow nor lie in the future.
func unixNanos(t, now time.Time) int64 {
	switch {
	case t.After(now):
		return now.UnixNano()
	case t.Before(time.Unix(0, 0)):
		return 0
	}
	return t.UnixNano()
}

// fresh reports whether something stamped at (unix ns) is still inside a
// window of d before now (unix ns): its age is at most d. A window <= 0
// never expires.
func fresh(at, now int64, d time.Duration) bool {
	return d <= 0 || now-at <= int64(d)
}

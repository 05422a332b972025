package main

import (
	"bytes"
	"strings"
	"testing"
)

// The -forward scenario end to end, briefly: both servers run, the ratio
// and the queue depth are reported, and every accepted delivery's payload
// reached the receiver verified (run fails otherwise).
func TestForwardScenario(t *testing.T) {
	for _, args := range [][]string{nil, {"-in-process"}} {
		var out bytes.Buffer
		args = append([]string{"-forward", "-duration", "400ms", "-conns", "2", "-users", "50", "-rounds", "2"}, args...)
		if err := run(args, &out); err != nil {
			t.Fatalf("run %v: %v\n%s", args, err, out.String())
		}
		for _, w := range []string{"ingest, no forwarding:", "ingest, forwarding to 1 target:", "ratio forwarding/no forwarding", "queue depth during the forwarding rounds", "queue drained", "(0 unverified)"} {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: output lacks %q:\n%s", args, w, out.String())
			}
		}
	}
}

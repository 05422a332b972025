package drift

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/replayhook/replayhook/normalize"
)

func TestDriftCountersSurviveARestart(t *testing.T) {
	t0 := time.Date(2025, 3, 14, 9, 45, 0, 0, time.UTC)
	srcs := []Source{{Name: "posthog", Provider: "posthog", ProductID: "p"}}
	limits := Limits{MaxLookupMisses: 10, MaxConflicts: 10, MaxKnownIDs: 10, MaxExamples: 2}
	a := NewMemory(limits, srcs)
	a.Reset(t0)
	a.Delivery("posthog", "posthog", "accepted")
	a.Delivery("posthog", "posthog", "invalid_signature")
	a.Payload("posthog", "posthog", &normalize.ActionsPayload{ProductID: "p", SessionID: normalize.OptStr("s")}, true, t0)
	a.Lookup("nobody", false, t0)

	raw, err := json.Marshal(a.Counters())
	if err != nil {
		t.Fatal(err)
	}
	var saved Counters
	if err := json.Unmarshal(raw, &saved); err != nil {
		t.Fatal(err)
	}
	b := NewMemory(limits, srcs)
	b.RestoreCounters(saved)
	if b.Totals() != a.Totals() {
		t.Fatalf("lifetime totals %+v, want %+v", b.Totals(), a.Totals())
	}
	ra, rb := a.Report(t0.Add(time.Minute), 0, nil), b.Report(t0.Add(time.Minute), 0, nil)
	if rb.WindowSeconds != 60 || rb.Totals.Deliveries != ra.Totals.Deliveries || rb.Totals.LookupMisses != 1 {
		t.Fatalf("window after restore: %+v, before: %+v", rb.Totals, ra.Totals)
	}
	if len(rb.Sources) != 1 || rb.Sources[0].Late != 1 || rb.Sources[0].MissingUserID != 1 || rb.Sources[0].Rejected["invalid_signature"] != 1 {
		t.Fatalf("source row after restore: %+v", rb.Sources)
	}
	// Rows of sources that are no longer configured are dropped.
	c := NewMemory(limits, []Source{{Name: "other"}})
	c.RestoreCounters(saved)
	if s := c.Sizes(); s.SourceRows != 1 {
		t.Fatalf("rows %d", s.SourceRows)
	}
}

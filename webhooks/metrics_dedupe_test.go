package webhooks

import (
	"fmt"
	"testing"

	"github.com/replayhook/replayhook/config"
)

// TestMetricsDedupeEvictedInsideWindow: a source posting more distinct
// deliveries than its dedupe table holds within the window shows in
// replayhook_dedupe_evicted_inside_window_total, under its own label only.
func TestMetricsDedupeEvictedInsideWindow(t *testing.T) {
	var m *Metrics
	h := newHarness(t, func(cfg *config.Config, _ *Deps) { cfg.Dedupe.MaxKeys = 2 }, withTestMetrics(&m))
	for i := range 5 {
		if rec := h.post("autoplay", payloadFor("u1", fmt.Sprint("s", i), T0)); rec.Code != 200 {
			t.Fatalf("post: %d %s", rec.Code, rec.Body)
		}
	}
	got, text := h.scrape()
	if n := got[`replayhook_dedupe_evicted_inside_window_total{source="autoplay"}`]; n != 3 {
		t.Fatalf("autoplay evicted inside window = %v, want 3 (5 keys in a table of 2)\n%s", n, text)
	}
	if n, ok := got[`replayhook_dedupe_evicted_inside_window_total{source="open"}`]; !ok || n != 0 {
		t.Fatalf("open = %v, %v; want a 0 series", n, ok)
	}
}

package webhooks

import "github.com/prometheus/client_golang/prometheus"

// dedupeYoungCollector exports replayhook_dedupe_evicted_inside_window_total
// by source: dedupe keys evicted for room while still inside their window.
// A source's table is then too small for its delivery rate, and a replay of
// an evicted key would be stored again. Sources outside the configured set
// are summed under OtherLabel, so the label's values stay bounded.
type dedupeYoungCollector struct {
	read    func() map[string]uint64
	sources map[string]bool
	desc    *prometheus.Desc
}

func newDedupeYoungCollector(read func() map[string]uint64, sources map[string]bool) *dedupeYoungCollector {
	return &dedupeYoungCollector{read: read, sources: sources, desc: prometheus.NewDesc(
		"replayhook_dedupe_evicted_inside_window_total",
		"Dedupe keys evicted for room while inside dedupe.window_seconds, by source: raise dedupe.max_keys (per source) above the source's peak deliveries per second × the window.",
		[]string{"source"}, nil)}
}

func (c *dedupeYoungCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *dedupeYoungCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[string]uint64{}
	for s := range c.sources {
		counts[s] = 0
	}
	for s, n := range c.read() {
		if !c.sources[s] {
			s = OtherLabel
		}
		counts[s] += n
	}
	for s, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n), s)
	}
}

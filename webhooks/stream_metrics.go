package webhooks

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/replayhook/replayhook/stream"
)

// streamMetrics instrument GET /stream/{product_id}. They are registered
// on the server's Metrics registry; without Metrics they count unseen.
type streamMetrics struct {
	sent, heartbeats, resumes, resets, slow prometheus.Counter
	lag                                     prometheus.Histogram
}

// lagBuckets span a local fan-out (~100 µs) to a subscriber seconds behind.
var lagBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

func newStreamMetrics(m *Metrics, st *stream.Stream) *streamMetrics {
	counter := func(name, help string) prometheus.Counter {
		return register(m, prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help}))
	}
	sm := &streamMetrics{
		sent:       counter("replayhook_stream_events_sent_total", "Events written to stream subscribers (replayed and live)."),
		heartbeats: counter("replayhook_stream_heartbeats_total", "Heartbeat messages written to stream subscribers."),
		resumes:    counter("replayhook_stream_resumes_total", "Streams opened with a Last-Event-ID."),
		resets:     counter("replayhook_stream_resets_total", "Resumes whose Last-Event-ID was no longer in the replay buffer (answered with a reset event)."),
		slow:       counter("replayhook_stream_slow_disconnects_total", "Subscribers disconnected because their send queue overflowed."),
		lag: register(m, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "replayhook_stream_delivery_lag_seconds",
			Help:    "From a stored payload's append to the replay buffer (before the ingest acknowledges) to its write to a live subscriber's socket.",
			Buckets: lagBuckets,
		})),
	}
	register[prometheus.Collector](m, subscribersCollector{st})
	return sm
}

// register adds c to m's registry, or returns the collector already there
// (a second server on the same Metrics); without Metrics c is unregistered.
func register[C prometheus.Collector](m *Metrics, c C) C {
	if m == nil {
		return c
	}
	if err := m.reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

var subscribersDesc = prometheus.NewDesc("replayhook_stream_subscribers",
	"Open stream subscribers on this replica, by product (only products with subscribers are listed).",
	[]string{"product"}, nil)

// subscribersCollector reads the gauge from the stream at scrape time, so
// a product without subscribers leaves no stale series. Product values are
// bounded: a stream opens only for a product a source names or a stored
// delivery carried (stream.max_products).
type subscribersCollector struct{ st *stream.Stream }

func (c subscribersCollector) Describe(ch chan<- *prometheus.Desc) { ch <- subscribersDesc }

func (c subscribersCollector) Collect(ch chan<- prometheus.Metric) {
	for p, n := range c.st.Subscribers() {
		ch <- prometheus.MustNewConstMetric(subscribersDesc, prometheus.GaugeValue, float64(n), p)
	}
}

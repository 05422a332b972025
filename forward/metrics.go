package forward

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// AttemptOutcomes are the values of the outcome label of
// replayhook_forward_attempts_total.
var AttemptOutcomes = []string{"2xx", "3xx", "4xx", "5xx", "timeout", "connection"}

// Metrics is forwarding's Prometheus instrumentation. Labels are target
// names from the configuration and the fixed outcome classes, never
// anything a payload chose. Every method of a nil *Metrics does nothing.
type Metrics struct {
	attempts *prometheus.CounterVec
	lag      *prometheus.HistogramVec
	deadTot  *prometheus.CounterVec

	depth   *prometheus.Desc
	oldest  *prometheus.Desc
	deadNow *prometheus.Desc
	f       *Forwarder
}

// lagBuckets span a healthy loopback target (a few ms) to a day down.
var lagBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400}

// NewMetrics registers forwarding's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "replayhook_forward_attempts_total",
			Help: "Forwarding attempts by target and outcome class (2xx, 3xx, 4xx, 5xx, timeout, connection).",
		}, []string{"target", "outcome"}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "replayhook_forward_lag_seconds",
			Help:    "Time from ingest (queued) to the target's 2xx, by target.",
			Buckets: lagBuckets,
		}, []string{"target"}),
		deadTot: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "replayhook_forward_dead_letters_total",
			Help: "Payloads given up on (dead-lettered) by this replica, by target.",
		}, []string{"target"}),
		depth:   prometheus.NewDesc("replayhook_forward_queue_depth", "Payloads queued for the target (waiting or being tried).", []string{"target"}, nil),
		oldest:  prometheus.NewDesc("replayhook_forward_oldest_age_seconds", "Age of the oldest payload queued for the target (0 when empty).", []string{"target"}, nil),
		deadNow: prometheus.NewDesc("replayhook_forward_dead_letters", "Dead letters kept for the target.", []string{"target"}, nil),
	}
	reg.MustRegister(m.attempts, m.lag, m.deadTot, (*queueCollector)(m))
	return m
}

// init starts every target's series at zero and binds the queue gauges.
func (m *Metrics) init(f *Forwarder) {
	if m == nil {
		return
	}
	m.f = f
	for _, t := range f.targets {
		for _, o := range AttemptOutcomes {
			m.attempts.WithLabelValues(t.Name, o)
		}
		m.deadTot.WithLabelValues(t.Name)
	}
}

func (m *Metrics) attempt(target, outcome string) {
	if m != nil {
		m.attempts.WithLabelValues(target, outcome).Inc()
	}
}

func (m *Metrics) delivered(target string, lag time.Duration) {
	if m != nil {
		m.lag.WithLabelValues(target).Observe(max(lag.Seconds(), 0))
	}
}

func (m *Metrics) dead(target string) {
	if m != nil {
		m.deadTot.WithLabelValues(target).Inc()
	}
}

// queueCollector reads the queues at scrape time (on Redis: a few round
// trips per target, bounded by a timeout).
type queueCollector Metrics

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.oldest
	ch <- c.deadNow
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	if c.f == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	now := c.f.o.Now()
	for _, t := range c.f.targets {
		s, err := c.f.store.Stats(ctx, t.Name)
		if err != nil {
			continue
		}
		age := 0.0
		if !s.Oldest.IsZero() {
			age = max(now.Sub(s.Oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(s.Queued), t.Name)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age, t.Name)
		ch <- prometheus.MustNewConstMetric(c.deadNow, prometheus.GaugeValue, float64(s.Dead), t.Name)
	}
}

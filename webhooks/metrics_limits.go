package webhooks

import "github.com/prometheus/client_golang/prometheus"

// Why a webhook request was refused before it ran (the reason label of
// replayhook_ingest_refused_total).
const (
	RefusedInProgress = "in_progress"   // server.max_concurrent_ingests reached
	RefusedClient     = "client"        // server.max_ingests_per_ip reached by this address
	RefusedSource     = "source"        // server.max_ingests_per_source reached by this source
	RefusedBodyReads  = "body_reads"    // server.max_body_reads reached
	RefusedSlowBody   = "slow_body"     // body slower than server.min_body_rate (408)
	RefusedQueue      = "queue_timeout" // no worker within server.ingest_queue_timeout
)

// RefusedReasons is the fixed set of reason label values.
var RefusedReasons = []string{RefusedInProgress, RefusedClient, RefusedSource, RefusedBodyReads, RefusedSlowBody, RefusedQueue}

// limitMetrics count what the abuse limits turn away and the connections
// held.
type limitMetrics struct {
	refused         *prometheus.CounterVec
	connsRefused    prometheus.Counter
	connsOpen       prometheus.Gauge
	rejectedDropped prometheus.Counter
}

func newLimitMetrics(reg *prometheus.Registry) limitMetrics {
	l := limitMetrics{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "replayhook_ingest_refused_total",
			Help: "Webhook requests refused by an admission limit before they ran, by reason.",
		}, []string{"reason"}),
		connsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "replayhook_connections_refused_total",
			Help: "Connections closed at accept because their address held server.max_connections_per_ip already.",
		}),
		connsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "replayhook_connections_open",
			Help: "TCP connections held open (at most server.max_connections).",
		}),
		rejectedDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "replayhook_rejected_log_dropped_total",
			Help: "Rejected deliveries left out of the rejected-delivery log because their client address exceeded its rate.",
		}),
	}
	for _, r := range RefusedReasons {
		l.refused.WithLabelValues(r)
	}
	reg.MustRegister(l.refused, l.connsRefused, l.connsOpen, l.rejectedDropped)
	return l
}

// RefuseIngest counts one webhook request refused for reason (one of
// RefusedReasons).
func (m *Metrics) RefuseIngest(reason string) {
	if m == nil {
		return
	}
	m.limits.refused.WithLabelValues(reason).Inc()
}

// RefuseConnection counts one connection closed at accept.
func (m *Metrics) RefuseConnection() {
	if m != nil {
		m.limits.connsRefused.Inc()
	}
}

// ConnectionOpened and ConnectionClosed track the connections held.
func (m *Metrics) ConnectionOpened() {
	if m != nil {
		m.limits.connsOpen.Inc()
	}
}

// ConnectionClosed is ConnectionOpened's counterpart.
func (m *Metrics) ConnectionClosed() {
	if m != nil {
		m.limits.connsOpen.Dec()
	}
}

// DropRejection counts one rejection left out of the rejected log.
func (m *Metrics) DropRejection() {
	if m != nil {
		m.limits.rejectedDropped.Inc()
	}
}

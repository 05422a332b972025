package webhooks

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/replayhook/replayhook/internal/buildinfo"
	"github.com/replayhook/replayhook/normalize"
)

// Label values the metrics use besides configured source names and the
// contract's error codes. Labels never carry a user id, a session id, a raw
// path or any other value chosen by a client: every label value comes from a
// fixed set or from the configuration.
const (
	// UnknownSourceLabel is the source label of deliveries to a source name
	// that is not configured.
	UnknownSourceLabel = "(unknown)" // as in the logs; no source name can have parentheses
	// OtherLabel stands for any outcome, method or route outside the fixed
	// sets (a bug if it ever shows up).
	OtherLabel = "other"
	// UnmatchedRoute is the route label of requests no route matched.
	UnmatchedRoute = "unmatched"
)

// DeliveryOutcomes is the fixed set of values of the outcome label of
// replayhook_deliveries_total: the three 200 answers, then every error code
// an ingest can end with. Any other value is counted as OtherLabel.
var DeliveryOutcomes = []string{
	"accepted", "duplicate", "ignored",
	CodeUnknownSource, CodeInvalidSignature, CodeStaleTimestamp, CodePayloadTooLarge,
	CodeMalformedJSON, CodeInvalidPayload, CodeProductMismatch, CodeUnavailable, CodeInternal,
	CodeBodyTooSlow,
}

// StoreStats is what a bounded in-memory store reports for the index
// gauges (index.MemoryUsers, MemoryActivity, MemoryDedupe and MemoryAliases
// implement it). Both methods must be cheap and safe for concurrent use:
// they run on every scrape.
type StoreStats interface {
	// Len is the number of entries held now.
	Len() int
	// Evictions counts entries dropped to stay within capacity since start.
	Evictions() uint64
}

// StoreMetric names one bounded store for the index metrics.
type StoreMetric struct {
	// Name is the store label value: "users", "sessions", "dedupe", "aliases".
	Name string
	// Stats reads the store; nil leaves the store out.
	Stats StoreStats
	// Capacity is the configured bound (replayhook_index_max_entries).
	Capacity int
}

// MetricsOptions configures NewMetrics. Every field is optional.
type MetricsOptions struct {
	// Sources are the configured source names: the only values of the
	// source label besides UnknownSourceLabel.
	Sources []string
	// Stores are exported as replayhook_index_entries, _max_entries and
	// _evictions_total by store name; a store without Stats, with an empty
	// name or with a name already used is left out.
	Stores []StoreMetric
	// SnapshotAt returns when the state was last saved to (or restored
	// from) the snapshot file, zero while never. Nil leaves
	// replayhook_snapshot_age_seconds out (snapshots off).
	SnapshotAt func() time.Time
	// Now is the clock for the snapshot age; nil means time.Now.
	Now func() time.Time
	// DedupeEvictedInsideWindow reads, per source, the dedupe keys evicted
	// inside their window (index.MemoryDedupe); nil leaves
	// replayhook_dedupe_evicted_inside_window_total out.
	DedupeEvictedInsideWindow func() map[string]uint64
}

// Metrics is replayhook's Prometheus instrumentation on its own registry
// (never the global default one), with the Go runtime, process and build
// info collectors. It is an Observer of the pipeline and the lookups, and
// the access-log middleware reports every request's duration to it.
// All methods are safe for concurrent use and fast (no I/O); every method
// of a nil *Metrics does nothing, so the server runs without metrics.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler
	sources map[string]bool

	deliveries      *prometheus.CounterVec
	payloads        *prometheus.CounterVec
	missingUser     *prometheus.CounterVec
	late            *prometheus.CounterVec
	lookups         prometheus.Counter
	lookupMisses    prometheus.Counter
	ingestDuration  *prometheus.HistogramVec
	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	limits          limitMetrics
	routeLabels     sync.Map // route template -> its label (routeLabel)
}

// Compile-time guard: Metrics is an Observer.
var _ Observer = (*Metrics)(nil)

// latencyBuckets span a fast in-memory ingest (~100 µs) to a write timeout.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewMetrics builds the metrics and their registry. Counters for every
// configured source and outcome start at zero, so rate() and ratios work
// from the first scrape.
func NewMetrics(o MetricsOptions) *Metrics {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	m := &Metrics{reg: prometheus.NewRegistry(), sources: make(map[string]bool, len(o.Sources))}
	for _, s := range o.Sources {
		m.sources[s] = true
	}
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "replayhook_deliveries_total",
		Help: "Webhook deliveries answered, by source and outcome (accepted, duplicate, ignored or the error code).",
	}, []string{"source", "outcome"})
	m.payloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "replayhook_payloads_total",
		Help: "ActionsPayloads stored, by source.",
	}, []string{"source"})
	m.missingUser = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "replayhook_payloads_missing_user_id_total",
		Help: "ActionsPayloads stored without a user_id (reachable by session only), by source.",
	}, []string{"source"})
	m.late = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "replayhook_payloads_late_total",
		Help: "ActionsPayloads whose events were older than the lookback on arrival (not linked to their user), by source.",
	}, []string{"source"})
	m.lookups = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "replayhook_lookups_total",
		Help: "Chat-layer lookups by user id (GET /v1/users/{user_id} and .../activity).",
	})
	m.lookupMisses = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "replayhook_lookup_misses_total",
		Help: "Chat-layer lookups by user id that found no session.",
	})
	m.ingestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "replayhook_ingest_duration_seconds",
		Help:    "Time to answer POST /webhooks/{source}, by source.",
		Buckets: latencyBuckets,
	}, []string{"source"})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "replayhook_http_requests_total",
		Help: "HTTP requests answered, by method, route template and status code.",
	}, []string{"method", "route", "code"})
	m.requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "replayhook_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route template.",
		Buckets: latencyBuckets,
	}, []string{"route"})
	m.limits = newLimitMetrics(m.reg)
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(), buildInfoMetric(buildinfo.Read()),
		m.deliveries, m.payloads, m.missingUser, m.late, m.lookups, m.lookupMisses,
		m.ingestDuration, m.requests, m.requestDuration,
	)
	for s := range m.sources {
		for _, out := range DeliveryOutcomes {
			m.deliveries.WithLabelValues(s, out)
		}
		m.payloads.WithLabelValues(s)
		m.missingUser.WithLabelValues(s)
		m.late.WithLabelValues(s)
	}
	m.deliveries.WithLabelValues(UnknownSourceLabel, CodeUnknownSource)

	seen := map[string]bool{}
	for _, st := range o.Stores {
		if st.Stats == nil || st.Name == "" || seen[st.Name] {
			continue
		}
		seen[st.Name] = true
		stats, labels := st.Stats, prometheus.Labels{"store": st.Name}
		capacity := prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "replayhook_index_max_entries", ConstLabels: labels,
			Help: "Configured bound of a store; beyond it the least recently used entries are evicted.",
		})
		capacity.Set(float64(st.Capacity))
		m.reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "replayhook_index_entries", ConstLabels: labels,
				Help: "Entries held by a bounded in-memory store (users, sessions, dedupe keys, aliases).",
			}, func() float64 { return float64(stats.Len()) }),
			capacity,
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "replayhook_index_evictions_total", ConstLabels: labels,
				Help: "Entries evicted from a store to stay within its bound.",
			}, func() float64 { return float64(stats.Evictions()) }),
		)
	}

	if o.DedupeEvictedInsideWindow != nil {
		m.reg.MustRegister(newDedupeYoungCollector(o.DedupeEvictedInsideWindow, m.sources))
	}

	if o.SnapshotAt != nil {
		start, at := now(), o.SnapshotAt
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "replayhook_snapshot_age_seconds",
			Help: "Seconds since the state was last saved to or restored from the snapshot file (since start while never).",
		}, func() float64 {
			last := at()
			if last.IsZero() {
				last = start
			}
			return max(now().Sub(last).Seconds(), 0)
		}))
	}

	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:            m.reg, // promhttp_metric_handler_errors_total
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
	return m
}

// Registry is the metrics' own registry, for registering more collectors
// (and for tests).
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return m.handler
}

// source maps a source name to its label: configured names as they are,
// anything else UnknownSourceLabel.
func (m *Metrics) source(name string) string {
	if m.sources[name] {
		return name
	}
	return UnknownSourceLabel
}

func outcomeLabel(outcome string) string {
	for _, o := range DeliveryOutcomes {
		if o == outcome {
			return o
		}
	}
	return OtherLabel
}

// Delivery counts one webhook delivery's outcome (Observer).
func (m *Metrics) Delivery(source, _, outcome string) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(m.source(source), outcomeLabel(outcome)).Inc()
}

// Payload counts one stored payload, and whether it had no user id or was
// late (Observer).
func (m *Metrics) Payload(source, _ string, p *normalize.ActionsPayload, late bool, _ time.Time) {
	if m == nil || p == nil {
		return
	}
	src := m.source(source)
	m.payloads.WithLabelValues(src).Inc()
	if p.UserID == nil {
		m.missingUser.WithLabelValues(src).Inc()
	}
	if late {
		m.late.WithLabelValues(src).Inc()
	}
}

// Lookup counts one chat-layer lookup and whether it missed (Observer). The
// user id is never recorded.
func (m *Metrics) Lookup(_ string, hit bool, _ time.Time) {
	if m == nil {
		return
	}
	m.lookups.Inc()
	if !hit {
		m.lookupMisses.Inc()
	}
}

// ObserveIngest records how long one POST /webhooks/{source} took. source
// may be any path value: names that are not configured count as
// UnknownSourceLabel.
func (m *Metrics) ObserveIngest(source string, d time.Duration) {
	if m == nil {
		return
	}
	m.ingestDuration.WithLabelValues(m.source(source)).Observe(d.Seconds())
}

var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// ObserveRequest counts one answered HTTP request and its duration. route
// must be the route template (echo's c.Path(), e.g. "/v1/users/:user_id",
// labelled "/v1/users/{user_id}" as in the OpenAPI file), never the raw
// path; "" (no route matched) is labelled UnmatchedRoute.
// Unusual methods are labelled OtherLabel.
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if !knownMethods[method] {
		method = OtherLabel
	}
	if route == "" {
		route = UnmatchedRoute
	}
	route = m.routeLabel(route)
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.requestDuration.WithLabelValues(route).Observe(d.Seconds())
}

// handleMetrics serves GET /metrics: the Prometheus text
// format, without authentication like the other operations endpoints. It
// exposes no user or session id; bind or firewall it like /livez. Without
// metrics configured it is a 404.
func (s *Server) handleMetrics(c echo.Context) error {
	if s.deps.Metrics == nil {
		return apiErr(http.StatusNotFound, CodeNotFound, "metrics are not enabled")
	}
	s.deps.Metrics.Handler().ServeHTTP(c.Response(), c.Request())
	return nil
}

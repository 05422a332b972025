package webhooks

import (
	"bufio"
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/normalize"
)

// withTestMetrics wires Metrics the way main does: over the configured
// source names and the real bounded stores (created here when no earlier
// option set them), as Deps.Metrics and as an Observer. tweak adjusts the
// options (e.g. SnapshotAt) before NewMetrics.
func withTestMetrics(out **Metrics, tweak ...func(*MetricsOptions)) option {
	return func(cfg *config.Config, d *Deps) {
		if d.Users == nil {
			d.Users = index.NewMemoryUsers(index.UserLimits{Lookback: cfg.Index.Lookback(), MaxSessionsPerUser: cfg.Index.MaxSessionsPerUser, MaxUsers: cfg.Index.MaxUsers})
		}
		if d.Activity == nil {
			d.Activity = index.NewMemoryActivity(cfg.Activity.MaxSessions, cfg.Activity.MaxActionsPerSession)
		}
		if d.Dedupe == nil {
			d.Dedupe = index.NewMemoryDedupe(cfg.Dedupe.MaxKeys, cfg.Dedupe.Window())
		}
		opts := MetricsOptions{Now: d.Now}
		if d.Sources == nil {
			opts.Sources = []string{"autoplay", "open"} // the harness's default sources
		}
		for name := range d.Sources {
			opts.Sources = append(opts.Sources, name)
		}
		add := func(name string, store any, capacity int) {
			if st, ok := store.(StoreStats); ok {
				opts.Stores = append(opts.Stores, StoreMetric{Name: name, Stats: st, Capacity: capacity})
			}
		}
		add("users", d.Users, cfg.Index.MaxUsers)
		add("sessions", d.Activity, cfg.Activity.MaxSessions)
		add("dedupe", d.Dedupe, cfg.Dedupe.MaxKeys)
		if md, ok := d.Dedupe.(*index.MemoryDedupe); ok {
			opts.DedupeEvictedInsideWindow = md.EvictedInsideWindow
		}
		for _, f := range tweak {
			f(&opts)
		}
		m := NewMetrics(opts)
		d.Metrics = m
		*out = m
	}
}

// scrape fetches /metrics through the server and returns every sample by
// its series as printed ("name{label="value",...}", labels sorted).
func (h *harness) scrape() (map[string]float64, string) {
	h.t.Helper()
	rec := h.do(http.MethodGet, "/metrics", nil, nil)
	if rec.Code != http.StatusOK {
		h.t.Fatalf("GET /metrics = %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		h.t.Fatalf("GET /metrics Content-Type = %q, want the text format", ct)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(rec.Body.Bytes()))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			h.t.Fatalf("bad sample line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			h.t.Fatalf("bad sample value in %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out, rec.Body.String()
}

func payloadFor(user, session string, ts time.Time) []byte {
	p := dana
	p.user, p.session, p.ts = user, session, ts
	if user == "" {
		p.email = ""
	}
	return p.body()
}

// TestMetricsMoveWithRequests sends real deliveries and lookups through the
// server and reads /metrics like Prometheus would.
func TestMetricsMoveWithRequests(t *testing.T) {
	var m *Metrics
	h := newHarness(t, func(cfg *config.Config, _ *Deps) { cfg.Index.MaxUsers = 2 }, withTestMetrics(&m))

	before, _ := h.scrape()
	for series, want := range map[string]float64{
		`replayhook_deliveries_total{outcome="accepted",source="autoplay"}`:        0,
		`replayhook_deliveries_total{outcome="invalid_signature",source="open"}`:   0,
		`replayhook_deliveries_total{outcome="unknown_source",source="(unknown)"}`: 0,
		`replayhook_payloads_missing_user_id_total{source="autoplay"}`:             0,
		`replayhook_lookups_total`:                                                            0,
		`replayhook_index_entries{store="users"}`:                                             0,
		`replayhook_index_max_entries{store="users"}`:                                         2,
		`replayhook_index_max_entries{store="sessions"}`:                                      float64(h.cfg.Activity.MaxSessions),
		`replayhook_index_evictions_total{store="users"}`:                                     0,
		`replayhook_http_requests_total{code="200",method="GET",route="/v1/users/{user_id}"}`: -1, // absent
	} {
		got, ok := before[series]
		if want < 0 {
			if ok {
				t.Errorf("before any request: %s = %v, want absent", series, got)
			}
			continue
		}
		if !ok || got != want {
			t.Errorf("before any request: %s = %v (present %v), want %v", series, got, ok, want)
		}
	}

	now := h.clock.Now()
	heartbeat := []byte(`{"type":"heartbeat"}`)
	steps := []struct {
		name   string
		status int
		run    func() int
	}{
		{"accepted", 200, func() int { return h.post("autoplay", payloadFor("usr_48213", "ps_1", now)).Code }},
		{"duplicate", 200, func() int { return h.post("autoplay", payloadFor("usr_48213", "ps_1", now)).Code }},
		{"accepted without user", 200, func() int { return h.post("autoplay", payloadFor("", "ps_anon", now)).Code }},
		{"ignored", 200, func() int { return h.post("autoplay", heartbeat).Code }},
		{"bad signature", 401, func() int {
			b := payloadFor("usr_48213", "ps_9", now)
			return h.do(http.MethodPost, "/webhooks/autoplay", b, sign(b, "wrong-secret")).Code
		}},
		{"unknown source", 404, func() int { return h.post("nope", payloadFor("usr_48213", "ps_1", now)).Code }},
		{"second user", 200, func() int { return h.post("autoplay", payloadFor("usr_2", "ps_2", now)).Code }},
		{"third user evicts the oldest", 200, func() int { return h.post("autoplay", payloadFor("usr_3", "ps_3", now.Add(time.Second))).Code }},
		{"late", 200, func() int { return h.post("autoplay", payloadFor("usr_4", "ps_late", now.Add(-time.Hour))).Code }},
		{"lookup hit", 200, func() int { return h.get("/v1/users/usr_3", tokChat).Code }},
		{"lookup miss", 200, func() int { return h.get("/v1/users/nobody", tokChat).Code }},
		{"activity miss", 200, func() int { return h.get("/v1/users/nobody/activity", tokChat).Code }},
		{"no route", 404, func() int { return h.get("/v1/nothing/usr_48213", tokChat).Code }},
	}
	for _, s := range steps {
		if got := s.run(); got != s.status {
			t.Fatalf("%s: status %d, want %d", s.name, got, s.status)
		}
	}

	after, text := h.scrape()
	for _, tt := range []struct {
		series string
		want   float64
	}{
		{`replayhook_deliveries_total{outcome="accepted",source="autoplay"}`, 5},
		{`replayhook_deliveries_total{outcome="duplicate",source="autoplay"}`, 1},
		{`replayhook_deliveries_total{outcome="ignored",source="autoplay"}`, 1},
		{`replayhook_deliveries_total{outcome="invalid_signature",source="autoplay"}`, 1},
		{`replayhook_deliveries_total{outcome="unknown_source",source="(unknown)"}`, 1},
		{`replayhook_deliveries_total{outcome="accepted",source="open"}`, 0},
		{`replayhook_payloads_total{source="autoplay"}`, 5},
		{`replayhook_payloads_missing_user_id_total{source="autoplay"}`, 1},
		{`replayhook_payloads_late_total{source="autoplay"}`, 1},
		{`replayhook_lookups_total`, 3},
		{`replayhook_lookup_misses_total`, 2},
		{`replayhook_index_entries{store="users"}`, 2},
		{`replayhook_index_evictions_total{store="users"}`, 1},
		{`replayhook_index_entries{store="sessions"}`, 5},
		{`replayhook_index_entries{store="dedupe"}`, 5},
		{`replayhook_ingest_duration_seconds_count{source="autoplay"}`, 8},
		{`replayhook_ingest_duration_seconds_count{source="(unknown)"}`, 1},
		{`replayhook_http_requests_total{code="200",method="POST",route="/webhooks/{source}"}`, 7},
		{`replayhook_http_requests_total{code="401",method="POST",route="/webhooks/{source}"}`, 1},
		{`replayhook_http_requests_total{code="404",method="POST",route="/webhooks/{source}"}`, 1},
		{`replayhook_http_requests_total{code="200",method="GET",route="/v1/users/{user_id}"}`, 2},
		{`replayhook_http_requests_total{code="200",method="GET",route="/v1/users/{user_id}/activity"}`, 1},
		{`replayhook_http_requests_total{code="404",method="GET",route="unmatched"}`, 1},
		{`replayhook_http_requests_total{code="200",method="GET",route="/metrics"}`, 1}, // the first scrape
		{`replayhook_http_request_duration_seconds_count{route="/v1/users/{user_id}"}`, 2},
	} {
		if got, ok := after[tt.series]; !ok || got != tt.want {
			t.Errorf("%s = %v (present %v), want %v", tt.series, got, ok, tt.want)
		}
	}
	for _, family := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_start_time_seconds"} {
		if !strings.Contains(text, "\n"+family+" ") {
			t.Errorf("/metrics lacks the runtime and process collectors (%s)", family)
		}
	}
	// Labels never carry ids or client-chosen values.
	for _, id := range []string{"usr_48213", "usr_2", "usr_3", "usr_4", "ps_1", "ps_anon", "ps_late", "nobody", "nope", "dana", "nothing", "prod_demo"} {
		if strings.Contains(text, id) {
			for _, line := range strings.Split(text, "\n") {
				if strings.Contains(line, id) {
					t.Errorf("/metrics exposes %q: %s", id, line)
				}
			}
		}
	}
	if m == nil {
		t.Fatal("metrics not built")
	}
}

// TestMetricsFollowPrometheusConventions lints every replayhook_ metric
// (promlint: _total on counters, base units, help text, no reserved names).
func TestMetricsFollowPrometheusConventions(t *testing.T) {
	var m *Metrics
	h := newHarness(t, withTestMetrics(&m, func(o *MetricsOptions) { o.SnapshotAt = func() time.Time { return time.Time{} } }))
	h.post("autoplay", dana.body())
	h.get("/v1/users/usr_48213", tokChat)
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "replayhook_") {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, want := range []string{
		"replayhook_deliveries_total", "replayhook_payloads_total", "replayhook_payloads_missing_user_id_total",
		"replayhook_payloads_late_total", "replayhook_lookups_total", "replayhook_lookup_misses_total",
		"replayhook_ingest_duration_seconds", "replayhook_http_requests_total", "replayhook_http_request_duration_seconds",
		"replayhook_index_entries", "replayhook_index_max_entries", "replayhook_index_evictions_total",
		"replayhook_snapshot_age_seconds", "go_build_info",
	} {
		if !names[want] {
			t.Errorf("metric %s is missing", want)
		}
	}
}

// TestMetricsLabelsComeFromFixedSets feeds the observer methods hostile and
// unexpected values: each lands on a fixed label value.
func TestMetricsLabelsComeFromFixedSets(t *testing.T) {
	m := NewMetrics(MetricsOptions{Sources: []string{"autoplay"}})
	m.Delivery("autoplay", "autoplay", "accepted")
	m.Delivery("../../etc/passwd", "", CodeUnknownSource)
	m.Delivery("(unknown)", "", CodeUnknownSource)
	m.Delivery("autoplay", "autoplay", "usr_48213") // not an outcome
	uid := "usr_48213"
	m.Payload("autoplay", "autoplay", &normalize.ActionsPayload{UserID: &uid}, false, time.Now())
	m.Payload("evil\"source", "x", &normalize.ActionsPayload{}, true, time.Now())
	m.Payload("autoplay", "autoplay", nil, false, time.Now())
	m.ObserveIngest("usr_48213", time.Millisecond)
	m.ObserveRequest("PROPFIND", "", 404, time.Millisecond)
	m.ObserveRequest(http.MethodGet, "/v1/users/:user_id", 200, time.Millisecond)

	tests := []struct {
		series string
		want   float64
	}{
		{`replayhook_deliveries_total{outcome="accepted",source="autoplay"}`, 1},
		{`replayhook_deliveries_total{outcome="unknown_source",source="(unknown)"}`, 2},
		{`replayhook_deliveries_total{outcome="other",source="autoplay"}`, 1},
		{`replayhook_payloads_total{source="autoplay"}`, 1},
		{`replayhook_payloads_total{source="(unknown)"}`, 1},
		{`replayhook_payloads_missing_user_id_total{source="(unknown)"}`, 1},
		{`replayhook_payloads_late_total{source="(unknown)"}`, 1},
		{`replayhook_ingest_duration_seconds_count{source="(unknown)"}`, 1},
		{`replayhook_http_requests_total{code="404",method="other",route="unmatched"}`, 1},
		{`replayhook_http_requests_total{code="200",method="GET",route="/v1/users/{user_id}"}`, 1},
	}
	got := gatherSamples(t, m)
	for _, tt := range tests {
		if got[tt.series] != tt.want {
			t.Errorf("%s = %v, want %v", tt.series, got[tt.series], tt.want)
		}
	}
	for series := range got {
		if strings.Contains(series, "usr_") || strings.Contains(series, "passwd") || strings.Contains(series, "evil") {
			t.Errorf("a client-chosen value became a label: %s", series)
		}
	}
}

// gatherSamples reads counters, gauges and histogram counts from the
// registry, keyed like the text format.
func gatherSamples(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			var labels []string
			for _, l := range mt.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			key := mf.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case mt.GetCounter() != nil:
				out[key] = mt.GetCounter().GetValue()
			case mt.GetGauge() != nil:
				out[key] = mt.GetGauge().GetValue()
			case mt.GetHistogram() != nil:
				out[strings.Replace(key, mf.GetName(), mf.GetName()+"_count", 1)] = float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// TestSnapshotAge: the age counts from the last snapshot, or from start
// while there has been none.
func TestSnapshotAge(t *testing.T) {
	clk := &clock{t: T0}
	var last time.Time
	m := NewMetrics(MetricsOptions{SnapshotAt: func() time.Time { return last }, Now: clk.Now})
	age := func() float64 { return gatherSamples(t, m)["replayhook_snapshot_age_seconds"] }

	clk.Add(30 * time.Second)
	if got := age(); got != 30 {
		t.Errorf("never saved, 30 s after start: age %v, want 30", got)
	}
	last = clk.Now().Add(-90 * time.Second)
	if got := age(); got != 90 {
		t.Errorf("saved 90 s ago: age %v, want 90", got)
	}
	last = clk.Now().Add(time.Minute) // a clock step backwards
	if got := age(); got != 0 {
		t.Errorf("snapshot in the future: age %v, want 0", got)
	}
	if _, ok := gatherSamples(t, NewMetrics(MetricsOptions{}))["replayhook_snapshot_age_seconds"]; ok {
		t.Error("without snapshots the age must not be exported")
	}
}

// TestNilMetrics: a server without metrics works, and /metrics says so.
func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.Delivery("a", "b", "accepted")
	m.Payload("a", "b", &normalize.ActionsPayload{}, false, time.Now())
	m.Lookup("u", false, time.Now())
	m.ObserveIngest("a", time.Second)
	m.ObserveRequest("GET", "/", 200, time.Second)
	if m.Registry() != nil {
		t.Fatal("nil metrics have no registry")
	}
	h := newHarness(t)
	rec := h.get("/metrics", "")
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"error":"not_found"`) {
		t.Fatalf("GET /metrics without metrics = %d %s, want 404 not_found", rec.Code, rec.Body)
	}
}

// fixedStore is a StoreStats with set numbers.
type fixedStore struct {
	n         int
	evictions uint64
}

func (f fixedStore) Len() int          { return f.n }
func (f fixedStore) Evictions() uint64 { return f.evictions }

// TestStoreMetrics: each named store exports its size, bound and
// evictions; unnamed, nil and repeated stores are left out (no panic).
func TestStoreMetrics(t *testing.T) {
	m := NewMetrics(MetricsOptions{Stores: []StoreMetric{
		{Name: "users", Stats: fixedStore{n: 7, evictions: 3}, Capacity: 10},
		{Name: "users", Stats: fixedStore{n: 99}, Capacity: 99},
		{Name: "", Stats: fixedStore{n: 1}, Capacity: 1},
		{Name: "sessions", Stats: nil, Capacity: 5},
	}})
	got := gatherSamples(t, m)
	for series, want := range map[string]float64{
		`replayhook_index_entries{store="users"}`:         7,
		`replayhook_index_max_entries{store="users"}`:     10,
		`replayhook_index_evictions_total{store="users"}`: 3,
	} {
		if got[series] != want {
			t.Errorf("%s = %v, want %v", series, got[series], want)
		}
	}
	for series := range got {
		if strings.Contains(series, `store="sessions"`) || strings.Contains(series, `store=""`) {
			t.Errorf("unexpected series %s", series)
		}
	}
}

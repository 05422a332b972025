package redisdrift_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replayhook/replayhook/drift"
	"github.com/replayhook/replayhook/drift/redisdrift"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/internal/redistest"
	"github.com/replayhook/replayhook/normalize"
)

// The Redis drift tracker has webhooks.DriftTracker's method set (main
// asserts it against the interface itself; redisstore does not import
// webhooks).
var _ interface {
	Delivery(source, provider, outcome string)
	Payload(source, provider string, p *normalize.ActionsPayload, late bool, now time.Time)
	Lookup(userID string, hit bool, now time.Time)
	Report(now time.Time, limit int, products func(string) bool) drift.Report
	Reset(now time.Time)
	Totals() drift.Totals
} = (*redisdrift.Tracker)(nil)

// driftTrackerErr is the interface change proposed for webhooks (Report and
// Reset with a context and an error, so that a Redis failure answers 503):
// both trackers implement it.
type driftTrackerErr interface {
	Delivery(source, provider, outcome string)
	Payload(source, provider string, p *normalize.ActionsPayload, late bool, now time.Time)
	Lookup(userID string, hit bool, now time.Time)
	ReportErr(ctx context.Context, now time.Time, limit int, products func(string) bool) (drift.Report, error)
	ResetErr(ctx context.Context, now time.Time) error
	Totals() drift.Totals
}

var (
	_ driftTrackerErr = (*redisdrift.Tracker)(nil)
	_ driftTrackerErr = (*drift.Memory)(nil)
)

var driftT0 = time.Date(2025, 3, 14, 9, 45, 0, 0, time.UTC)

var driftSources = []drift.Source{
	{Name: "posthog-prod", Provider: "posthog", ProductID: "prod_demo"},
	{Name: "open", Provider: "autoplay"},
	{Name: "quiet", Provider: "segment", ProductID: "prod_demo"},
}

var defaultDriftLimits = drift.Limits{MaxLookupMisses: 100, MaxConflicts: 100, MaxKnownIDs: 1000, MaxExamples: 3}

// observer is what a scenario feeds: both trackers have these methods.
type observer interface {
	Delivery(source, provider, outcome string)
	Payload(source, provider string, p *normalize.ActionsPayload, late bool, now time.Time)
	Lookup(userID string, hit bool, now time.Time)
	Reset(now time.Time)
	Forget(ctx context.Context, userID string) error
}

// forget erases ids.
func forget(ids ...string) func(observer) {
	return func(o observer) {
		for _, id := range ids {
			if err := o.Forget(context.Background(), id); err != nil {
				panic(err) // the scenario's Redis is up: an error is a bug
			}
		}
	}
}

// seen is one payload as the pipeline reports it (ids already trimmed).
type seen struct {
	source, product, session, user, email, anon string
	late                                        bool
}

func (s seen) feed(o observer, at time.Time) {
	src := s.source
	if src == "" {
		src = "posthog-prod"
	}
	o.Payload(src, "posthog", &normalize.ActionsPayload{
		Type: "actions", ProductID: s.product, SessionID: normalize.OptStr(s.session),
		UserID: normalize.OptStr(s.user), Email: normalize.OptStr(s.email), AnonymousID: s.anon,
	}, s.late, at)
}

// payloads feeds ps at at.
func payloads(at time.Time, ps ...seen) func(observer) {
	return func(o observer) {
		for _, p := range ps {
			p.feed(o, at)
		}
	}
}

func misses(at time.Time, ids ...string) func(observer) {
	return func(o observer) {
		for _, id := range ids {
			o.Lookup(id, false, at)
		}
	}
}

func deliveries(source, provider string, outcomes ...string) func(observer) {
	return func(o observer) {
		for _, out := range outcomes {
			o.Delivery(source, provider, out)
		}
	}
}

// driftPair is a memory tracker and a Redis tracker fed the same
// observations.
type driftPair struct {
	mem *drift.Memory
	rd  *redisdrift.Tracker
}

func newDriftPair(t *testing.T, st conn, l drift.Limits) driftPair {
	t.Helper()
	p := driftPair{mem: drift.NewMemory(l, driftSources), rd: st.Drift(l, driftSources)}
	t.Cleanup(func() { _ = p.rd.Close() })
	p.mem.Reset(driftT0)
	p.rd.Reset(driftT0)
	return p
}

func (p driftPair) do(steps ...func(observer)) {
	for _, s := range steps {
		s(p.mem)
		s(p.rd)
	}
}

// compare checks that both trackers report the same at now, for every
// reader: all products, two product scopes, and a limit of one.
func (p driftPair) compare(t *testing.T, now time.Time) {
	t.Helper()
	scopes := []struct {
		name     string
		limit    int
		products func(string) bool
	}{
		{"all products", 0, nil},
		{"limit 1", 1, nil},
		{"prod_b", 0, func(s string) bool { return s == "prod_b" }},
		{"prod_demo", 0, func(s string) bool { return s == "prod_demo" }},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, sc := range scopes {
		want := p.mem.Report(now, sc.limit, sc.products)
		got, err := p.rd.ReportErr(ctx, now, sc.limit, sc.products)
		if err != nil {
			t.Fatalf("%s: %v", sc.name, err)
		}
		if !reflect.DeepEqual(got, want) {
			g, _ := json.MarshalIndent(got, "", " ")
			w, _ := json.MarshalIndent(want, "", " ")
			t.Fatalf("%s: Redis report differs from the memory report\nredis:\n%s\nmemory:\n%s", sc.name, g, w)
		}
	}
	if p.rd.Totals() != p.mem.Totals() {
		t.Errorf("lifetime totals: redis %+v, memory %+v", p.rd.Totals(), p.mem.Totals())
	}
	if p.rd.Failed() != 0 || p.rd.Dropped() != 0 {
		t.Errorf("observations lost: %d failed, %d dropped", p.rd.Failed(), p.rd.Dropped())
	}
}

// TestDriftSameReportAsMemory feeds scripted observations, covering every
// candidate reason, conflict kind, row rule and bound of drift/memory_test.go,
// to the memory tracker and to the Redis one, and compares their reports
// field by field.
func TestDriftSameReportAsMemory(t *testing.T) {
	srv := startRedis(t)
	long := strings.Repeat("x", 1025)
	t1 := driftT0.Add(time.Second)
	tests := []struct {
		name   string
		limits drift.Limits
		steps  []func(observer)
	}{
		{name: "candidate reasons", steps: []func(observer){
			payloads(driftT0,
				seen{session: "c1", user: "usr_48213"}, seen{session: "c2", user: "dana@example.com"},
				seen{session: "c3", user: "acme 55"}, seen{session: "c4", user: "usr_66\u200b"},
				seen{session: "c5", user: "usr_67"}, seen{session: "c6", user: "dana\u00a0w"},
				seen{session: "c7", user: "user_123"}, seen{session: "c8", user: "U_77"},
				seen{session: "c9", user: "auth0|5f7c8ec7"}, seen{session: "c10", user: "google-oauth2|1077"},
				seen{session: "c11", user: "samlp|acme|user_42"}, seen{session: "c12", user: "user.name@example.com"},
				seen{session: "c13", user: "usr_1", email: "Erin@Example.com"},
				seen{session: "c14", user: "usr_9", anon: "anon_1"},
				seen{session: "c15", anon: "anon_2"}, seen{session: "c15", user: "usr_10"},
				seen{session: "c16", user: "0195-anon"}, seen{session: "c16", user: "usr_11"},
				seen{session: "c17", user: "usr_12"}, seen{session: "c17", anon: "anon_3"},
				seen{session: "c18", user: "auth0|48213", email: "erin@example.com"},
				seen{session: "s1", user: "u_5"}, seen{session: "s2", user: "U_5"}, seen{session: "s3", user: "usr_5"},
				seen{session: "s4", user: "user-5"}, seen{session: "s5", user: "id:5"}, seen{session: "s6", user: "uid_5"}),
			misses(driftT0, "USR_48213", "Dana@Example.com", "acme55", "usr_66", "\ufeffusr_67", "danaw", "123",
				"usr-123", "77", "5f7c8ec7", "1077", "id:42", "email:dana@example.com", "name@example.com",
				"erin@example.com", "mailto:ERIN@example.com", "anon_1", "anon_2", "0195-anon", "anon_3",
				"usr_1", "nobody", "5"),
		}},
		{name: "lookup misses", steps: []func(observer){
			misses(driftT0, "a"), misses(t1, "b"), misses(driftT0.Add(3*time.Second), "b"),
			misses(driftT0.Add(2*time.Second), "b"), // out of order: last_at does not go back
			func(o observer) { o.Lookup("c", true, driftT0) }, misses(driftT0, "  ", long),
		}},
		{name: "session conflicts", steps: []func(observer){payloads(driftT0,
			seen{session: "s1", user: "anon_7f3a"}, seen{session: "s1", user: "usr_1"},
			seen{session: "s2", user: "u1"}, seen{session: "s2", user: "u2"}, seen{session: "s2", user: "u1"}, seen{session: "s2", user: "u3"},
			seen{session: "s3", user: "usr_1"}, seen{session: "s3", user: "USR_1"},
			seen{session: "s4", user: "u1"}, seen{session: "s4", user: "u1"}, seen{session: "s4"},
			seen{source: "open", product: "prod_a", session: "s5", user: "u1"},
			seen{source: "open", product: "prod_b", session: "s5", user: "u2"}),
			payloads(t1, seen{session: "s6", user: "v1"}, seen{session: "s6", user: "v2"}), // most recent first among equals
		}},
		{name: "email conflicts", steps: []func(observer){payloads(driftT0,
			seen{session: "s1", user: "usr_48213", email: "Dana.Whitfield@example.com"},
			seen{session: "s2", user: "auth0|48213", email: "dana.whitfield@example.com"},
			seen{source: "open", product: "prod_a", session: "s3", user: "u1", email: "x@example.com"},
			seen{source: "open", product: "prod_b", session: "s4", user: "u1", email: "x@example.com"},
			seen{session: "s5", email: "y@example.com"}, seen{session: "s6", user: "u1", email: "y@example.com"})}},
		{name: "sources", limits: drift.Limits{MaxLookupMisses: 10, MaxConflicts: 10, MaxKnownIDs: 100, MaxExamples: 2}, steps: []func(observer){
			deliveries("posthog-prod", "posthog", "accepted", "accepted", "accepted", "duplicate", "ignored",
				"invalid_signature", "invalid_signature", "stale_timestamp", long),
			deliveries("open", "autoplay", "accepted"), deliveries("typo", "", "unknown_source"),
			payloads(driftT0, seen{session: "s1", user: "u1"}, seen{session: "s2"}, seen{session: "s2"}, seen{},
				seen{session: "s3", user: "u3", late: true}),
			payloads(t1, seen{session: "s4"}),
			payloads(driftT0, seen{source: "open", product: "prod_a", session: "o1"},
				seen{source: "open", product: "prod_b", session: "o2", user: "u9"}),
			payloads(driftT0.Add(500*time.Millisecond), seen{source: "quiet", session: "q1"}, seen{source: "quiet", session: "q2"},
				seen{source: "quiet", session: "q3"}, seen{source: "quiet", session: "q1"}),
			func(o observer) {
				o.Payload("posthog-prod", "posthog", nil, false, driftT0)
				o.Payload("posthog-prod", "posthog", &normalize.ActionsPayload{UserID: &long, SessionID: &long}, false, driftT0)
			},
		}},
		{name: "rejection codes beyond the cap count as other", steps: []func(observer){func(o observer) {
			for i := range 40 {
				o.Delivery("open", "autoplay", fmt.Sprintf("code_%d", i))
				o.Delivery("open", "autoplay", "code_1")
			}
		}}},
		{name: "product scope", steps: []func(observer){
			deliveries("open", "autoplay", "accepted"), deliveries("posthog-prod", "posthog", "accepted"),
			payloads(driftT0,
				seen{session: "s1", user: "anon_1"}, seen{session: "s1", user: "u1", email: "x@example.com"},
				seen{source: "open", product: "prod_b", session: "s1", user: "b1"}, seen{source: "open", product: "prod_b", session: "s1", user: "b2"},
				seen{source: "open", product: "prod_b", session: "s2", user: "b3", email: "x@example.com"},
				seen{source: "open", product: "prod_b", session: "s3", user: "b4", email: "x@example.com"},
				seen{source: "open", product: "prod_b", session: "s4"}),
			misses(driftT0, "U1"),
		}},
		{name: "reset keeps known ids", steps: []func(observer){
			deliveries("posthog-prod", "posthog", "invalid_signature"),
			payloads(driftT0, seen{session: "s1", user: "anon_1"}, seen{session: "s1", user: "usr_1", email: "x@example.com"},
				seen{session: "s2", user: "usr_2", email: "x@example.com"}),
			misses(driftT0, "USR_1"),
			func(o observer) { o.Reset(driftT0.Add(time.Hour)) },
			misses(driftT0.Add(time.Hour), "USR_1"),
			payloads(driftT0.Add(time.Hour), seen{session: "s1", user: "usr_1"}, seen{session: "s1", user: "usr_3"}),
		}},
		{name: "rows beyond the bound go to the product-less row", steps: []func(observer){func(o observer) {
			for i := range drift.MaxExtraRows + 20 {
				seen{source: "open", product: fmt.Sprintf("p%d", i), session: fmt.Sprintf("s%d", i)}.feed(o, driftT0)
			}
			o.Delivery("unknown-after-full", "x", "unknown_source")
		}}},
		{name: "tables evict their least recently used entry", limits: drift.Limits{MaxLookupMisses: 3, MaxConflicts: 2, MaxKnownIDs: 6, MaxExamples: 1},
			steps: []func(observer){
				misses(driftT0, "m1", "m2", "m3", "m1", "m4", "m5"),
				payloads(driftT0, seen{session: "s1", user: "a1"}, seen{session: "s1", user: "a2"},
					seen{session: "s2", user: "b1", anon: "x1"}, seen{session: "s2", user: "b2"},
					seen{session: "s1", user: "a3"}, seen{session: "s3", user: "c1"}, seen{session: "s3", user: "c2"},
					seen{session: "e1", user: "d1", email: "d@example.com"}, seen{session: "e2", user: "d2", email: "d@example.com"}),
				misses(t1, "A1", "x1", "D@example.com", "b1"),
			}},
		{name: "erasure", steps: []func(observer){
			payloads(driftT0,
				seen{session: "s1", user: "usr_1", email: "erin@example.com", anon: "anon_1"},
				seen{session: "s1", user: "usr_2", email: "erin@example.com"},
				seen{session: "s2", user: "USR_1"}, seen{session: "s3", user: "usr_1"}, seen{session: "s3", user: "usr_3"},
				seen{session: "s3", user: "usr_4"}, seen{session: "s4", anon: "usr_1"}),
			misses(driftT0, "usr_1", "Usr_1"),
			forget(" usr_1 ", "nobody"),
			misses(t1, "erin@example.com", "anon_1", "usr_1 ", "usr_1"),
		}},
		{name: "per-entry caps", steps: []func(observer){func(o observer) {
			for i := range 12 {
				seen{session: "busy", user: fmt.Sprintf("b%d", i), email: "shared@example.com", anon: fmt.Sprintf("ba%d", i)}.feed(o, driftT0)
				seen{session: fmt.Sprintf("n%d", i), user: fmt.Sprintf("USR_%d", i%2) + strings.Repeat(" ", i)}.feed(o, driftT0)
			}
			o.Lookup("usr_0", false, driftT0)
			o.Lookup("ba0", false, driftT0)
			o.Lookup("shared@example.com", false, driftT0)
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.limits
			if l == (drift.Limits{}) {
				l = defaultDriftLimits
			}
			p := newDriftPair(t, newConn(t, srv), l)
			p.do(tt.steps...)
			p.compare(t, driftT0.Add(2*time.Hour))
		})
	}
}

// TestDriftRandomSameAsMemory feeds one long pseudo-random sequence (fixed
// seed) with tight limits, so that every table evicts, and compares the
// reports along the way and across a reset.
func TestDriftRandomSameAsMemory(t *testing.T) {
	srv := startRedis(t)
	randomDriftSequence(t, newConn(t, srv), 3000)
}

// TestDriftOnCluster runs drift on a real 3-master Cluster: every drift key
// shares one hash tag, so the scripts and the report's MULTI touch one slot
// (Redis answers CROSSSLOT otherwise).
func TestDriftOnCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	randomDriftSequence(t, newClusterConn(t, cl), 1000)
}

// randomDriftSequence feeds n pseudo-random observations to a memory
// tracker and to a Redis tracker on st and compares their reports every
// 500 observations; a reset comes after 1700.
func randomDriftSequence(t *testing.T, st conn, n int) {
	t.Helper()
	l := drift.Limits{MaxLookupMisses: 7, MaxConflicts: 5, MaxKnownIDs: 40, MaxExamples: 2}
	p := newDriftPair(t, st, l)
	rng := rand.New(rand.NewPCG(8, 2026))
	pick := func(prefix string, n int) string { return fmt.Sprintf("%s%d", prefix, rng.IntN(n)) }
	ids := []string{"usr_", "USR_", "user-", "auth0|", "", "u "}
	for i := range n {
		at := driftT0.Add(time.Duration(rng.IntN(5000)) * time.Millisecond)
		switch rng.IntN(10) {
		case 0:
			p.do(deliveries([]string{"posthog-prod", "open", "quiet", "nope"}[rng.IntN(4)], "posthog",
				[]string{"accepted", "duplicate", "invalid_signature", "stale_timestamp", pick("c", 40)}[rng.IntN(5)]))
		case 1, 2:
			id, hit := ids[rng.IntN(len(ids))]+pick("", 30), rng.IntN(3) == 0
			p.do(func(o observer) { o.Lookup(id, hit, at) })
		default:
			s := seen{source: []string{"posthog-prod", "open", "quiet", "nope"}[rng.IntN(4)], late: rng.IntN(9) == 0}
			s.product = pick("prod_", 3)
			s.session = s.product + "/" + pick("s", 25) // one session id per product: row merges stay deterministic
			if s.source != "open" {
				s.session = pick("s", 25)
			}
			if rng.IntN(4) > 0 {
				s.user = ids[rng.IntN(len(ids))] + pick("", 30)
			}
			if rng.IntN(3) == 0 {
				s.email = pick("e", 10) + "@Example.com"
			}
			if rng.IntN(3) == 0 {
				s.anon = pick("anon", 20)
			}
			p.do(payloads(at, s))
		}
		if i%500 == 499 || i == n-1 {
			p.compare(t, driftT0.Add(time.Minute))
		}
		if i == 1700 {
			p.do(func(o observer) { o.Reset(driftT0.Add(time.Second)) })
		}
	}
}

// TestDriftSharedByReplicas: two trackers on one Redis and prefix report
// the observations of both, and a Reset by one starts a new window for
// both while each keeps its own lifetime totals.
func TestDriftSharedByReplicas(t *testing.T) {
	srv := startRedis(t)
	prefix := uniquePrefix()
	a := newConnWithPrefix(t, srv, prefix, 0).Drift(defaultDriftLimits, driftSources)
	b := newConnWithPrefix(t, srv, prefix, 0).Drift(defaultDriftLimits, driftSources)
	defer a.Close()
	defer b.Close()
	mem := drift.NewMemory(defaultDriftLimits, driftSources)
	a.Reset(driftT0)
	mem.Reset(driftT0)

	steps := []func(observer){
		payloads(driftT0, seen{session: "s1", user: "anon_1"}), payloads(driftT0, seen{session: "s1", user: "usr_1", email: "x@example.com"}),
		payloads(driftT0, seen{session: "s2", user: "usr_2", email: "x@example.com"}), payloads(driftT0, seen{session: "s3"}),
		deliveries("posthog-prod", "posthog", "accepted"), deliveries("open", "autoplay", "invalid_signature"),
		misses(driftT0, "USR_1"), misses(driftT0, "USR_1"), misses(driftT0, "anon_1"),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Alternate replicas, as a load balancer would. Each replica's writes
	// reach Redis in its own order only, so each step is flushed before
	// the next: the memory tracker then saw the same order.
	for i, s := range steps {
		s(mem)
		r := []*redisdrift.Tracker{a, b}[i%2]
		s(r)
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := mem.Report(driftT0.Add(time.Minute), 0, nil)
	for name, d := range map[string]*redisdrift.Tracker{"a": a, "b": b} {
		got, err := d.ReportErr(ctx, driftT0.Add(time.Minute), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("replica %s: report %+v\nwant %+v", name, got, want)
		}
	}
	if a.Totals().Payloads+b.Totals().Payloads != 4 || a.Totals().Payloads != 2 {
		t.Errorf("lifetime totals are per replica: a %+v, b %+v", a.Totals(), b.Totals())
	}

	if err := b.ResetErr(ctx, driftT0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := a.ReportErr(ctx, driftT0.Add(time.Hour+5*time.Second), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.WindowSeconds != 5 || got.Totals != (drift.Totals{}) || len(got.LookupMisses)+len(got.SessionConflicts)+len(got.EmailConflicts) != 0 {
		t.Errorf("replica a after b's reset: %+v", got)
	}
	a.Lookup("USR_1", false, driftT0.Add(time.Hour))
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err = b.ReportErr(ctx, driftT0.Add(time.Hour), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantMiss := []drift.Miss{{UserID: "USR_1", Count: 1, LastAt: driftT0.Add(time.Hour),
		Candidates: []drift.Candidate{{UserID: "usr_1", Reason: drift.ReasonCase}}}}
	if !reflect.DeepEqual(got.LookupMisses, wantMiss) {
		t.Errorf("after the reset, misses = %+v, want %+v (known ids outlive the window)", got.LookupMisses, wantMiss)
	}
}

// TestDriftConcurrentReplicas: two replicas observing the same ids at once
// lose no update: every count is exact.
func TestDriftConcurrentReplicas(t *testing.T) {
	srv := startRedis(t)
	prefix := uniquePrefix()
	var trackers []*redisdrift.Tracker
	for range 2 {
		d := newConnWithPrefix(t, srv, prefix, 0).Drift(defaultDriftLimits, driftSources)
		defer d.Close()
		trackers = append(trackers, d)
	}
	trackers[0].Reset(driftT0)
	const n = 2000
	var wg sync.WaitGroup
	for r, d := range trackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				d.Delivery("posthog-prod", "posthog", "invalid_signature")
				d.Lookup("USR_1", false, driftT0.Add(time.Duration(i)*time.Millisecond))
				seen{session: "shared", user: fmt.Sprintf("r%d-u%d", r, i%3)}.feed(d, driftT0)
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, d := range trackers {
		if err := d.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if d.Dropped()+d.Failed() != 0 {
			t.Fatalf("%d dropped, %d failed", d.Dropped(), d.Failed())
		}
	}
	rep, err := trackers[1].ReportErr(ctx, driftT0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals != (drift.Totals{Deliveries: 2 * n, Payloads: 2 * n, Lookups: 2 * n, LookupMisses: 2 * n}) {
		t.Errorf("totals = %+v", rep.Totals)
	}
	if len(rep.LookupMisses) != 1 || rep.LookupMisses[0].Count != 2*n || !rep.LookupMisses[0].LastAt.Equal(driftT0.Add((n-1)*time.Millisecond).Truncate(time.Second)) {
		t.Errorf("misses = %+v", rep.LookupMisses)
	}
	if rep.Sources[0].Rejected["invalid_signature"] != 2*n {
		t.Errorf("rejections = %+v", rep.Sources[0].Rejected)
	}
	if len(rep.SessionConflicts) != 1 || len(rep.SessionConflicts[0].UserIDs) != 6 {
		t.Errorf("session conflicts = %+v, want one session with the 6 user ids", rep.SessionConflicts)
	}
}

// TestDriftBoundedUnderFlood floods every table with 5000 distinct ids:
// each stays within its limit, counts stay exact, and every drift key has a
// TTL.
func TestDriftBoundedUnderFlood(t *testing.T) {
	srv := startRedis(t)
	prefix := uniquePrefix()
	l := drift.Limits{MaxLookupMisses: 50, MaxConflicts: 20, MaxKnownIDs: 300, MaxExamples: 4}
	d := newConnWithPrefix(t, srv, prefix, time.Hour).Drift(l, driftSources)
	defer d.Close()
	d.Reset(driftT0)
	const n = 5000
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range n {
		s := seen{source: "open", product: fmt.Sprintf("p%d", i%1500), session: fmt.Sprintf("s%d", i/2),
			user: fmt.Sprintf("u%d", i), email: fmt.Sprintf("e%d@example.com", i/2), anon: fmt.Sprintf("a%d", i)}
		if i%7 == 0 {
			s.user = ""
		}
		s.feed(d, driftT0)
		d.Lookup(fmt.Sprintf("miss-%d", i), false, driftT0)
		d.Delivery("open", "autoplay", fmt.Sprintf("code_%d", i))
		d.Delivery(fmt.Sprintf("nope-%d", i), "", "unknown_source")
		if i%1000 == 999 { // keep the queue below its bound: this test is about Redis's tables
			if err := d.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range 30 {
		seen{session: "busy", user: fmt.Sprintf("b%d", i), email: "shared@example.com", anon: fmt.Sprintf("ba%d", i)}.feed(d, driftT0)
	}
	rep, err := d.ReportErr(ctx, driftT0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	sz, err := d.SizesErr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sz != (drift.Sizes{KnownIDs: l.MaxKnownIDs, LookupMisses: l.MaxLookupMisses, Conflicts: l.MaxConflicts, SourceRows: sz.SourceRows}) ||
		sz.SourceRows > len(driftSources)+drift.MaxExtraRows {
		t.Errorf("sizes %+v, want every table full at its limit %+v", sz, l)
	}
	if rep.Totals.Payloads != n+30 || rep.Totals.LookupMisses != n || rep.Totals.Deliveries != 2*n || d.Dropped()+d.Failed() != 0 {
		t.Errorf("totals %+v (%d dropped, %d failed): counts must stay exact when tables evict", rep.Totals, d.Dropped(), d.Failed())
	}
	if len(rep.LookupMisses) != l.MaxLookupMisses || len(rep.SessionConflicts)+len(rep.EmailConflicts) > l.MaxConflicts {
		t.Errorf("report holds %d misses and %d conflicts", len(rep.LookupMisses), len(rep.SessionConflicts)+len(rep.EmailConflicts))
	}
	for _, s := range rep.Sources {
		if len(s.Examples) > l.MaxExamples || len(s.Rejected) > drift.MaxCodes+1 {
			t.Errorf("source %s holds %d examples and %d codes", s.Source, len(s.Examples), len(s.Rejected))
		}
	}
	for _, c := range rep.SessionConflicts {
		if len(c.UserIDs) > drift.MaxIDs {
			t.Errorf("session conflict %s holds %d ids", c.SessionID, len(c.UserIDs))
		}
	}
	for _, c := range rep.EmailConflicts {
		if len(c.UserIDs) > drift.MaxIDs {
			t.Errorf("email conflict %s holds %d ids", c.Email, len(c.UserIDs))
		}
	}

	rdb := srv.Client()
	keys, err := rdb.Keys(ctx, globEscapeTest(prefix)+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 9 {
		t.Errorf("drift keys = %q, want 9", keys)
	}
	for _, k := range keys {
		ttl, err := rdb.PTTL(ctx, k).Result()
		if err != nil || ttl <= 0 || ttl > time.Hour {
			t.Errorf("key %q: TTL %v (%v), want within the fallback TTL of 1h", k, ttl, err)
		}
		if !strings.Contains(k, "{"+prefix+"drift}") {
			t.Errorf("key %q lacks the drift hash tag", k)
		}
	}
}

// TestDriftLRUKeyEvicted: when maxmemory evicts a table's LRU zset but not
// its hash, the next write drops the orphaned hash, so the table stays
// bounded.
func TestDriftLRUKeyEvicted(t *testing.T) {
	srv := startRedis(t)
	prefix := uniquePrefix()
	l := drift.Limits{MaxLookupMisses: 5, MaxConflicts: 5, MaxKnownIDs: 10, MaxExamples: 1}
	d := newConnWithPrefix(t, srv, prefix, 0).Drift(l, driftSources)
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	feedIDs := func(from int) {
		for i := from; i < from+20; i++ {
			seen{session: fmt.Sprintf("s%d", i), user: fmt.Sprintf("u%d", i)}.feed(d, driftT0)
			d.Lookup(fmt.Sprintf("m%d", i), false, driftT0)
		}
		if err := d.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	feedIDs(0)
	rdb := srv.Client()
	base := prefix + "{" + prefix + "drift}:"
	if err := rdb.Del(ctx, base+"known:lru", base+"miss:lru").Err(); err != nil { // as an eviction would
		t.Fatal(err)
	}
	feedIDs(100)
	// Without its clock, the LRU goes on after the highest score in use:
	// the newest entries stay, the oldest go.
	if err := rdb.Del(ctx, base+"seq").Err(); err != nil {
		t.Fatal(err)
	}
	feedIDs(200)
	misses, err := rdb.HKeys(ctx, base+"miss").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(misses)
	if want := []string{"m215", "m216", "m217", "m218", "m219"}; !slices.Equal(misses, want) {
		t.Errorf("misses kept after the clock was lost = %q, want the newest %q", misses, want)
	}
	for _, k := range []struct {
		key   string
		limit int
	}{{"known", l.MaxKnownIDs}, {"miss", l.MaxLookupMisses}} {
		n, err := rdb.HLen(ctx, base+k.key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n > int64(k.limit) {
			t.Errorf("%s holds %d entries after its LRU key was evicted, limit %d", k.key, n, k.limit)
		}
	}
}

// globEscapeTest escapes a literal for KEYS (test prefixes are letters,
// digits, '-' and ':', so this is a check rather than a need).
func globEscapeTest(s string) string {
	if strings.ContainsAny(s, `*?[]\`) {
		panic("unexpected pattern character in a test prefix")
	}
	return s
}

// TestDriftRedisDown: with Redis killed, observations never block or fail
// the caller (they are counted as failed), ReportErr and ResetErr answer
// an error wrapping index.ErrUnavailable, Report answers an empty report;
// after a restart everything works again by itself.
func TestDriftRedisDown(t *testing.T) {
	srv := startRedis(t)
	d := newConn(t, srv).Drift(defaultDriftLimits, driftSources)
	defer d.Close()
	d.Reset(driftT0)
	seen{session: "s1", user: "usr_1"}.feed(d, driftT0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	srv.Kill()
	seen{session: "s2"}.feed(d, driftT0)
	d.Lookup("USR_1", false, driftT0)
	if _, err := d.ReportErr(ctx, driftT0, 0, nil); !errors.Is(err, index.ErrUnavailable) {
		t.Errorf("ReportErr with Redis down: %v, want index.ErrUnavailable", err)
	}
	if err := d.ResetErr(ctx, driftT0); !errors.Is(err, index.ErrUnavailable) {
		t.Errorf("ResetErr with Redis down: %v, want index.ErrUnavailable", err)
	}
	rep := d.Report(driftT0, 0, nil)
	if len(rep.Sources)+len(rep.LookupMisses) != 0 || rep.Totals != (drift.Totals{}) {
		t.Errorf("Report with Redis down = %+v, want an empty report", rep)
	}
	if d.Failed() != 2 {
		t.Errorf("failed = %d, want the 2 observations made while Redis was down", d.Failed())
	}
	if d.Totals().Payloads != 2 || d.Totals().LookupMisses != 1 {
		t.Errorf("lifetime totals count every observation, sent or not: %+v", d.Totals())
	}

	srv.Restart()
	waitFor(t, "the drift report after the restart", func() bool {
		_, err := d.ReportErr(ctx, driftT0, 0, nil)
		return err == nil
	})
	d.Lookup("USR_1", false, driftT0)
	rep, err := d.ReportErr(ctx, driftT0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.LookupMisses) != 1 || rep.LookupMisses[0].UserID != "USR_1" {
		t.Errorf("after the restart, misses = %+v", rep.LookupMisses)
	}
}

// TestDriftClose: Close applies what is queued; later observations are
// dropped and counted, never sent on a closed queue.
func TestDriftClose(t *testing.T) {
	srv := startRedis(t)
	st := newConn(t, srv)
	d := st.Drift(defaultDriftLimits, driftSources)
	d.Reset(driftT0)
	for range 10 {
		d.Delivery("open", "autoplay", "accepted")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d.Delivery("open", "autoplay", "accepted")
	if d.Dropped() != 1 {
		t.Errorf("dropped = %d, want 1 (after Close)", d.Dropped())
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	other := st.Drift(defaultDriftLimits, driftSources)
	defer other.Close()
	rep, err := other.ReportErr(context.Background(), driftT0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Deliveries != 10 {
		t.Errorf("deliveries = %d, want the 10 queued before Close", rep.Totals.Deliveries)
	}
}

// TestDriftMemory measures what drift costs in Redis with the default
// config limits filled (docs/redis.md, "Drift in Redis", quotes these
// figures) and fails if an entry grows past its documented bound.
func TestDriftMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 100 000 known ids")
	}
	srv := startRedis(t)
	prefix := uniquePrefix()
	l := drift.Limits{MaxLookupMisses: 1000, MaxConflicts: 1000, MaxKnownIDs: 100000, MaxExamples: 5}
	d := newConnWithPrefix(t, srv, prefix, 0).Drift(l, driftSources)
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	d.Reset(driftT0)
	// Typical ids: 15-byte user ids, 28-byte sessions, 20-byte emails.
	// Each payload adds a normalized id, an email, an anonymous id and a
	// session: 4 known entries; every other session gets a second user (a
	// conflict) until the conflict table is full.
	for i := range l.MaxKnownIDs / 4 {
		s := seen{session: fmt.Sprintf("sess_01HZX%018d", i), user: fmt.Sprintf("user_%010d", i),
			email: fmt.Sprintf("u%09d@example.com", i), anon: fmt.Sprintf("anon_%010d", i)}
		s.feed(d, driftT0)
		if i%2 == 0 && i < 2*l.MaxConflicts {
			s.user += "x"
			s.feed(d, driftT0)
		}
		if i < l.MaxLookupMisses {
			d.Lookup(fmt.Sprintf("USER_%010d", i), false, driftT0)
		}
		if i%2000 == 1999 {
			if err := d.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	sz, err := d.SizesErr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sz.KnownIDs != l.MaxKnownIDs || sz.LookupMisses != l.MaxLookupMisses || sz.Conflicts != l.MaxConflicts {
		t.Fatalf("sizes %+v: the tables should be full", sz)
	}
	rdb := srv.Client()
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	usage := map[string]int64{}
	for _, k := range keys {
		n, err := rdb.MemoryUsage(ctx, k, 0).Result() // SAMPLES 0: every element
		if err != nil {
			t.Fatal(err)
		}
		usage[k[strings.Index(k, "drift}:")+len("drift}:"):]] = n
		total += n
	}
	perKnown := (usage["known"] + usage["known:lru"]) / int64(l.MaxKnownIDs)
	t.Logf("drift in Redis with default limits: %d MB in total; per key: %v", total>>20, usage)
	t.Logf("≈ %d B per known id (hash entry and LRU zset entry)", perKnown)
	if total > 40<<20 {
		t.Errorf("drift uses %d MB with the default limits; docs/redis.md says at most 40 MB", total>>20)
	}
}

// BenchmarkDriftPayload is one payload observation applied in Redis
// (batched by the writer, 64 per script): what drift adds to Redis's load
// per stored payload.
func BenchmarkDriftPayload(b *testing.B) {
	srv := startRedis(b)
	d := newConn(b, srv).Drift(defaultDriftLimits, driftSources)
	defer d.Close()
	ctx := context.Background()
	ps := make([]seen, 1000)
	for i := range ps {
		ps[i] = seen{session: fmt.Sprintf("sess_%d", i), user: fmt.Sprintf("user_%d", i%300), email: fmt.Sprintf("u%d@example.com", i%300)}
	}
	b.ResetTimer()
	for i := range b.N {
		ps[i%len(ps)].feed(d, driftT0)
		if i%4096 == 4095 {
			if err := d.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := d.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	if d.Dropped()+d.Failed() != 0 {
		b.Fatalf("%d dropped, %d failed", d.Dropped(), d.Failed())
	}
}

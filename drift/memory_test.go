package drift

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replayhook/replayhook/normalize"
)

var driftT0 = time.Date(2025, 3, 14, 9, 45, 0, 0, time.UTC)

var driftSources = []Source{
	{Name: "posthog-prod", Provider: "posthog", ProductID: "prod_demo"},
	{Name: "open", Provider: "autoplay"},
	{Name: "quiet", Provider: "segment", ProductID: "prod_demo"},
}

func newTestDrift(l Limits) *Memory {
	if l == (Limits{}) {
		l = Limits{MaxLookupMisses: 100, MaxConflicts: 100, MaxKnownIDs: 1000, MaxExamples: 3}
	}
	d := NewMemory(l, driftSources)
	d.Reset(driftT0)
	return d
}

// seen is one payload as the pipeline reports it (ids already trimmed).
type seen struct {
	source, product, session, user, email, anon string
	late                                        bool
}

func (s seen) payload() *normalize.ActionsPayload {
	return &normalize.ActionsPayload{
		Type: "actions", ProductID: s.product, SessionID: normalize.OptStr(s.session),
		UserID: normalize.OptStr(s.user), Email: normalize.OptStr(s.email), AnonymousID: s.anon,
	}
}

func feed(d *Memory, at time.Time, ps ...seen) {
	for _, p := range ps {
		src := p.source
		if src == "" {
			src = "posthog-prod"
		}
		d.Payload(src, "posthog", p.payload(), p.late, at)
	}
}

// missOf returns the report entry for a missed lookup of id.
func missOf(t *testing.T, d *Memory, id string) Miss {
	t.Helper()
	d.Lookup(id, false, driftT0)
	for _, m := range d.Report(driftT0, 0, nil).LookupMisses {
		if m.UserID == id {
			return m
		}
	}
	t.Fatalf("no lookup miss for %q", id)
	return Miss{}
}

func TestDriftCandidateReasons(t *testing.T) {
	tests := []struct {
		name   string
		known  []seen
		lookup string
		want   []Candidate
	}{
		{"case", []seen{{session: "s1", user: "usr_48213"}}, "USR_48213",
			[]Candidate{{"usr_48213", ReasonCase}}},
		{"case of an email used as user id", []seen{{session: "s1", user: "dana@example.com"}}, "Dana@Example.com",
			[]Candidate{{"dana@example.com", ReasonCase}}},
		{"whitespace inside the id", []seen{{session: "s1", user: "acme 55"}}, "acme55",
			[]Candidate{{"acme 55", ReasonWhitespace}}},
		{"zero-width space left by trimming", []seen{{session: "s1", user: "usr_66\u200b"}}, "usr_66",
			[]Candidate{{"usr_66\u200b", ReasonWhitespace}}},
		{"byte order mark on the lookup side", []seen{{session: "s1", user: "usr_67"}}, "\ufeffusr_67",
			[]Candidate{{"usr_67", ReasonWhitespace}}},
		{"no-break space inside the id", []seen{{session: "s1", user: "dana\u00a0w"}}, "danaw",
			[]Candidate{{"dana\u00a0w", ReasonWhitespace}}},
		{"prefix on the known side", []seen{{session: "s1", user: "user_123"}}, "123",
			[]Candidate{{"user_123", ReasonPrefix}}},
		{"prefix on the lookup side", []seen{{session: "s1", user: "123"}}, "usr-123",
			[]Candidate{{"123", ReasonPrefix}}},
		{"prefix and case", []seen{{session: "s1", user: "U_77"}}, "77",
			[]Candidate{{"U_77", ReasonPrefix}}},
		{"auth0 namespace", []seen{{session: "s1", user: "auth0|5f7c8ec7"}}, "5f7c8ec7",
			[]Candidate{{"auth0|5f7c8ec7", ReasonPrefix}}},
		{"google-oauth2 namespace", []seen{{session: "s1", user: "google-oauth2|1077"}}, "1077",
			[]Candidate{{"google-oauth2|1077", ReasonPrefix}}},
		{"stacked prefixes", []seen{{session: "s1", user: "samlp|acme|user_42"}}, "id:42",
			[]Candidate{{"samlp|acme|user_42", ReasonPrefix}}},
		{"email namespace", []seen{{session: "s1", user: "dana@example.com"}}, "email:dana@example.com",
			[]Candidate{{"dana@example.com", ReasonPrefix}}},
		{"a dot is not a prefix separator", []seen{{session: "s1", user: "user.name@example.com"}}, "name@example.com",
			[]Candidate{}},
		{"email seen on a user", []seen{{session: "s1", user: "usr_1", email: "Dana@Example.com"}}, "dana@example.com",
			[]Candidate{{"usr_1", ReasonEmail}}},
		{"email with mailto", []seen{{session: "s1", user: "usr_1", email: "dana@example.com"}}, "mailto:DANA@example.com",
			[]Candidate{{"usr_1", ReasonEmail}}},
		{"anonymous id on the payload", []seen{{session: "s1", user: "usr_9", anon: "anon_1"}}, "anon_1",
			[]Candidate{{"usr_9", ReasonAnonymousID}}},
		{"anonymous id on a session identified later", []seen{
			{session: "s1", anon: "anon_2"}, {session: "s1", user: "usr_9"}}, "anon_2",
			[]Candidate{{"usr_9", ReasonAnonymousID}}},
		{"earlier user id of a session identified later", []seen{
			{session: "s1", user: "0195-anon"}, {session: "s1", user: "usr_9"}}, "0195-anon",
			[]Candidate{{"usr_9", ReasonAnonymousID}}},
		{"an anonymous id first seen after the user is not linked", []seen{
			{session: "s1", user: "usr_9"}, {session: "s1", anon: "anon_3"}}, "anon_3",
			[]Candidate{}},
		{"several reasons, best first", []seen{
			{session: "s1", user: "usr_48213", email: "dana@example.com"},
			{session: "s2", user: "auth0|48213", email: "dana@example.com"}}, "USR_48213",
			[]Candidate{{"usr_48213", ReasonCase}, {"auth0|48213", ReasonPrefix}}},
		{"one candidate, first reason wins", []seen{
			{session: "s1", user: "dana@example.com", email: "dana@example.com"}}, "DANA@example.com",
			[]Candidate{{"dana@example.com", ReasonCase}}},
		{"the missed id itself is no candidate", []seen{{session: "s1", user: "usr_1"}}, "usr_1",
			[]Candidate{}},
		{"nothing alike", []seen{{session: "s1", user: "usr_1"}}, "nobody",
			[]Candidate{}},
		{"at most five", []seen{
			{session: "s1", user: "u_5"}, {session: "s2", user: "U_5"}, {session: "s3", user: "usr_5"},
			{session: "s4", user: "user-5"}, {session: "s5", user: "id:5"}, {session: "s6", user: "uid_5"}}, "5",
			[]Candidate{{"u_5", ReasonPrefix}, {"U_5", ReasonPrefix}, {"usr_5", ReasonPrefix}, {"user-5", ReasonPrefix}, {"id:5", ReasonPrefix}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDrift(Limits{})
			feed(d, driftT0, tt.known...)
			got := missOf(t, d, tt.lookup)
			if !reflect.DeepEqual(got.Candidates, tt.want) {
				t.Errorf("candidates for %q = %#v, want %#v", tt.lookup, got.Candidates, tt.want)
			}
		})
	}
}

func TestDriftLookupMisses(t *testing.T) {
	d := newTestDrift(Limits{})
	d.Lookup("a", false, driftT0)
	d.Lookup("b", false, driftT0.Add(time.Second))
	d.Lookup("b", false, driftT0.Add(3*time.Second))
	d.Lookup("b", false, driftT0.Add(2*time.Second)) // out of order: last_at does not go back
	d.Lookup("c", true, driftT0)
	d.Lookup("  ", false, driftT0) // counted, not remembered
	rep := d.Report(driftT0.Add(time.Minute), 0, nil)
	want := []Miss{
		{UserID: "b", Count: 3, LastAt: driftT0.Add(3 * time.Second), Candidates: []Candidate{}},
		{UserID: "a", Count: 1, LastAt: driftT0, Candidates: []Candidate{}},
	}
	if !reflect.DeepEqual(rep.LookupMisses, want) {
		t.Errorf("misses = %#v, want %#v", rep.LookupMisses, want)
	}
	if rep.Totals.Lookups != 6 || rep.Totals.LookupMisses != 5 {
		t.Errorf("totals = %+v, want 6 lookups and 5 misses", rep.Totals)
	}
}

func TestDriftSessionConflicts(t *testing.T) {
	tests := []struct {
		name string
		seen []seen
		want []SessionConflict
	}{
		{"anonymous then identified", []seen{{session: "s1", user: "anon_7f3a"}, {session: "s1", user: "usr_1"}},
			[]SessionConflict{{"prod_demo", "s1", []string{"anon_7f3a", "usr_1"}}}},
		{"three people, in order, most ids first", []seen{
			{session: "s1", user: "u1"}, {session: "s1", user: "u2"},
			{session: "s2", user: "u1"}, {session: "s2", user: "u2"}, {session: "s2", user: "u1"}, {session: "s2", user: "u3"}},
			[]SessionConflict{{"prod_demo", "s2", []string{"u1", "u2", "u3"}}, {"prod_demo", "s1", []string{"u1", "u2"}}}},
		{"ids differing in case are two ids", []seen{{session: "s1", user: "usr_1"}, {session: "s1", user: "USR_1"}},
			[]SessionConflict{{"prod_demo", "s1", []string{"usr_1", "USR_1"}}}},
		{"one user repeatedly is no conflict", []seen{{session: "s1", user: "u1"}, {session: "s1", user: "u1"}, {session: "s1"}},
			[]SessionConflict{}},
		{"the same session id in two products is two sessions", []seen{
			{source: "open", product: "prod_a", session: "s1", user: "u1"},
			{source: "open", product: "prod_b", session: "s1", user: "u2"}},
			[]SessionConflict{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDrift(Limits{})
			feed(d, driftT0, tt.seen...)
			if got := d.Report(driftT0, 0, nil).SessionConflicts; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("session conflicts = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDriftEmailConflicts(t *testing.T) {
	tests := []struct {
		name string
		seen []seen
		want []EmailConflict
	}{
		{"one email on two user ids", []seen{
			{session: "s1", user: "usr_48213", email: "Dana.Whitfield@example.com"},
			{session: "s2", user: "auth0|48213", email: "dana.whitfield@example.com"}},
			[]EmailConflict{{"Dana.Whitfield@example.com", []string{"usr_48213", "auth0|48213"}}}},
		{"one user in two products is no conflict", []seen{
			{source: "open", product: "prod_a", session: "s1", user: "u1", email: "x@example.com"},
			{source: "open", product: "prod_b", session: "s2", user: "u1", email: "x@example.com"}},
			[]EmailConflict{}},
		{"an email without a user id is not linked", []seen{
			{session: "s1", email: "x@example.com"}, {session: "s2", user: "u1", email: "x@example.com"}},
			[]EmailConflict{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDrift(Limits{})
			feed(d, driftT0, tt.seen...)
			if got := d.Report(driftT0, 0, nil).EmailConflicts; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("email conflicts = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDriftSources(t *testing.T) {
	d := newTestDrift(Limits{MaxLookupMisses: 10, MaxConflicts: 10, MaxKnownIDs: 100, MaxExamples: 2})
	for _, o := range []string{"accepted", "accepted", "accepted", "duplicate", "ignored", "invalid_signature", "invalid_signature", "stale_timestamp"} {
		d.Delivery("posthog-prod", "posthog", o)
	}
	d.Delivery("open", "autoplay", "accepted")
	d.Delivery("typo", "", "unknown_source")
	feed(d, driftT0,
		seen{session: "s1", user: "u1"},
		seen{session: "s2"},
		seen{session: "s2"}, // the same example once
		seen{},              // no session: counted, no example
		seen{session: "s3", user: "u3", late: true},
	)
	feed(d, driftT0.Add(time.Second), seen{session: "s4"}) // newest example first, two kept
	feed(d, driftT0, seen{source: "open", product: "prod_a", session: "o1"}, seen{source: "open", product: "prod_b", session: "o2", user: "u9"})

	rep := d.Report(driftT0.Add(90*time.Second), 0, nil)
	want := []SourceReport{
		{Source: "posthog-prod", Provider: "posthog", ProductID: "prod_demo", Deliveries: 8, Payloads: 6, MissingUserID: 4,
			MissingUserIDRatio: 0.6667, Late: 1, Rejected: map[string]int64{"invalid_signature": 2, "stale_timestamp": 1},
			Examples: []Example{{"s4", driftT0.Add(time.Second)}, {"s2", driftT0}}, LateExamples: []Example{{"s3", driftT0}}},
		{Source: "open", Provider: "autoplay", ProductID: "", Deliveries: 1, Payloads: 2, MissingUserID: 1,
			MissingUserIDRatio: 0.5, Rejected: map[string]int64{}, Examples: []Example{{"o1", driftT0}}, LateExamples: []Example{}},
		{Source: UnknownSource, Provider: "", ProductID: "", Deliveries: 1, Rejected: map[string]int64{"unknown_source": 1}, Examples: []Example{}, LateExamples: []Example{}},
		{Source: "quiet", Provider: "segment", ProductID: "prod_demo", Rejected: map[string]int64{}, Examples: []Example{}, LateExamples: []Example{}},
	}
	if !reflect.DeepEqual(rep.Sources, want) {
		t.Errorf("sources =\n%#v\nwant\n%#v", rep.Sources, want)
	}
	if want := (Totals{Deliveries: 10, Payloads: 8, MissingUserID: 5}); rep.Totals != want {
		t.Errorf("totals = %+v, want %+v", rep.Totals, want)
	}
	if rep.WindowSeconds != 90 || !rep.GeneratedAt.Equal(driftT0.Add(90*time.Second)) {
		t.Errorf("window = %d s at %v", rep.WindowSeconds, rep.GeneratedAt)
	}
}

func TestDriftProductScope(t *testing.T) {
	d := newTestDrift(Limits{})
	d.Delivery("open", "autoplay", "accepted")
	d.Delivery("posthog-prod", "posthog", "accepted")
	feed(d, driftT0,
		seen{session: "s1", user: "anon_1"}, seen{session: "s1", user: "u1", email: "x@example.com"},
		seen{source: "open", product: "prod_b", session: "s1", user: "b1"}, seen{source: "open", product: "prod_b", session: "s1", user: "b2"},
		seen{source: "open", product: "prod_b", session: "s2", user: "b3", email: "x@example.com"},
		seen{source: "open", product: "prod_b", session: "s3", user: "b4", email: "x@example.com"},
		seen{source: "open", product: "prod_b", session: "s4"},
	)
	d.Lookup("U1", false, driftT0)

	onlyB := d.Report(driftT0, 0, func(p string) bool { return p == "prod_b" })
	wantB := Report{
		GeneratedAt: driftT0,
		Totals:      Totals{Payloads: 5, MissingUserID: 1},
		Sources: []SourceReport{{Source: "open", Provider: "autoplay", ProductID: "prod_b", Payloads: 5, MissingUserID: 1,
			MissingUserIDRatio: 0.2, Rejected: map[string]int64{}, Examples: []Example{{"s4", driftT0}}, LateExamples: []Example{}}},
		LookupMisses:     []Miss{},
		SessionConflicts: []SessionConflict{{"prod_b", "s1", []string{"b1", "b2"}}},
		EmailConflicts:   []EmailConflict{{"x@example.com", []string{"b3", "b4"}}},
	}
	if !reflect.DeepEqual(onlyB, wantB) {
		t.Errorf("prod_b report =\n%#v\nwant\n%#v", onlyB, wantB)
	}

	onlyDemo := d.Report(driftT0, 0, func(p string) bool { return p == "prod_demo" })
	if len(onlyDemo.Sources) != 2 || onlyDemo.Sources[0].Source != "posthog-prod" || onlyDemo.Sources[1].Source != "quiet" {
		t.Errorf("prod_demo sources = %+v", onlyDemo.Sources)
	}
	if len(onlyDemo.EmailConflicts) != 0 {
		t.Errorf("prod_demo sees an email conflict of one user id: %+v", onlyDemo.EmailConflicts)
	}
	if len(onlyDemo.SessionConflicts) != 1 || onlyDemo.SessionConflicts[0].ProductID != "prod_demo" {
		t.Errorf("prod_demo session conflicts = %+v", onlyDemo.SessionConflicts)
	}
	if onlyDemo.Totals.Deliveries != 1 || onlyDemo.Totals.Lookups != 0 || len(onlyDemo.LookupMisses) != 0 {
		t.Errorf("a scoped reader sees deliveries of a product-less source or lookups: %+v", onlyDemo.Totals)
	}

	all := d.Report(driftT0, 0, nil)
	if len(all.EmailConflicts) != 1 || !reflect.DeepEqual(all.EmailConflicts[0].UserIDs, []string{"u1", "b3", "b4"}) {
		t.Errorf("all-products email conflicts = %+v", all.EmailConflicts)
	}
	if all.Totals.Lookups != 1 || len(all.LookupMisses) != 1 {
		t.Errorf("all-products lookups = %+v %+v", all.Totals, all.LookupMisses)
	}
}

func TestDriftLimitAndSorting(t *testing.T) {
	d := newTestDrift(Limits{})
	for i, n := range []int{1, 3, 2} {
		for range n {
			d.Lookup(fmt.Sprintf("m%d", i), false, driftT0)
		}
	}
	rep := d.Report(driftT0, 2, nil)
	if len(rep.LookupMisses) != 2 || rep.LookupMisses[0].UserID != "m1" || rep.LookupMisses[1].UserID != "m2" {
		t.Errorf("limit 2 misses = %+v", rep.LookupMisses)
	}
	if len(rep.Sources) != 2 {
		t.Errorf("limit 2 sources = %d", len(rep.Sources))
	}
	if rep.Totals.LookupMisses != 6 {
		t.Errorf("the limit changed the totals: %+v", rep.Totals)
	}

	feed(d, driftT0, seen{session: "s1", user: "usr_1"})
	for range 5 {
		d.Lookup("USR_1", false, driftT0)
	}
	rep = d.Report(driftT0, 1, nil)
	want := []Miss{{UserID: "USR_1", Count: 5, LastAt: driftT0, Candidates: []Candidate{{"usr_1", ReasonCase}}}}
	if !reflect.DeepEqual(rep.LookupMisses, want) {
		t.Errorf("limit 1 misses = %+v, want %+v", rep.LookupMisses, want)
	}
}

func TestDriftResetKeepsKnownIDs(t *testing.T) {
	d := newTestDrift(Limits{})
	d.Delivery("posthog-prod", "posthog", "invalid_signature")
	feed(d, driftT0, seen{session: "s1", user: "anon_1"}, seen{session: "s1", user: "usr_1", email: "x@example.com"},
		seen{session: "s2", user: "usr_2", email: "x@example.com"})
	d.Lookup("USR_1", false, driftT0)
	before := d.Totals()

	d.Reset(driftT0.Add(time.Hour))
	rep := d.Report(driftT0.Add(time.Hour+5*time.Second), 0, nil)
	if rep.WindowSeconds != 5 || rep.Totals != (Totals{}) || len(rep.LookupMisses)+len(rep.SessionConflicts)+len(rep.EmailConflicts) != 0 {
		t.Errorf("after reset: %+v", rep)
	}
	for _, s := range rep.Sources {
		if s.Deliveries != 0 || len(s.Rejected) != 0 {
			t.Errorf("source %s kept counts: %+v", s.Source, s)
		}
	}
	if got := d.Totals(); got != before || got != (Totals{Deliveries: 1, Payloads: 3, Lookups: 1, LookupMisses: 1}) {
		t.Errorf("lifetime totals = %+v, before reset %+v", got, before)
	}
	if m := missOf(t, d, "USR_1"); !reflect.DeepEqual(m.Candidates, []Candidate{{"usr_1", ReasonCase}}) {
		t.Errorf("known ids lost in the reset: %+v", m.Candidates)
	}
	// A conflict already reported is not reported again by old activity alone.
	feed(d, driftT0.Add(time.Hour), seen{session: "s1", user: "usr_1"})
	if c := d.Report(driftT0.Add(time.Hour), 0, nil).SessionConflicts; len(c) != 0 {
		t.Errorf("conflicts after reset = %+v", c)
	}
	// A new user id on the session is, with the session's full history.
	feed(d, driftT0.Add(time.Hour), seen{session: "s1", user: "usr_3"})
	want := []SessionConflict{{"prod_demo", "s1", []string{"anon_1", "usr_1", "usr_3"}}}
	if c := d.Report(driftT0.Add(time.Hour), 0, nil).SessionConflicts; !reflect.DeepEqual(c, want) {
		t.Errorf("conflicts = %+v, want %+v", c, want)
	}
}

// TestDriftMemoryBounds floods every table with distinct ids and checks that
// each stays within its limit, as does every per-entry list.
func TestDriftMemoryBounds(t *testing.T) {
	limits := Limits{MaxLookupMisses: 50, MaxConflicts: 20, MaxKnownIDs: 300, MaxExamples: 4}
	d := newTestDrift(limits)
	const n = 20000
	for i := range n {
		s := seen{source: "open", product: fmt.Sprintf("p%d", i%3000), session: fmt.Sprintf("s%d", i/2),
			user: fmt.Sprintf("u%d", i), email: fmt.Sprintf("e%d@example.com", i/2), anon: fmt.Sprintf("a%d", i)}
		if i%7 == 0 {
			s.user = ""
		}
		feed(d, driftT0, s)
		d.Lookup(fmt.Sprintf("miss-%d", i), false, driftT0)
		d.Delivery("open", "autoplay", fmt.Sprintf("code_%d", i))
		d.Delivery(fmt.Sprintf("nope-%d", i), "", "unknown_source")
	}
	// One session and one email with very many users.
	for i := range 100 {
		feed(d, driftT0, seen{session: "busy", user: fmt.Sprintf("b%d", i), email: "shared@example.com", anon: fmt.Sprintf("ba%d", i)})
	}
	sz := d.Sizes()
	if sz.KnownIDs > limits.MaxKnownIDs || sz.LookupMisses > limits.MaxLookupMisses || sz.Conflicts > limits.MaxConflicts ||
		sz.SourceRows > len(driftSources)+MaxExtraRows+1 {
		t.Errorf("sizes %+v exceed limits %+v", sz, limits)
	}
	if sz.KnownIDs != limits.MaxKnownIDs || sz.LookupMisses != limits.MaxLookupMisses || sz.Conflicts != limits.MaxConflicts {
		t.Errorf("sizes %+v: the flood should fill every table", sz)
	}
	rep := d.Report(driftT0, 0, nil)
	if rep.Totals.Payloads != n+100 || rep.Totals.LookupMisses != n || rep.Totals.Deliveries != 2*n {
		t.Errorf("totals %+v: counts must stay exact when tables evict", rep.Totals)
	}
	for _, s := range rep.Sources {
		if len(s.Examples) > limits.MaxExamples || len(s.Rejected) > MaxCodes+1 {
			t.Errorf("source %s holds %d examples and %d codes", s.Source, len(s.Examples), len(s.Rejected))
		}
	}
	for _, c := range rep.SessionConflicts {
		if len(c.UserIDs) > MaxIDs {
			t.Errorf("session conflict %s holds %d ids", c.SessionID, len(c.UserIDs))
		}
	}
	for _, c := range rep.EmailConflicts {
		if len(c.UserIDs) > MaxIDs {
			t.Errorf("email conflict %s holds %d ids", c.Email, len(c.UserIDs))
		}
	}
	d.mu.Lock()
	for _, k := range d.known.Keys() {
		e, _ := d.known.Peek(k)
		if len(e.ids) > MaxIDs || len(e.anons) > MaxAnons {
			t.Errorf("known entry %+v holds %d ids and %d anonymous ids", k, len(e.ids), len(e.anons))
		}
	}
	d.mu.Unlock()
	if rep := d.Report(driftT0, 0, func(p string) bool { return true }); rep.Totals.Payloads != n+100-int64(countOverflow(d)) {
		t.Errorf("scoped totals = %d", rep.Totals.Payloads)
	}
}

// countOverflow is the payloads counted in product-less rows (visible only
// to all-products readers).
func countOverflow(d *Memory) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	var n int64
	for k, r := range d.rows {
		if k.product == "" {
			n += r.payloads
		}
	}
	return n
}

func TestDriftIgnoresHostileSizes(t *testing.T) {
	d := newTestDrift(Limits{})
	long := string(make([]byte, maxIDBytes+1))
	d.Lookup(long, false, driftT0)
	d.Payload("posthog-prod", "posthog", &normalize.ActionsPayload{UserID: &long, SessionID: &long}, false, driftT0)
	d.Payload("posthog-prod", "posthog", nil, false, driftT0)
	d.Delivery("posthog-prod", "posthog", long)
	rep := d.Report(driftT0, 0, nil)
	if len(rep.LookupMisses) != 0 || d.Sizes().KnownIDs != 0 {
		t.Errorf("over-long ids were remembered: %+v %+v", rep.LookupMisses, d.Sizes())
	}
	if rep.Totals.LookupMisses != 1 || rep.Totals.Payloads != 1 || rep.Totals.MissingUserID != 0 {
		t.Errorf("totals = %+v", rep.Totals)
	}
	if rep.Sources[0].Rejected["other"] != 1 {
		t.Errorf("an over-long outcome is not counted as other: %+v", rep.Sources[0].Rejected)
	}
}

func TestDriftConcurrentUse(t *testing.T) {
	d := newTestDrift(Limits{MaxLookupMisses: 20, MaxConflicts: 20, MaxKnownIDs: 50, MaxExamples: 2})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				feed(d, driftT0, seen{session: fmt.Sprintf("s%d", i%10), user: fmt.Sprintf("u%d", (i+g)%13), email: "x@example.com"})
				d.Lookup(fmt.Sprintf("U%d", i%17), i%3 == 0, driftT0)
				d.Delivery("posthog-prod", "posthog", "accepted")
				if i%100 == 0 {
					_ = d.Report(driftT0, 5, nil)
				}
				if g == 0 && i == 250 {
					d.Reset(driftT0)
				}
			}
		}()
	}
	wg.Wait()
	if got := d.Totals(); got.Payloads != 4000 || got.Deliveries != 4000 || got.Lookups != 4000 {
		t.Errorf("lifetime totals = %+v", got)
	}
}

// TestDriftReportJSON pins the wire format of GET /v1/drift (docs/openapi.yaml).
func TestDriftReportJSON(t *testing.T) {
	d := newTestDrift(Limits{})
	d.Delivery("posthog-prod", "posthog", "accepted")
	d.Delivery("posthog-prod", "posthog", "invalid_signature")
	feed(d, driftT0.Add(-50*time.Second), seen{session: "ps_01959380"}, seen{session: "ps_01959380", user: "anon_7f3a"},
		seen{session: "ps_01959380", user: "usr_48213", email: "dana.whitfield@example.com"},
		seen{session: "ps_01959381", user: "auth0|48213", email: "dana.whitfield@example.com"},
		seen{session: "ps_01959377", user: "usr_48213", late: true})
	d.Lookup("USR_48213", false, driftT0.Add(-time.Second))
	rep := d.Report(driftT0.Add(time.Hour), 0, nil)
	got, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/drift_report.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(got)+"\n" != string(want) {
		t.Errorf("report JSON =\n%s\nwant (testdata/drift_report.json)\n%s", got, want)
	}
}

func TestNormKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"usr_48213", "48213"},
		{"USR-48213", "48213"},
		{"user_id:42", "42"},
		{"auth0|5f7c", "5f7c"},
		{"google-oauth2|1077", "1077"},
		{"samlp|acme|u_9", "9"},
		{"email:Dana@Example.com", "dana@example.com"},
		{"user.name@example.com", "user.name@example.com"},
		{"a b\u200bc", "abc"},
		{"user_", "user_"},
		{"|x", "|x"},
		{"Not A Prefix_1", "notaprefix_1"},
	}
	for _, tt := range tests {
		if got := normKey(tt.in); got != tt.want {
			t.Errorf("normKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// BenchmarkDriftPayload is the cost the drift tracker adds to each stored
// payload (user, email, anonymous id, session), with full tables.
func BenchmarkDriftPayload(b *testing.B) {
	d := newTestDrift(Limits{MaxLookupMisses: 1000, MaxConflicts: 1000, MaxKnownIDs: 10000, MaxExamples: 5})
	ps := make([]*normalize.ActionsPayload, 4096)
	for i := range ps {
		ps[i] = seen{session: fmt.Sprintf("s%d", i/3), user: fmt.Sprintf("usr_%d", i), email: fmt.Sprintf("u%d@example.com", i/2), anon: fmt.Sprintf("a%d", i)}.payload()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		d.Payload("posthog-prod", "posthog", ps[i%len(ps)], false, driftT0)
	}
}

// BenchmarkDriftLookupMiss is the cost added to each missed lookup.
func BenchmarkDriftLookupMiss(b *testing.B) {
	d := newTestDrift(Limits{MaxLookupMisses: 1000, MaxConflicts: 1000, MaxKnownIDs: 10000, MaxExamples: 5})
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = fmt.Sprintf("USR_%d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		d.Lookup(ids[i%len(ids)], false, driftT0)
	}
}

// BenchmarkDriftReport is GET /v1/drift over full tables.
func BenchmarkDriftReport(b *testing.B) {
	d := newTestDrift(Limits{MaxLookupMisses: 1000, MaxConflicts: 1000, MaxKnownIDs: 10000, MaxExamples: 5})
	for i := range 10000 {
		feed(d, driftT0, seen{session: fmt.Sprintf("s%d", i/2), user: fmt.Sprintf("usr_%d", i), email: fmt.Sprintf("u%d@example.com", i/2)})
		d.Lookup(fmt.Sprintf("USR_%d", i), false, driftT0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = d.Report(driftT0, 100, nil)
	}
}

// TestDriftForget: erasing a user removes its id from every table (no
// report mentions it, no candidate names it, conflicts it made are gone)
// while the other users' findings and the counts stay.
func TestDriftForget(t *testing.T) {
	d := newTestDrift(Limits{})
	feed(d, driftT0,
		seen{session: "s1", user: "usr_1", email: "erin@example.com", anon: "anon_1"},
		seen{session: "s1", user: "usr_2", email: "erin@example.com"},
		seen{session: "s2", user: "USR_1"},
		seen{session: "s3", user: "usr_1"}, seen{session: "s3", user: "usr_3"}, seen{session: "s3", user: "usr_4"},
		seen{session: "s4", anon: "usr_1"})
	d.Lookup("usr_1", false, driftT0)
	before := d.Report(driftT0, 0, nil)
	if len(before.SessionConflicts) != 2 || len(before.EmailConflicts) != 1 {
		t.Fatalf("before: %d session and %d email conflicts, want 2 and 1", len(before.SessionConflicts), len(before.EmailConflicts))
	}

	if err := d.Forget(context.Background(), " usr_1\t"); err != nil {
		t.Fatal(err)
	}
	rep := d.Report(driftT0, 0, nil)
	raw, _ := json.Marshal(rep)
	if strings.Contains(string(raw), `"usr_1"`) {
		t.Errorf("the report still names usr_1: %s", raw)
	}
	if len(rep.EmailConflicts) != 0 {
		t.Errorf("email conflicts = %+v, want none (usr_2 alone is left)", rep.EmailConflicts)
	}
	if len(rep.SessionConflicts) != 1 || !slices.Equal(rep.SessionConflicts[0].UserIDs, []string{"usr_3", "usr_4"}) {
		t.Errorf("session conflicts = %+v, want s3 with usr_3 and usr_4", rep.SessionConflicts)
	}
	if rep.Totals != before.Totals {
		t.Errorf("totals changed: %+v, were %+v", rep.Totals, before.Totals)
	}
	for id, want := range map[string][]Candidate{
		"erin@example.com": {{UserID: "usr_2", Reason: ReasonEmail}},
		"Usr_1":            {{UserID: "USR_1", Reason: ReasonCase}},
		"anon_1":           {{UserID: "usr_2", Reason: ReasonAnonymousID}}, // seen on s1 before usr_2
	} {
		if got := missOf(t, d, id).Candidates; !slices.Equal(got, want) {
			t.Errorf("candidates of %q = %+v, want %+v", id, got, want)
		}
	}
	if err := d.Forget(context.Background(), "nobody"); err != nil {
		t.Errorf("forgetting an unknown user: %v", err)
	}
}

// Package indextest is the conformance suite of the index stores: one set
// of behaviours every implementation of index.UserIndex, ActivityStore,
// Deduper, Aliases and RejectedLog must show, whatever keeps its data (the
// memory stores of package index, the Redis stores of index/redisstore).
//
// Each Run function takes a constructor that returns a new, empty store
// with the given bounds; it is called once per case (in the case's own
// *testing.T), so implementations backed by a shared server must give each
// store its own namespace. The suite passes times explicitly (a fixed clock
// moved by the cases): no case sleeps or depends on the wall clock, so a
// store must judge ages by the now it is given. Bounds by count (LRU) are
// not part of the suite: they are the memory stores' own; a remote store
// bounds its memory with key TTLs.
package indextest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/normalize"
)

// t0 is the suite's server clock; case times are seconds from it.
func t0() time.Time { return time.Unix(1_741_900_000, 0) }

// at is t0 moved by offset seconds.
func at(offset float64) time.Time { return t0().Add(time.Duration(offset * float64(time.Second))) }

// secs is at(offset) as float unix seconds, computed as the stores do.
func secs(offset float64) float64 { return float64(at(offset).UnixNano()) / 1e9 }

// NewUsers returns a new, empty UserIndex bounded by l. MaxUsers is always
// large enough for the case.
type NewUsers func(t *testing.T, l index.UserLimits) index.UserIndex

// NewActivity returns a new, empty ActivityStore keeping at most
// maxActionsPerSession actions per session (and room for every session the
// case writes).
type NewActivity func(t *testing.T, maxActionsPerSession int) index.ActivityStore

// NewDedupe returns a new, empty Deduper with that window (<= 0: none) and
// room for every key the case claims.
type NewDedupe func(t *testing.T, window time.Duration) index.Deduper

// NewAliases returns new, empty Aliases with that ttl (<= 0: none) and
// room for every id the case remembers.
type NewAliases func(t *testing.T, ttl time.Duration) index.Aliases

// NewRejected returns a new, empty RejectedLog keeping at most limit entries.
type NewRejected func(t *testing.T, limit int) index.RejectedLog

// link is one Link call: user, email, the ref, and the server clock (s
// from t0).
type link struct {
	user, email, session, product string
	seen                          float64 // ref.LastSeenAt, s from t0 (NaN and ±Inf as they are)
	now                           float64
}

func (l link) ref() index.SessionRef {
	r := index.SessionRef{SessionID: l.session, ProductID: l.product, LastSeenAt: secs(l.seen)}
	if math.IsNaN(l.seen) || math.IsInf(l.seen, 0) {
		r.LastSeenAt = l.seen
	}
	return r
}

func ref(session, product string, seen float64) index.SessionRef {
	return index.SessionRef{SessionID: session, ProductID: product, LastSeenAt: secs(seen)}
}

// suiteLimits are the users' bounds unless a case says otherwise.
func suiteLimits() index.UserLimits {
	return index.UserLimits{Lookback: 300 * time.Second, MaxSessionsPerUser: 3, MaxUsers: 1000}
}

// RunUsers checks a UserIndex against semantics §4–§5: refs unique per
// (product_id, session_id), newest first (the latest link first on equal
// times), capped per user, dropped past the lookback on read and write,
// last_seen_at clamped to now and never moving backwards, ids trimmed with
// case kept, the email kept with its user and forgotten on Forget, reads
// never creating entries, concurrent links losing nothing.
func RunUsers(t *testing.T, newUsers NewUsers) {
	t.Run("Semantics", func(t *testing.T) { usersSemantics(t, newUsers) })
	t.Run("Products", func(t *testing.T) { usersAcrossProducts(t, newUsers) })
	t.Run("UnknownUserLookupCreatesNothing", func(t *testing.T) {
		ctx := context.Background()
		u := newUsers(t, suiteLimits())
		must(t, u.Link(ctx, "a", "", ref("s", "p", 0), t0()))
		for _, id := range []string{"b", "A", "a ", "", "  ", "{a}", strings.Repeat("x", 300)} {
			if _, ok, err := u.Lookup(ctx, id, t0()); err != nil || ok != (id == "a ") {
				t.Fatalf("Lookup(%q) = %v, %v", id, ok, err)
			}
		}
		if n := u.Len(); n != 1 {
			t.Fatalf("Len = %d after lookups of unknown users, want 1", n)
		}
	})
	t.Run("LookupReturnsACopy", func(t *testing.T) {
		ctx := context.Background()
		u := newUsers(t, suiteLimits())
		must(t, u.Link(ctx, "a", "a@x.io", ref("s1", "p", -2), t0()))
		must(t, u.Link(ctx, "a", "", ref("s2", "p", -1), t0()))
		want, _, _ := u.Lookup(ctx, "a", t0())
		got, _, _ := u.Lookup(ctx, "a", t0())
		got.Sessions[0].SessionID = "changed"
		got.Sessions = append(got.Sessions[:1], got.Sessions[0])
		if again, _, _ := u.Lookup(ctx, "a", t0()); !reflect.DeepEqual(again, want) {
			t.Fatalf("the index changed through a copy: %+v, want %+v", again, want)
		}
	})
	t.Run("Forget", func(t *testing.T) {
		ctx := context.Background()
		u := newUsers(t, suiteLimits())
		must(t, u.Link(ctx, "a", "a@x.io", ref("s1", "p", 0), t0()))
		must(t, u.Link(ctx, "b", "b@x.io", ref("s1", "p", 0), t0()))
		for _, tc := range []struct {
			id   string
			want bool
		}{{" a\t", true}, {"a", false}, {"unknown", false}, {"", false}} {
			if _, got, err := u.Forget(ctx, tc.id); err != nil || got != tc.want {
				t.Fatalf("Forget(%q) = %v, %v; want %v", tc.id, got, err, tc.want)
			}
		}
		if _, ok, _ := u.Lookup(ctx, "a", t0()); ok {
			t.Fatal("a forgotten user is still found")
		}
		if got, ok, _ := u.Lookup(ctx, "b", t0()); !ok || got.EmailFor("p") != "b@x.io" {
			t.Fatalf("another user was touched: %+v, %v", got, ok)
		}
		must(t, u.Link(ctx, "a", "", ref("s2", "p", 0), t0()))
		if got, _, _ := u.Lookup(ctx, "a", t0()); len(got.Emails) != 0 || len(got.Sessions) != 1 {
			t.Fatalf("Forget kept something: %+v", got)
		}
		if n := u.Len(); n != 2 {
			t.Fatalf("Len = %d, want 2", n)
		}
	})
	t.Run("EmailDiesWithTheUser", func(t *testing.T) {
		ctx := context.Background()
		u := newUsers(t, suiteLimits())
		must(t, u.Link(ctx, "a", "a@x.io", ref("s1", "p", 0), t0()))
		if _, ok, _ := u.Lookup(ctx, "a", at(301)); ok {
			t.Fatal("an expired user is found")
		}
		must(t, u.Link(ctx, "a", "", ref("s2", "p", 400), at(400)))
		if got, _, _ := u.Lookup(ctx, "a", at(400)); len(got.Emails) != 0 {
			t.Fatalf("the email outlived its user: %+v", got)
		}
	})
	t.Run("HostileIDs", func(t *testing.T) {
		ctx := context.Background()
		u := newUsers(t, index.UserLimits{Lookback: time.Hour, MaxSessionsPerUser: 10, MaxUsers: 1000})
		ids := hostileIDs()
		for i, id := range ids {
			for j, other := range ids {
				must(t, u.Link(ctx, id, fmt.Sprint(i, "@x.io"), ref(other, id, float64(-i-j)), t0()))
			}
		}
		for i, id := range ids {
			got, ok, err := u.Lookup(ctx, id, t0())
			if err != nil || !ok || got.EmailFor(id) != fmt.Sprint(i, "@x.io") || len(got.Sessions) != min(len(ids), 10) {
				t.Fatalf("Lookup(%q) = %+v, %v, %v", id, got, ok, err)
			}
			for j, r := range got.Sessions {
				if r.ProductID != id || r.SessionID != ids[j] || r.LastSeenAt != secs(float64(-i-j)) {
					t.Fatalf("Lookup(%q) ref %d = %+v, want session %q of product %q", id, j, r, ids[j], id)
				}
			}
		}
		if n := u.Len(); n != len(ids) {
			t.Fatalf("Len = %d, want %d", n, len(ids))
		}
	})
	t.Run("ConcurrentLinksLoseNothing", func(t *testing.T) {
		ctx := context.Background()
		const writers, each = 8, 25
		u := newUsers(t, index.UserLimits{Lookback: time.Hour, MaxSessionsPerUser: writers * each, MaxUsers: 1000})
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					email := fmt.Sprint("w", w, "@x.io")
					if err := u.Link(ctx, "shared", email, ref(fmt.Sprint("w", w, "-s", i), "p", -float64(i)), t0()); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got, ok, err := u.Lookup(ctx, "shared", t0())
		if err != nil || !ok || len(got.Sessions) != writers*each {
			t.Fatalf("Lookup = %d refs, %v, %v; want %d: a concurrent link was lost", len(got.Sessions), ok, err, writers*each)
		}
		if !strings.HasSuffix(got.EmailFor("p"), "@x.io") {
			t.Fatalf("emails = %v", got.Emails)
		}
	})
}

func usersSemantics(t *testing.T, newUsers NewUsers) {
	for _, tc := range []struct {
		name   string
		limits index.UserLimits
		links  []link
		lookup string
		now    float64 // lookup time, s from t0
		want   index.User
		ok     bool
		len    int // users held after the lookup
	}{
		{name: "refs newest first",
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: -30},
				{user: "u1", session: "s2", product: "p", seen: -10},
				{user: "u1", session: "s3", product: "p", seen: -20},
			},
			lookup: "u1", want: index.User{Sessions: []index.SessionRef{ref("s2", "p", -10), ref("s3", "p", -20), ref("s1", "p", -30)}}, ok: true, len: 1},
		{name: "per-user cap keeps the newest, whatever the link order",
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: -10},
				{user: "u1", session: "s2", product: "p", seen: -5},
				{user: "u1", session: "s3", product: "p", seen: -7},
				{user: "u1", session: "s4", product: "p", seen: -50},
				{user: "u1", session: "s5", product: "p", seen: -1},
			},
			lookup: "u1", want: index.User{Sessions: []index.SessionRef{ref("s5", "p", -1), ref("s2", "p", -5), ref("s3", "p", -7)}}, ok: true, len: 1},
		{name: "the cap drops the earliest linked of equal times",
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: -5},
				{user: "u1", session: "s2", product: "p", seen: -5},
				{user: "u1", session: "s3", product: "p", seen: -5},
				{user: "u1", session: "s4", product: "p", seen: -5},
			},
			lookup: "u1", want: index.User{Sessions: []index.SessionRef{ref("s4", "p", -5), ref("s3", "p", -5), ref("s2", "p", -5)}}, ok: true, len: 1},
		{name: "a ref exactly lookback old is kept",
			links:  []link{{user: "u1", session: "s1", product: "p", seen: 0}},
			lookup: "u1", now: 300, want: index.User{Sessions: []index.SessionRef{ref("s1", "p", 0)}}, ok: true, len: 1},
		{name: "expired on read: the user is gone and removed",
			links:  []link{{user: "u1", email: "a@x.io", session: "s1", product: "p", seen: 0}},
			lookup: "u1", now: 301, ok: false, len: 0},
		{name: "expired refs are dropped on read, live ones kept",
			links: []link{
				{user: "u1", session: "old", product: "p", seen: -200},
				{user: "u1", session: "new", product: "p", seen: 0},
			},
			lookup: "u1", now: 200, want: index.User{Sessions: []index.SessionRef{ref("new", "p", 0)}}, ok: true, len: 1},
		{name: "expired refs are dropped on write",
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: 0},
				{user: "u1", session: "s2", product: "p", seen: 400, now: 400},
			},
			lookup: "u1", now: 400, want: index.User{Sessions: []index.SessionRef{ref("s2", "p", 400)}}, ok: true, len: 1},
		{name: "an expired ref does not hold a place under the cap",
			limits: index.UserLimits{Lookback: 300 * time.Second, MaxSessionsPerUser: 2, MaxUsers: 1000},
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: 0},
				{user: "u1", session: "s2", product: "p", seen: 250, now: 250},
				{user: "u1", session: "s3", product: "p", seen: 350, now: 350},
			},
			lookup: "u1", now: 350, want: index.User{Sessions: []index.SessionRef{ref("s3", "p", 350), ref("s2", "p", 250)}}, ok: true, len: 1},
		{name: "an already expired ref creates no user",
			links:  []link{{user: "u1", email: "a@x.io", session: "s1", product: "p", seen: -301}},
			lookup: "u1", ok: false, len: 0},
		{name: "an expired link does not revive an old ref or add itself",
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: 0},
				{user: "u1", session: "s2", product: "p", seen: -400},
			},
			lookup: "u1", want: index.User{Sessions: []index.SessionRef{ref("s1", "p", 0)}}, ok: true, len: 1},
		{name: "a future time is clamped to the server clock",
			links:  []link{{user: "u1", session: "s1", product: "p", seen: 3600}},
			lookup: "u1", want: index.User{Sessions: []index.SessionRef{ref("s1", "p", 0)}}, ok: true, len: 1},
		{name: "a clamped future ref expires like any other",
			links:  []link{{user: "u1", session: "s1", product: "p", seen: 1e12}},
			lookup: "u1", now: 301, ok: false, len: 0},
		{name: "an infinite time is clamped too",
			links:  []link{{user: "u1", session: "s1", product: "p", seen: math.Inf(1)}},
			lookup: "u1", want: index.User{Sessions: []index.SessionRef{ref("s1", "p", 0)}}, ok: true, len: 1},
		{name: "a NaN time is ignored",
			links:  []link{{user: "u1", session: "s1", product: "p", seen: math.NaN()}},
			lookup: "u1", ok: false, len: 0},
		{name: "fractions of a second are kept exactly",
			links:  []link{{user: "u1", session: "s1", product: "p", seen: -0.123456789}},
			lookup: "u1", want: index.User{Sessions: []index.SessionRef{ref("s1", "p", -0.123456789)}}, ok: true, len: 1},
		{name: "last_seen_at never moves backwards",
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: -10},
				{user: "u1", session: "s2", product: "p", seen: -20},
				{user: "u1", session: "s1", product: "p", seen: -50},
			},
			lookup: "u1", want: index.User{Sessions: []index.SessionRef{ref("s1", "p", -10), ref("s2", "p", -20)}}, ok: true, len: 1},
		{name: "a newer time moves the ref forward and to the front",
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: -50},
				{user: "u1", session: "s2", product: "p", seen: -20},
				{user: "u1", session: "s1", product: "p", seen: -5},
			},
			lookup: "u1", want: index.User{Sessions: []index.SessionRef{ref("s1", "p", -5), ref("s2", "p", -20)}}, ok: true, len: 1},
		{name: "on equal times the latest link comes first",
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: -5},
				{user: "u1", session: "s2", product: "p", seen: -5},
			},
			lookup: "u1", want: index.User{Sessions: []index.SessionRef{ref("s2", "p", -5), ref("s1", "p", -5)}}, ok: true, len: 1},
		{name: "relinking at an older time moves a ref ahead of its equals",
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: -5},
				{user: "u1", session: "s2", product: "p", seen: -5},
				{user: "u1", session: "s1", product: "p", seen: -9},
			},
			lookup: "u1", want: index.User{Sessions: []index.SessionRef{ref("s1", "p", -5), ref("s2", "p", -5)}}, ok: true, len: 1},
		{name: "one session id in two products is two refs",
			links: []link{
				{user: "u1", session: "s1", product: "p1", seen: -10},
				{user: "u1", session: "s1", product: "p2", seen: -5},
				{user: "u1", session: "s1", product: "p1", seen: -1},
			},
			lookup: "u1", want: index.User{Sessions: []index.SessionRef{ref("s1", "p1", -1), ref("s1", "p2", -5)}}, ok: true, len: 1},
		{name: "product and session ids never run into each other",
			links: []link{
				{user: "u1", session: "bc", product: "a", seen: -10},
				{user: "u1", session: "c", product: "ab", seen: -5},
			},
			lookup: "u1", want: index.User{Sessions: []index.SessionRef{ref("c", "ab", -5), ref("bc", "a", -10)}}, ok: true, len: 1},
		{name: "an empty product id is a product of its own",
			links: []link{
				{user: "u1", session: "s1", product: "", seen: -10},
				{user: "u1", session: "s1", product: "p", seen: -5},
			},
			lookup: "u1", want: index.User{Sessions: []index.SessionRef{ref("s1", "p", -5), ref("s1", "", -10)}}, ok: true, len: 1},
		{name: "ids are trimmed on write",
			links: []link{
				{user: " u1\t", email: " a@x.io ", session: "\ns1 ", product: " p ", seen: -10},
				{user: "u1", session: "s1", product: "p", seen: -5},
			},
			lookup: "u1", want: index.User{Emails: emails("p", "a@x.io"), Sessions: []index.SessionRef{ref("s1", "p", -5)}}, ok: true, len: 1},
		{name: "ids are trimmed on read",
			links:  []link{{user: "u1", session: "s1", product: "p", seen: -10}},
			lookup: " \tu1\r\n", want: index.User{Sessions: []index.SessionRef{ref("s1", "p", -10)}}, ok: true, len: 1},
		{name: "case is kept",
			links:  []link{{user: "u1", session: "s1", product: "p", seen: -10}},
			lookup: "U1", ok: false, len: 1},
		{name: "an empty user id is a no-op",
			links: []link{
				{user: "", session: "s1", product: "p", seen: -10},
				{user: " \t", session: "s1", product: "p", seen: -10},
			},
			lookup: "", ok: false, len: 0},
		{name: "an empty session id is a no-op",
			links:  []link{{user: "u1", email: "a@x.io", session: "  ", product: "p", seen: -10}},
			lookup: "u1", ok: false, len: 0},
		{name: "the email is remembered and replaced by a non-empty one",
			links: []link{
				{user: "u1", email: "old@x.io", session: "s1", product: "p", seen: -10},
				{user: "u1", email: "new@x.io", session: "s2", product: "p", seen: -9},
				{user: "u1", email: "", session: "s3", product: "p", seen: -8},
				{user: "u1", email: "  ", session: "s3", product: "p", seen: -7},
			},
			lookup: "u1", want: index.User{Emails: emails("p", "new@x.io"), Sessions: []index.SessionRef{ref("s3", "p", -7), ref("s2", "p", -9), ref("s1", "p", -10)}}, ok: true, len: 1},
		{name: "an expired link still updates the email of a live user",
			links: []link{
				{user: "u1", email: "old@x.io", session: "s1", product: "p", seen: -10},
				{user: "u1", email: "new@x.io", session: "s2", product: "p", seen: -400},
			},
			lookup: "u1", want: index.User{Emails: emails("p", "new@x.io"), Sessions: []index.SessionRef{ref("s1", "p", -10)}}, ok: true, len: 1},
		{name: "no lookback: refs never expire",
			limits: index.UserLimits{MaxSessionsPerUser: 2, MaxUsers: 1000},
			links:  []link{{user: "u1", session: "s1", product: "p", seen: -1e6}},
			lookup: "u1", now: 1e6, want: index.User{Sessions: []index.SessionRef{ref("s1", "p", -1e6)}}, ok: true, len: 1},
		{name: "a cap below 1 is taken as 1",
			limits: index.UserLimits{Lookback: time.Hour, MaxUsers: 1000},
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: -2},
				{user: "u1", session: "s2", product: "p", seen: -1},
			},
			lookup: "u1", want: index.User{Sessions: []index.SessionRef{ref("s2", "p", -1)}}, ok: true, len: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			limits := tc.limits
			if limits == (index.UserLimits{}) {
				limits = suiteLimits()
			}
			u := newUsers(t, limits)
			for _, l := range tc.links {
				if err := u.Link(ctx, l.user, l.email, l.ref(), at(l.now)); err != nil {
					t.Fatalf("Link: %v", err)
				}
			}
			got, ok, err := u.Lookup(ctx, tc.lookup, at(tc.now))
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if ok != tc.ok || !sameUser(got, tc.want) {
				t.Fatalf("Lookup(%q) = %+v, %v; want %+v, %v", tc.lookup, got, ok, tc.want, tc.ok)
			}
			if n := u.Len(); n != tc.len {
				t.Fatalf("Len = %d after the lookup, want %d", n, tc.len)
			}
		})
	}
}

// hostileIDs are ids that could break a store's key structure.
func hostileIDs() []string {
	return []string{
		"plain", "{tag}", "}{", "a:b", "u:{x}", "*", "?[a-z]", "\\", "%2F..%2F", "with space",
		"\x00nul", "é-ünïcode", "line\nbreak", "\xff\xfe", strings.Repeat("long", 100),
	}
}

// RunActivity checks an ActivityStore: actions kept in arrival order,
// stamped with their payload's time, only the newest per session, the last
// non-empty user id and email, the latest summary, sessions keyed by
// (product, session) with ids trimmed, no session-less writes, isolation
// from writers and readers, reads never creating sessions, concurrent
// writers losing nothing.
func RunActivity(t *testing.T, newActivity NewActivity) {
	t.Run("AddAndGet", func(t *testing.T) { activityAddAndGet(t, newActivity) })
	t.Run("EraseUser", func(t *testing.T) { activityEraseUser(t, newActivity) })
	t.Run("Keys", func(t *testing.T) {
		ctx := context.Background()
		a := newActivity(t, 10)
		must(t, a.AddActions(ctx, index.SessionKey{ProductID: " p1 ", SessionID: "\ts1 "}, payload("", "", "in p1"), 1))
		must(t, a.AddActions(ctx, index.SessionKey{ProductID: "p2", SessionID: "s1"}, payload("", "", "in p2"), 1))
		must(t, a.SetSummary(ctx, index.SessionKey{ProductID: "", SessionID: "s1"}, "no product", 1))
		for _, tc := range []struct {
			key  index.SessionKey
			want []string // nil: not found
		}{
			{index.SessionKey{ProductID: "p1", SessionID: "s1"}, []string{"in p1"}},
			{index.SessionKey{ProductID: " p1", SessionID: "s1\n"}, []string{"in p1"}}, // trimmed on read
			{index.SessionKey{ProductID: "p2", SessionID: "s1"}, []string{"in p2"}},    // same session id, other product
			{index.SessionKey{ProductID: "", SessionID: "s1"}, []string{}},             // the empty product is a product
			{index.SessionKey{ProductID: "P1", SessionID: "s1"}, nil},                  // case kept
			{index.SessionKey{ProductID: "p1", SessionID: ""}, nil},
			{index.SessionKey{ProductID: "p1", SessionID: "unknown"}, nil},
			{index.SessionKey{ProductID: "p1:s", SessionID: "1"}, nil},
		} {
			s, ok, err := a.Get(ctx, tc.key)
			if err != nil || ok != (tc.want != nil) || (ok && !reflect.DeepEqual(descs(s), tc.want)) {
				t.Errorf("Get(%+v) = %v, %v, %v; want %v", tc.key, descs(s), ok, err, tc.want)
			}
			if ok && (s.ProductID != strings.TrimSpace(tc.key.ProductID) || s.SessionID != strings.TrimSpace(tc.key.SessionID)) {
				t.Errorf("Get(%+v) names %q/%q", tc.key, s.ProductID, s.SessionID)
			}
		}
		if n := a.Len(); n != 3 {
			t.Fatalf("Len = %d after reads, want 3: reads never create sessions", n)
		}
	})
	t.Run("HostileIDs", func(t *testing.T) {
		ctx := context.Background()
		a := newActivity(t, 10)
		ids := hostileIDs()
		for _, p := range ids {
			for _, s := range ids {
				must(t, a.AddActions(ctx, index.SessionKey{ProductID: p, SessionID: s}, payload(p, "", p+"|"+s), 1))
			}
		}
		for _, p := range ids {
			for _, s := range ids {
				got, ok, err := a.Get(ctx, index.SessionKey{ProductID: p, SessionID: s})
				want := strings.TrimSpace(p) + "|" + strings.TrimSpace(s)
				if err != nil || !ok || len(got.Actions) != 1 || got.Actions[0].Description != p+"|"+s {
					t.Fatalf("Get(%q, %q) = %v, %v, %v; want one action %q", p, s, descs(got), ok, err, want)
				}
			}
		}
	})
	t.Run("RefusesSessionlessWrites", func(t *testing.T) {
		ctx := context.Background()
		a := newActivity(t, 10)
		for _, sid := range []string{"", "  ", "\t\n"} {
			key := index.SessionKey{ProductID: "p", SessionID: sid}
			if err := a.AddActions(ctx, key, payload("u1", "", "a"), 1); !errors.Is(err, index.ErrNoSession) {
				t.Errorf("AddActions(session %q) = %v, want ErrNoSession", sid, err)
			}
			if err := a.SetSummary(ctx, key, "s", 1); !errors.Is(err, index.ErrNoSession) {
				t.Errorf("SetSummary(session %q) = %v, want ErrNoSession", sid, err)
			}
		}
		if n := a.Len(); n != 0 {
			t.Fatalf("Len = %d, want 0", n)
		}
	})
	t.Run("Isolation", func(t *testing.T) {
		ctx := context.Background()
		a := newActivity(t, 10)
		key := index.SessionKey{ProductID: "p", SessionID: "s1"}
		p := payload("u1", "a@x.io", "a", "b")
		must(t, a.AddActions(ctx, key, p, 1))
		want, _, _ := a.Get(ctx, key)

		*p.Actions[0].UserID = "writer changed it"
		p.Actions[1].Description = "writer changed it"
		*p.UserID = "writer changed it"

		got, _, _ := a.Get(ctx, key)
		*got.Actions[0].UserID = "reader changed it"
		*got.Actions[1].SessionID = "reader changed it"
		got.Actions[0].Description = "reader changed it"
		got.Actions = append(got.Actions[:1], got.Actions[0])

		if again, _, _ := a.Get(ctx, key); !reflect.DeepEqual(again, want) {
			t.Fatalf("store changed through a payload or a copy:\n%+v\nwant\n%+v", again, want)
		}
		if *want.Actions[0].UserID != "u1" || *want.Actions[1].Email != "a@x.io" || *want.Actions[0].SessionID != "s1" {
			t.Fatalf("pointer fields not kept: %+v", want.Actions[0])
		}
	})
	t.Run("ActionsRoundTrip", func(t *testing.T) {
		ctx := context.Background()
		a := newActivity(t, 10)
		key := index.SessionKey{ProductID: "p", SessionID: "s1"}
		act := normalize.SlimAction{
			Index: 7, Type: "submit", Title: "Checkout — «pay»", Description: "Submitted <form> \"pay\"\n\ttab",
			TimestampStart: 1741899999.123456, TimestampEnd: 1741899999.654321,
			RawURL: "https://x.example/pay?token=abc&x=1#frag", CanonicalURL: "https://x.example/pay",
			SessionID: normalize.OptStr("s1"), UserID: normalize.OptStr("u1"),
		}
		must(t, a.AddActions(ctx, key, &normalize.ActionsPayload{Actions: []normalize.SlimAction{act}}, 1741899999.654321))
		s, ok, err := a.Get(ctx, key)
		if err != nil || !ok || len(s.Actions) != 1 {
			t.Fatalf("Get = %+v, %v, %v", s, ok, err)
		}
		if want := (index.StoredAction{SlimAction: act, At: 1741899999.654321}); !reflect.DeepEqual(s.Actions[0], want) {
			t.Fatalf("action = %+v\nwant %+v", s.Actions[0], want)
		}
		if s.LastAt != 1741899999.654321 {
			t.Fatalf("LastAt = %v", s.LastAt)
		}
	})
	t.Run("ConcurrentWritersLoseNothing", func(t *testing.T) {
		ctx := context.Background()
		const writers, each = 8, 20
		a := newActivity(t, writers*each)
		key := index.SessionKey{ProductID: "p", SessionID: "shared"}
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					if err := a.AddActions(ctx, key, payload("u1", "", fmt.Sprint(w, "-", i)), float64(i)); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		s, ok, err := a.Get(ctx, key)
		if err != nil || !ok || len(s.Actions) != writers*each {
			t.Fatalf("Get = %d actions, %v, %v; want %d: a concurrent write was lost", len(s.Actions), ok, err, writers*each)
		}
		seen := map[string]bool{}
		for _, act := range s.Actions {
			seen[act.Description] = true
		}
		if len(seen) != writers*each || s.LastAt != each-1 {
			t.Fatalf("%d distinct actions, LastAt %v", len(seen), s.LastAt)
		}
	})
}

// payload builds an ActionsPayload with one action per description; each
// action's Index is its position in the batch and carries the batch's ids.
func payload(user, email string, descs ...string) *normalize.ActionsPayload {
	p := &normalize.ActionsPayload{Type: "actions", ProductID: "p", UserID: normalize.OptStr(user), Email: normalize.OptStr(email)}
	for i, d := range descs {
		p.Actions = append(p.Actions, normalize.SlimAction{
			Index: i, Type: "click", Description: d, CanonicalURL: "https://x.example/" + d,
			SessionID: normalize.OptStr("s1"), UserID: normalize.OptStr(user), Email: normalize.OptStr(email),
		})
	}
	return p
}

// descs lists the descriptions of a session's actions, oldest first.
func descs(s index.Session) []string {
	out := []string{}
	for _, a := range s.Actions {
		out = append(out, a.Description)
	}
	return out
}

func activityAddAndGet(t *testing.T, newActivity NewActivity) {
	type add struct {
		p       *normalize.ActionsPayload
		at      float64
		summary *string // SetSummary instead of AddActions when set
	}
	summary := func(s string) *string { return &s }
	for _, tc := range []struct {
		name       string
		perSession int
		adds       []add
		wantDescs  []string
		wantAts    []float64
		want       index.Session // identity, summary, LastAt
	}{
		{name: "actions in arrival order, stamped with their payload's time",
			perSession: 10,
			adds:       []add{{p: payload("u1", "a@x.io", "a", "b"), at: 100}, {p: payload("u1", "", "c"), at: 90}},
			wantDescs:  []string{"a", "b", "c"}, wantAts: []float64{100, 100, 90},
			want: index.Session{UserID: "u1", Email: "a@x.io", LastAt: 100}},
		{name: "only the newest actions are kept, across payloads",
			perSession: 3,
			adds: []add{
				{p: payload("", "", "a", "b"), at: 1},
				{p: payload("", "", "c", "d"), at: 2},
				{p: payload("", "", "e"), at: 3},
			},
			wantDescs: []string{"c", "d", "e"}, wantAts: []float64{2, 2, 3},
			want: index.Session{LastAt: 3}},
		{name: "the bound holds over many writes",
			perSession: 2,
			adds: []add{
				{p: payload("", "", "a"), at: 1}, {p: payload("", "", "b"), at: 2}, {p: payload("", "", "c"), at: 3},
				{p: payload("", "", "d"), at: 4}, {p: payload("", "", "e"), at: 5},
			},
			wantDescs: []string{"d", "e"}, wantAts: []float64{4, 5},
			want: index.Session{LastAt: 5}},
		{name: "a payload larger than the bound keeps its newest actions",
			perSession: 2,
			adds:       []add{{p: payload("", "", "a"), at: 1}, {p: payload("", "", "b", "c", "d"), at: 2}},
			wantDescs:  []string{"c", "d"}, wantAts: []float64{2, 2},
			want: index.Session{LastAt: 2}},
		{name: "a bound below 1 is taken as 1",
			perSession: 0,
			adds:       []add{{p: payload("", "", "a", "b"), at: 1}},
			wantDescs:  []string{"b"}, wantAts: []float64{1},
			want: index.Session{LastAt: 1}},
		{name: "the last non-empty user id and email win",
			perSession: 10,
			adds: []add{
				{p: payload("anon-1", "", "a"), at: 1},
				{p: payload("u1", "a@x.io", "b"), at: 2},
				{p: payload("", "", "c"), at: 3},
				{p: payload("  ", " ", "d"), at: 4},
			},
			wantDescs: []string{"a", "b", "c", "d"}, wantAts: []float64{1, 2, 3, 4},
			want: index.Session{UserID: "u1", Email: "a@x.io", LastAt: 4}},
		{name: "user id and email are trimmed",
			perSession: 10,
			adds:       []add{{p: payload(" u1\t", " a@x.io ", "a"), at: 1}},
			wantDescs:  []string{"a"}, wantAts: []float64{1},
			want: index.Session{UserID: "u1", Email: "a@x.io", LastAt: 1}},
		{name: "the latest summary replaces the previous one",
			perSession: 10,
			adds: []add{
				{summary: summary("first"), at: 5},
				{p: payload("", "", "a"), at: 3},
				{summary: summary("second"), at: 4},
			},
			wantDescs: []string{"a"}, wantAts: []float64{3},
			want: index.Session{Summary: "second", LastAt: 5}},
		{name: "a summary alone makes a session",
			perSession: 10,
			adds:       []add{{summary: summary("Exported a CSV."), at: 5}},
			wantDescs:  []string{}, wantAts: []float64{},
			want: index.Session{Summary: "Exported a CSV.", LastAt: 5}},
		{name: "a payload without actions still records its identity",
			perSession: 10,
			adds:       []add{{p: payload("u1", ""), at: 7}},
			wantDescs:  []string{}, wantAts: []float64{},
			want: index.Session{UserID: "u1", LastAt: 7}},
		{name: "a nil payload only touches the session",
			perSession: 10,
			adds:       []add{{p: nil, at: 7}},
			wantDescs:  []string{}, wantAts: []float64{},
			want: index.Session{LastAt: 7}},
		{name: "unusable times are stored as 0",
			perSession: 10,
			adds: []add{
				{p: payload("", "", "nan"), at: math.NaN()}, {p: payload("", "", "inf"), at: math.Inf(1)},
				{p: payload("", "", "neg"), at: -5},
			},
			wantDescs: []string{"nan", "inf", "neg"}, wantAts: []float64{0, 0, 0},
			want: index.Session{LastAt: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			key := index.SessionKey{ProductID: "p", SessionID: "s1"}
			a := newActivity(t, tc.perSession)
			for _, ad := range tc.adds {
				var err error
				if ad.summary != nil {
					err = a.SetSummary(ctx, key, *ad.summary, ad.at)
				} else {
					err = a.AddActions(ctx, key, ad.p, ad.at)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			s, ok, err := a.Get(ctx, key)
			if !ok || err != nil {
				t.Fatalf("Get = %v, %v; want the session", ok, err)
			}
			ats := []float64{}
			for _, act := range s.Actions {
				ats = append(ats, act.At)
			}
			if !reflect.DeepEqual(descs(s), tc.wantDescs) || !reflect.DeepEqual(ats, tc.wantAts) {
				t.Fatalf("actions %v at %v, want %v at %v", descs(s), ats, tc.wantDescs, tc.wantAts)
			}
			s.Actions = nil
			want := tc.want
			want.ProductID, want.SessionID = "p", "s1"
			if !reflect.DeepEqual(s, want) {
				t.Fatalf("session = %+v, want %+v", s, want)
			}
		})
	}
}

// RunDedupe checks a Deduper: a stored (claimed, then confirmed) key is
// Seen within the window (ages judged by the given now, the window
// inclusive) and new after it; keys are compared exactly; claiming a seen
// key does not extend its window; a claimed key not yet confirmed is
// InFlight, lapses after index.ClaimLease and is new again once released;
// a confirmed key survives Release; any bytes work as a key; concurrent
// Claims of one key have exactly one winner.
func RunDedupe(t *testing.T, newDedupe NewDedupe) {
	t.Run("SourcesAreSeparate", func(t *testing.T) { dedupeSources(t, newDedupe) })
	const (
		store   = "store"   // Claim (want Claimed) then Confirm, at the same time
		claim   = "claim"   // Claim only: want is the state
		confirm = "confirm" // Confirm only
		release = "release" // Release only
	)
	type step struct {
		op    string
		key   string
		after time.Duration // from t0
		want  index.ClaimState
	}
	const sec, ms, ns = time.Second, time.Millisecond, time.Nanosecond
	lease := index.ClaimLease
	huge := strings.Repeat("x", 1<<20)
	seen, claimed, inFlight := index.Seen, index.Claimed, index.InFlight
	for _, tc := range []struct {
		name   string
		window time.Duration
		steps  []step
	}{
		{"a stored key is seen", time.Minute, []step{
			{op: store, key: "d1"}, {op: claim, key: "d1", after: sec, want: seen}, {op: store, key: "d2", after: sec},
		}},
		{"keys are compared exactly", time.Minute, []step{
			{op: store, key: "d1"}, {op: store, key: "D1"}, {op: store, key: " d1"}, {op: store, key: ""}, {op: claim, key: "", want: seen},
		}},
		{"any bytes are a key", time.Minute, []step{
			{op: store, key: "src\x00id\x00{x}*"}, {op: store, key: "src\x00id\x00{x}"}, {op: claim, key: "src\x00id\x00{x}*", want: seen},
			{op: store, key: "\xff\xfe"}, {op: store, key: huge}, {op: claim, key: huge, want: seen}, {op: store, key: huge[1:]},
		}},
		{"seen until exactly the window, new after it", time.Minute, []step{
			{op: store, key: "d1"}, {op: claim, key: "d1", after: 60 * sec, want: seen}, {op: store, key: "d1", after: 60*sec + ms}, {op: claim, key: "d1", after: 61 * sec, want: seen},
		}},
		{"the window is exact to the nanosecond", time.Minute, []step{
			{op: store, key: "d1", after: 500 * ms}, {op: claim, key: "d1", after: 60*sec + 500*ms, want: seen}, {op: store, key: "d1", after: 60*sec + 500*ms + ns},
		}},
		{"claiming a seen key does not extend its window", time.Minute, []step{
			{op: store, key: "d1"}, {op: claim, key: "d1", after: 50 * sec, want: seen}, {op: store, key: "d1", after: 70 * sec},
		}},
		{"the window starts when the key is confirmed", time.Minute, []step{
			{op: claim, key: "d1", want: claimed}, {op: confirm, key: "d1", after: 10 * sec},
			{op: claim, key: "d1", after: 70 * sec, want: seen}, {op: store, key: "d1", after: 70*sec + ms},
		}},
		{"confirming twice does not extend the window", time.Minute, []step{
			{op: store, key: "d1"}, {op: confirm, key: "d1", after: 30 * sec}, {op: store, key: "d1", after: 60*sec + ms},
		}},
		{"a claimed key is in flight, not seen, until confirmed", time.Minute, []step{
			{op: claim, key: "d1", want: claimed}, {op: claim, key: "d1", after: sec, want: inFlight}, {op: claim, key: "d1", after: 2 * sec, want: inFlight},
			{op: confirm, key: "d1", after: 3 * sec}, {op: claim, key: "d1", after: 4 * sec, want: seen},
		}},
		{"an unconfirmed claim lapses after the lease", time.Hour, []step{
			{op: claim, key: "d1", want: claimed}, {op: claim, key: "d1", after: lease, want: inFlight},
			{op: claim, key: "d1", after: lease + ms, want: claimed}, {op: claim, key: "d1", after: lease + 2*ms, want: inFlight},
		}},
		{"release makes a claimed key new again", time.Minute, []step{
			{op: claim, key: "d1", want: claimed}, {op: release, key: "d1"}, {op: store, key: "d1", after: sec}, {op: claim, key: "d1", after: 2 * sec, want: seen},
			{op: release, key: "never claimed"},
		}},
		{"release keeps a confirmed key", time.Minute, []step{
			{op: store, key: "d1"}, {op: release, key: "d1"}, {op: claim, key: "d1", after: sec, want: seen},
		}},
		{"confirm without a claim stores the key", time.Minute, []step{
			{op: confirm, key: "d1"}, {op: claim, key: "d1", after: sec, want: seen},
		}},
		{"no window: a key stays seen", 0, []step{
			{op: store, key: "d1"}, {op: claim, key: "d1", after: 1e8 * sec, want: seen},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			d := newDedupe(t, tc.window)
			for i, s := range tc.steps {
				at := t0().Add(s.after)
				switch s.op {
				case release:
					must(t, d.Release(ctx, "src", s.key))
					continue
				case confirm:
					must(t, d.Confirm(ctx, "src", s.key, at))
					continue
				}
				want := s.want
				if s.op == store {
					want = index.Claimed
				}
				got, err := d.Claim(ctx, "src", s.key, at)
				if got != want || err != nil {
					t.Fatalf("step %d: Claim(%.20q) at t0+%v = %v, %v; want %v", i, s.key, s.after, got, err, want)
				}
				if s.op == store {
					must(t, d.Confirm(ctx, "src", s.key, at))
				}
			}
		})
	}
	t.Run("Len", func(t *testing.T) {
		ctx := context.Background()
		d := newDedupe(t, time.Minute)
		for _, k := range []string{"a", "b", "a", "c"} {
			_, err := d.Claim(ctx, "src", k, t0())
			must(t, err)
		}
		must(t, d.Confirm(ctx, "src", "a", t0()))
		must(t, d.Release(ctx, "src", "b"))
		if n := d.Len(); n != 2 {
			t.Fatalf("Len = %d, want 2", n)
		}
	})
	t.Run("ClaimIsAtomic", func(t *testing.T) {
		ctx := context.Background()
		d := newDedupe(t, time.Minute)
		const keys, racers = 50, 8
		var wins [keys]atomic.Int32
		var wg sync.WaitGroup
		for range racers {
			wg.Go(func() {
				for k := range keys {
					if c, err := d.Claim(ctx, "src", fmt.Sprint("delivery-", k), t0()); err == nil && c == index.Claimed {
						wins[k].Add(1)
					}
				}
			})
		}
		wg.Wait()
		for k := range keys {
			if n := wins[k].Load(); n != 1 {
				t.Errorf("key %d won %d times, want exactly once", k, n)
			}
		}
	})
}

// RunAliases checks Aliases: an anonymous id resolves to its user (ids
// trimmed, case kept), a later identify moves it (without the old email),
// the same user keeps the email, the ttl is exact and restarted by each
// identify, expired and unknown ids resolve to nothing and create nothing.
func RunAliases(t *testing.T, newAliases NewAliases) {
	t.Run("Products", func(t *testing.T) { aliasesAcrossProducts(t, newAliases) })
	t.Run("ForgetUser", func(t *testing.T) { aliasesForgetUser(t, newAliases) })
	type step struct {
		remember normalize.Identity
		after    time.Duration // from t0
	}
	const sec = time.Second
	id := func(anon, user, email string) normalize.Identity {
		return normalize.Identity{AnonymousID: anon, UserID: user, Email: email}
	}
	for _, tc := range []struct {
		name    string
		ttl     time.Duration // 0: one hour
		steps   []step
		resolve string
		now     time.Duration // from t0
		want    normalize.Identity
		ok      bool
		len     int // after the Resolve
	}{
		{name: "an anonymous id resolves to its user",
			steps:   []step{{remember: id("anon-1", "u1", "a@x.io")}},
			resolve: "anon-1", want: id("anon-1", "u1", "a@x.io"), ok: true, len: 1},
		{name: "ids are trimmed, case kept",
			steps:   []step{{remember: id(" anon-1\t", " u1 ", " a@x.io ")}},
			resolve: "\nanon-1 ", want: id("anon-1", "u1", "a@x.io"), ok: true, len: 1},
		{name: "another case is another id",
			steps:   []step{{remember: id("anon-1", "u1", "")}},
			resolve: "ANON-1", ok: false, len: 1},
		{name: "hostile ids are ids like any other",
			steps:   []step{{remember: id("{a}:*\x00", "u:{1}", "")}, {remember: id("{a}:*", "u2", "")}},
			resolve: "{a}:*\x00", want: id("{a}:*\x00", "u:{1}", ""), ok: true, len: 2},
		{name: "unknown ids resolve to nothing and create nothing",
			resolve: "anon-1", ok: false, len: 0},
		{name: "an empty anonymous id resolves to nothing",
			steps:   []step{{remember: id("", "u1", "")}},
			resolve: " ", ok: false, len: 0},
		{name: "an empty user id is not remembered",
			steps:   []step{{remember: id("anon-1", "  ", "a@x.io")}},
			resolve: "anon-1", ok: false, len: 0},
		{name: "a later identify moves the id to another user, without the old email",
			steps:   []step{{remember: id("anon-1", "u1", "a@x.io")}, {remember: id("anon-1", "u2", ""), after: 1 * sec}},
			resolve: "anon-1", now: sec, want: id("anon-1", "u2", ""), ok: true, len: 1},
		{name: "the same user without an email keeps the email",
			steps:   []step{{remember: id("anon-1", "u1", "a@x.io")}, {remember: id("anon-1", "u1", ""), after: 1 * sec}},
			resolve: "anon-1", now: sec, want: id("anon-1", "u1", "a@x.io"), ok: true, len: 1},
		{name: "a new email replaces the old",
			steps:   []step{{remember: id("anon-1", "u1", "a@x.io")}, {remember: id("anon-1", "u1", "b@x.io"), after: 1 * sec}},
			resolve: "anon-1", now: sec, want: id("anon-1", "u1", "b@x.io"), ok: true, len: 1},
		{name: "an alias lives exactly its ttl",
			steps:   []step{{remember: id("anon-1", "u1", "")}},
			resolve: "anon-1", now: 3600 * sec, want: id("anon-1", "u1", ""), ok: true, len: 1},
		{name: "an expired alias is dropped",
			steps:   []step{{remember: id("anon-1", "u1", "")}},
			resolve: "anon-1", now: 3600*sec + time.Nanosecond, ok: false, len: 0},
		{name: "remembering again restarts the ttl",
			steps:   []step{{remember: id("anon-1", "u1", "")}, {remember: id("anon-1", "u1", ""), after: 3000 * sec}},
			resolve: "anon-1", now: 6000 * sec, want: id("anon-1", "u1", ""), ok: true, len: 1},
		{name: "no ttl: an alias stays",
			ttl:     -1,
			steps:   []step{{remember: id("anon-1", "u1", "")}},
			resolve: "anon-1", now: 1e8 * sec, want: id("anon-1", "u1", ""), ok: true, len: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			ttl := tc.ttl
			if ttl == 0 {
				ttl = time.Hour
			}
			a := newAliases(t, ttl)
			for _, s := range tc.steps {
				must(t, a.Remember(ctx, "p", s.remember, t0().Add(s.after)))
			}
			got, ok, err := a.Resolve(ctx, "p", tc.resolve, t0().Add(tc.now))
			if err != nil || ok != tc.ok || got != tc.want {
				t.Fatalf("Resolve(%q) = %+v, %v, %v; want %+v, %v", tc.resolve, got, ok, err, tc.want, tc.ok)
			}
			if n := a.Len(); n != tc.len {
				t.Fatalf("Len = %d, want %d", n, tc.len)
			}
		})
	}
}

// RunRejected checks a RejectedLog: the newest max entries, newest first,
// at most limit of them (all when limit <= 0), every field kept.
func RunRejected(t *testing.T, newRejected NewRejected) {
	for _, tc := range []struct{ max, add, limit, want int }{
		{max: 3, add: 0, limit: 10, want: 0},
		{max: 3, add: 2, limit: 10, want: 2},
		{max: 3, add: 10, limit: 10, want: 3},
		{max: 3, add: 10, limit: 2, want: 2},
		{max: 3, add: 10, limit: 0, want: 3},
		{max: 0, add: 5, limit: 10, want: 0},
	} {
		t.Run(fmt.Sprintf("max%d_add%d_limit%d", tc.max, tc.add, tc.limit), func(t *testing.T) {
			ctx := context.Background()
			r := newRejected(t, tc.max)
			for i := range tc.add {
				must(t, r.Add(ctx, index.Rejection{Source: fmt.Sprint(i)}))
			}
			got, err := r.Recent(ctx, tc.limit)
			if err != nil || got == nil || len(got) != tc.want {
				t.Fatalf("Recent = %d entries (nil: %v), %v; want %d", len(got), got == nil, err, tc.want)
			}
			for i, rej := range got {
				if want := fmt.Sprint(tc.add - 1 - i); rej.Source != want {
					t.Fatalf("entry %d = %s, want %s (newest first)", i, rej.Source, want)
				}
			}
		})
	}
	t.Run("FieldsKept", func(t *testing.T) {
		ctx := context.Background()
		r := newRejected(t, 5)
		want := index.Rejection{
			At: at(0.123456789).UTC(), Source: "autoplay", Code: "invalid_signature", Reason: "no signature matches \"v1\"",
			DeliveryID: "msg_{1}", ClientIP: "203.0.113.7", BodyBytes: 1234, RequestID: "req-1",
		}
		must(t, r.Add(ctx, want))
		got, err := r.Recent(ctx, 1)
		if err != nil || len(got) != 1 {
			t.Fatalf("Recent = %v, %v", got, err)
		}
		if !got[0].At.Equal(want.At) {
			t.Fatalf("At = %v, want %v", got[0].At, want.At)
		}
		got[0].At = want.At
		if got[0] != want {
			t.Fatalf("Recent = %+v\nwant %+v", got[0], want)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

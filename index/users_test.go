package index

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// t0 is the tests' server clock; times are given as seconds from it.
var t0 = time.Unix(1_741_900_000, 0)

func at(offset float64) time.Time { return t0.Add(time.Duration(offset * float64(time.Second))) }
func secs(offset float64) float64 { return unixSeconds(at(offset)) }

// link is one Link call: user, email, the ref, and the server clock (s from t0).
type link struct {
	user, email, session, product string
	seen                          float64 // ref.LastSeenAt, s from t0
	now                           float64
}

func ref(session, product string, seen float64) SessionRef {
	return SessionRef{SessionID: session, ProductID: product, LastSeenAt: secs(seen)}
}

var testLimits = UserLimits{Lookback: 300 * time.Second, MaxSessionsPerUser: 3, MaxUsers: 100}

func TestMemoryUsersSemantics(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		limits UserLimits
		links  []link
		lookup string
		now    float64 // lookup time, s from t0
		want   User
		ok     bool
		len    int // users held after the lookup
	}{
		{name: "refs newest first",
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: -30},
				{user: "u1", session: "s2", product: "p", seen: -10},
				{user: "u1", session: "s3", product: "p", seen: -20},
			},
			lookup: "u1", want: User{Sessions: []SessionRef{ref("s2", "p", -10), ref("s3", "p", -20), ref("s1", "p", -30)}}, ok: true, len: 1},
		{name: "per-user cap keeps the newest, whatever the link order",
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: -10},
				{user: "u1", session: "s2", product: "p", seen: -5},
				{user: "u1", session: "s3", product: "p", seen: -7},
				{user: "u1", session: "s4", product: "p", seen: -50},
				{user: "u1", session: "s5", product: "p", seen: -1},
			},
			lookup: "u1", want: User{Sessions: []SessionRef{ref("s5", "p", -1), ref("s2", "p", -5), ref("s3", "p", -7)}}, ok: true, len: 1},
		{name: "a ref exactly lookback old is kept",
			links:  []link{{user: "u1", session: "s1", product: "p", seen: 0}},
			lookup: "u1", now: 300, want: User{Sessions: []SessionRef{ref("s1", "p", 0)}}, ok: true, len: 1},
		{name: "expired on read: the user is gone and removed",
			links:  []link{{user: "u1", email: "a@x.io", session: "s1", product: "p", seen: 0}},
			lookup: "u1", now: 301, ok: false, len: 0},
		{name: "expired refs are dropped on read, live ones kept",
			links: []link{
				{user: "u1", session: "old", product: "p", seen: -200},
				{user: "u1", session: "new", product: "p", seen: 0},
			},
			lookup: "u1", now: 200, want: User{Sessions: []SessionRef{ref("new", "p", 0)}}, ok: true, len: 1},
		{name: "expired refs are dropped on write",
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: 0},
				{user: "u1", session: "s2", product: "p", seen: 400, now: 400},
			},
			lookup: "u1", now: 400, want: User{Sessions: []SessionRef{ref("s2", "p", 400)}}, ok: true, len: 1},
		{name: "an already expired ref creates no user",
			links:  []link{{user: "u1", email: "a@x.io", session: "s1", product: "p", seen: -301}},
			lookup: "u1", ok: false, len: 0},
		{name: "an expired link does not revive an old ref or add itself",
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: 0},
				{user: "u1", session: "s2", product: "p", seen: -400},
			},
			lookup: "u1", want: User{Sessions: []SessionRef{ref("s1", "p", 0)}}, ok: true, len: 1},
		{name: "a future time is clamped to the server clock",
			links:  []link{{user: "u1", session: "s1", product: "p", seen: 3600}},
			lookup: "u1", want: User{Sessions: []SessionRef{ref("s1", "p", 0)}}, ok: true, len: 1},
		{name: "a clamped future ref expires like any other",
			links:  []link{{user: "u1", session: "s1", product: "p", seen: 1e12}},
			lookup: "u1", now: 301, ok: false, len: 0},
		{name: "an infinite time is clamped too",
			links:  []link{{user: "u1", session: "s1", product: "p", seen: math.Inf(1)}},
			lookup: "u1", want: User{Sessions: []SessionRef{ref("s1", "p", 0)}}, ok: true, len: 1},
		{name: "a NaN time is ignored",
			links:  []link{{user: "u1", session: "s1", product: "p", seen: math.NaN()}},
			lookup: "u1", ok: false, len: 0},
		{name: "last_seen_at never moves backwards",
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: -10},
				{user: "u1", session: "s2", product: "p", seen: -20},
				{user: "u1", session: "s1", product: "p", seen: -50},
			},
			lookup: "u1", want: User{Sessions: []SessionRef{ref("s1", "p", -10), ref("s2", "p", -20)}}, ok: true, len: 1},
		{name: "a newer time moves the ref forward and to the front",
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: -50},
				{user: "u1", session: "s2", product: "p", seen: -20},
				{user: "u1", session: "s1", product: "p", seen: -5},
			},
			lookup: "u1", want: User{Sessions: []SessionRef{ref("s1", "p", -5), ref("s2", "p", -20)}}, ok: true, len: 1},
		{name: "on equal times the latest link comes first",
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: -5},
				{user: "u1", session: "s2", product: "p", seen: -5},
			},
			lookup: "u1", want: User{Sessions: []SessionRef{ref("s2", "p", -5), ref("s1", "p", -5)}}, ok: true, len: 1},
		{name: "one session id in two products is two refs",
			links: []link{
				{user: "u1", session: "s1", product: "p1", seen: -10},
				{user: "u1", session: "s1", product: "p2", seen: -5},
				{user: "u1", session: "s1", product: "p1", seen: -1},
			},
			lookup: "u1", want: User{Sessions: []SessionRef{ref("s1", "p1", -1), ref("s1", "p2", -5)}}, ok: true, len: 1},
		{name: "an empty product id is a product of its own",
			links: []link{
				{user: "u1", session: "s1", product: "", seen: -10},
				{user: "u1", session: "s1", product: "p", seen: -5},
			},
			lookup: "u1", want: User{Sessions: []SessionRef{ref("s1", "p", -5), ref("s1", "", -10)}}, ok: true, len: 1},
		{name: "ids are trimmed on write",
			links: []link{
				{user: " u1\t", email: " a@x.io ", session: "\ns1 ", product: " p ", seen: -10},
				{user: "u1", session: "s1", product: "p", seen: -5},
			},
			lookup: "u1", want: User{Emails: pe("p", "a@x.io"), Sessions: []SessionRef{ref("s1", "p", -5)}}, ok: true, len: 1},
		{name: "ids are trimmed on read",
			links:  []link{{user: "u1", session: "s1", product: "p", seen: -10}},
			lookup: " \tu1\r\n", want: User{Sessions: []SessionRef{ref("s1", "p", -10)}}, ok: true, len: 1},
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
			lookup: "u1", want: User{Emails: pe("p", "new@x.io"), Sessions: []SessionRef{ref("s3", "p", -7), ref("s2", "p", -9), ref("s1", "p", -10)}}, ok: true, len: 1},
		{name: "no lookback: refs never expire",
			limits: UserLimits{MaxSessionsPerUser: 2, MaxUsers: 10},
			links:  []link{{user: "u1", session: "s1", product: "p", seen: -1e6}},
			lookup: "u1", now: 1e6, want: User{Sessions: []SessionRef{ref("s1", "p", -1e6)}}, ok: true, len: 1},
		{name: "bounds below 1 are taken as 1",
			limits: UserLimits{Lookback: time.Hour},
			links: []link{
				{user: "u1", session: "s1", product: "p", seen: -2},
				{user: "u1", session: "s2", product: "p", seen: -1},
				{user: "u2", session: "s1", product: "p", seen: -1},
			},
			lookup: "u2", want: User{Sessions: []SessionRef{ref("s1", "p", -1)}}, ok: true, len: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limits := tc.limits
			if limits == (UserLimits{}) {
				limits = testLimits
			}
			m := NewMemoryUsers(limits)
			for _, l := range tc.links {
				r := SessionRef{SessionID: l.session, ProductID: l.product, LastSeenAt: secs(l.seen)}
				if math.IsNaN(l.seen) || math.IsInf(l.seen, 0) {
					r.LastSeenAt = l.seen
				}
				if err := m.Link(ctx, l.user, l.email, r, at(l.now)); err != nil {
					t.Fatalf("Link: %v", err)
				}
			}
			got, ok, err := m.Lookup(ctx, tc.lookup, at(tc.now))
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Lookup(%q) = %+v, %v; want %+v, %v", tc.lookup, got, ok, tc.want, tc.ok)
			}
			if m.Len() != tc.len {
				t.Fatalf("Len = %d after the lookup, want %d", m.Len(), tc.len)
			}
		})
	}
}

func TestMemoryUsersLookupOfAnUnknownUserCreatesNothing(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryUsers(UserLimits{Lookback: time.Minute, MaxSessionsPerUser: 2, MaxUsers: 2})
	_ = m.Link(ctx, "a", "", ref("s", "p", 0), t0)
	_ = m.Link(ctx, "b", "", ref("s", "p", 0), t0)
	for _, id := range []string{"nobody", "", "  ", "A"} {
		if u, ok, err := m.Lookup(ctx, id, t0); ok || err != nil || !reflect.DeepEqual(u, User{}) {
			t.Fatalf("Lookup(%q) = %+v, %v, %v; want nothing", id, u, ok, err)
		}
	}
	if m.Len() != 2 || m.Evictions() != 0 {
		t.Fatalf("Len = %d, Evictions = %d after lookups of unknown users; want 2, 0", m.Len(), m.Evictions())
	}
	for _, id := range []string{"a", "b"} {
		if _, ok, _ := m.Lookup(ctx, id, t0); !ok {
			t.Fatalf("%s was evicted by a lookup of an unknown user", id)
		}
	}
}

func TestMemoryUsersLookupReturnsACopy(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryUsers(testLimits)
	_ = m.Link(ctx, "u1", "a@x.io", ref("s1", "p", -1), t0)
	u, _, _ := m.Lookup(ctx, "u1", t0)
	u.Sessions[0].SessionID = "changed"
	u.Sessions = append(u.Sessions[:1], ref("s9", "p", 0))
	again, _, _ := m.Lookup(ctx, "u1", t0)
	if want := (User{Emails: pe("p", "a@x.io"), Sessions: []SessionRef{ref("s1", "p", -1)}}); !reflect.DeepEqual(again, want) {
		t.Fatalf("after changing a lookup's result the store holds %+v, want %+v", again, want)
	}
}

func TestMemoryUsersForget(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryUsers(testLimits)
	_ = m.Link(ctx, "u1", "a@x.io", ref("s1", "p", -1), t0)
	_ = m.Link(ctx, "u2", "b@x.io", ref("s1", "p", -1), t0)

	for _, tc := range []struct {
		id   string
		want bool
	}{
		{" u1 ", true}, // trimmed like every id
		{"u1", false},  // already forgotten
		{"nobody", false},
		{"", false},
	} {
		if _, got, err := m.Forget(ctx, tc.id); got != tc.want || err != nil {
			t.Fatalf("Forget(%q) = %v, %v; want %v", tc.id, got, err, tc.want)
		}
	}
	if _, ok, _ := m.Lookup(ctx, "u1", t0); ok {
		t.Fatalf("u1 is still found after Forget")
	}
	if m.Len() != 1 {
		t.Fatalf("Len = %d, want 1 (u2 untouched)", m.Len())
	}
	// The email was forgotten with the refs: linking again without an
	// email does not bring it back.
	_ = m.Link(ctx, "u1", "", ref("s2", "p", 0), t0)
	if u, _, _ := m.Lookup(ctx, "u1", t0); len(u.Emails) != 0 || len(u.Sessions) != 1 || u.Sessions[0].SessionID != "s2" {
		t.Fatalf("after Forget and a new link: %+v, want only s2 and no email", u)
	}
}

// TestMemoryUsersEmailDiesWithTheEntry: an evicted user loses its email too
// (the SDK kept emails forever).
func TestMemoryUsersEmailDiesWithTheEntry(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryUsers(UserLimits{Lookback: time.Minute, MaxSessionsPerUser: 2, MaxUsers: 1})
	_ = m.Link(ctx, "u1", "a@x.io", ref("s1", "p", 0), t0)
	_ = m.Link(ctx, "u2", "b@x.io", ref("s1", "p", 0), t0) // evicts u1
	_ = m.Link(ctx, "u1", "", ref("s2", "p", 0), t0)
	u, ok, _ := m.Lookup(ctx, "u1", t0)
	if !ok || len(u.Emails) != 0 {
		t.Fatalf("u1 after eviction and relink = %+v, %v; want found, without the old email", u, ok)
	}
	if m.Evictions() != 2 {
		t.Fatalf("Evictions = %d, want 2", m.Evictions())
	}
}

func TestMemoryUsersEvictsTheLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryUsers(UserLimits{Lookback: time.Minute, MaxSessionsPerUser: 2, MaxUsers: 3})
	for _, id := range []string{"u1", "u2", "u3"} {
		_ = m.Link(ctx, id, "", ref("s", "p", 0), t0)
	}
	_, _, _ = m.Lookup(ctx, "u1", t0)               // u1 is now the most recently used: u2 is the oldest
	_ = m.Link(ctx, "u4", "", ref("s", "p", 0), t0) // evicts u2
	for id, want := range map[string]bool{"u1": true, "u2": false, "u3": true, "u4": true} {
		if _, ok, _ := m.Lookup(ctx, id, t0); ok != want {
			t.Errorf("%s held = %v, want %v", id, ok, want)
		}
	}
	if m.Len() != 3 || m.Evictions() != 1 {
		t.Fatalf("Len = %d, Evictions = %d; want 3, 1", m.Len(), m.Evictions())
	}
}

// TestMemoryUsersStaysWithinMaxUsers inserts ten times MaxUsers distinct
// users from several goroutines and checks the bound while they run and at
// the end.
func TestMemoryUsersStaysWithinMaxUsers(t *testing.T) {
	ctx := context.Background()
	for _, maxUsers := range []int{1, 7, 300, 1000, 20000} {
		t.Run(fmt.Sprint(maxUsers), func(t *testing.T) {
			m := NewMemoryUsers(UserLimits{Lookback: time.Minute, MaxSessionsPerUser: 2, MaxUsers: maxUsers})
			total := 10 * maxUsers
			over := sampleBound(t, m.Len, maxUsers, func(g, workers int) {
				for i := g; i < total; i += workers {
					_ = m.Link(ctx, fmt.Sprintf("user-%d", i), "", ref("s", "p", 0), t0)
				}
			})
			if over != "" {
				t.Fatal(over)
			}
			// Every shard received ~10x its size, so all are full.
			if m.Len() != maxUsers {
				t.Fatalf("Len = %d at the end, want %d", m.Len(), maxUsers)
			}
			if got := uint64(m.Len()) + m.Evictions(); got != uint64(total) {
				t.Fatalf("Len + Evictions = %d, want %d (one per new user)", got, total)
			}
		})
	}
}

// sampleBound runs work on 8 goroutines while sampling size(); it returns a
// description of the first sample above bound, or "".
func sampleBound(t *testing.T, size func() int, bound int, work func(g, workers int)) string {
	t.Helper()
	const workers = 8
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() { work(g, workers) })
	}
	done := make(chan struct{})
	over := make(chan string, 1)
	go func() {
		defer close(over)
		for {
			if n := size(); n > bound {
				over <- fmt.Sprintf("size %d above the bound %d while writing", n, bound)
				return
			}
			select {
			case <-done:
				return
			default:
				runtime.Gosched()
			}
		}
	}()
	wg.Wait()
	close(done)
	return <-over
}

// TestMemoryUsersConcurrentUse has many goroutines link, look up and forget
// the same few users; every answer must keep the invariants. Run with -race.
func TestMemoryUsersConcurrentUse(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryUsers(UserLimits{Lookback: time.Minute, MaxSessionsPerUser: 4, MaxUsers: 3})
	users := []string{"u0", "u1", "u2", "u3", "u4"}
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := range 16 {
		wg.Go(func() {
			for i := range 400 {
				id := users[(g+i)%len(users)]
				switch i % 5 {
				case 0, 1:
					_ = m.Link(ctx, id, fmt.Sprintf("%s@x.io", id), ref(fmt.Sprintf("s%d", i%7), fmt.Sprintf("p%d", g%2), float64(-i%60)), t0)
				case 2, 3:
					u, ok, _ := m.Lookup(ctx, id, t0)
					if msg := checkUser(u, ok, 4); msg != "" {
						select {
						case errs <- id + ": " + msg:
						default:
						}
					}
					if ok && u.EmailFor(u.Sessions[0].ProductID) != id+"@x.io" {
						select {
						case errs <- fmt.Sprintf("%s has emails %v", id, u.Emails):
						default:
						}
					}
				case 4:
					_, _, _ = m.Forget(ctx, id)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	if m.Len() > 3 {
		t.Fatalf("Len = %d, above MaxUsers 3", m.Len())
	}
}

// checkUser returns what is wrong with a Lookup result, or "".
func checkUser(u User, ok bool, perUser int) string {
	if !ok {
		if !reflect.DeepEqual(u, User{}) {
			return fmt.Sprintf("ok=false with data %+v", u)
		}
		return ""
	}
	if len(u.Sessions) == 0 {
		return "ok=true without refs"
	}
	seen := map[[2]string]bool{}
	perProduct := map[string]int{}
	for i, r := range u.Sessions {
		if perProduct[r.ProductID]++; perProduct[r.ProductID] > perUser {
			return fmt.Sprintf("more than %d refs of product %q", perUser, r.ProductID)
		}
		k := [2]string{r.ProductID, r.SessionID}
		if seen[k] {
			return fmt.Sprintf("ref %v twice", k)
		}
		seen[k] = true
		if i > 0 && r.LastSeenAt > u.Sessions[i-1].LastSeenAt {
			return fmt.Sprintf("refs not newest first: %+v", u.Sessions)
		}
	}
	return ""
}

func TestMemoryUsersExportKeepsTheLRUOrderAcrossARestart(t *testing.T) {
	ctx := context.Background()
	limits := UserLimits{Lookback: 300 * time.Second, MaxSessionsPerUser: 3, MaxUsers: 3}
	m := NewMemoryUsers(limits)
	_ = m.Link(ctx, "u1", "a@x.io", ref("s1", "p", -10), t0)
	_ = m.Link(ctx, "u1", "", ref("s2", "p", -400), at(-390)) // expired at t0: not exported
	_ = m.Link(ctx, "u2", "", ref("s1", "p", -5), t0)
	_ = m.Link(ctx, "u3", "", ref("s1", "q", -250), t0) // expired 60 s later
	_, _, _ = m.Lookup(ctx, "u1", t0)                   // LRU order now u2, u3, u1

	recs := m.Export(t0)
	want := []UserRecord{
		{UserID: "u2", Sessions: []SessionRef{ref("s1", "p", -5)}},
		{UserID: "u3", Sessions: []SessionRef{ref("s1", "q", -250)}},
		{UserID: "u1", Emails: pe("p", "a@x.io"), Sessions: []SessionRef{ref("s1", "p", -10)}},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Fatalf("Export =\n%+v\nwant\n%+v", recs, want)
	}
	if later := m.Export(at(60)); len(later) != 2 || later[0].UserID != "u2" || later[1].UserID != "u1" {
		t.Fatalf("Export 60 s later = %+v, want u2 and u1 (u3 expired)", later)
	}

	data, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	var back []UserRecord
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	restarted := NewMemoryUsers(limits)
	restarted.Import(back, t0)
	if got := restarted.Export(t0); !reflect.DeepEqual(got, want) {
		t.Fatalf("Export after Import =\n%+v\nwant\n%+v", got, want)
	}
	restarted.Import(back, t0) // idempotent
	if got := restarted.Export(t0); !reflect.DeepEqual(got, want) {
		t.Fatalf("Export after a second Import =\n%+v\nwant\n%+v", got, want)
	}

	// Into a smaller store, the least recently used records are the ones evicted.
	small := NewMemoryUsers(UserLimits{Lookback: 300 * time.Second, MaxSessionsPerUser: 3, MaxUsers: 2})
	small.Import(back, t0)
	if got := small.Export(t0); !reflect.DeepEqual(got, want[1:]) {
		t.Fatalf("Export of a 2-user store after Import =\n%+v\nwant\n%+v", got, want[1:])
	}
}

// TestMemoryUsersImportIsDefensive imports a snapshot file with every kind
// of bad record: nothing outlives the bounds or the clock.
func TestMemoryUsersImportIsDefensive(t *testing.T) {
	ctx := context.Background()
	data, err := os.ReadFile("testdata/users_snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	var recs []UserRecord
	if err := json.Unmarshal(data, &recs); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_741_900_000, 0) // the snapshot's times are around this
	m := NewMemoryUsers(UserLimits{Lookback: 300 * time.Second, MaxSessionsPerUser: 3, MaxUsers: 100})
	m.Import(recs, now)

	nowS := unixSeconds(now)
	for _, tc := range []struct {
		user string
		want User
		ok   bool
	}{
		// ids trimmed, duplicate refs merged keeping the newer time, capped
		// at the newest 3, email trimmed
		{"alice", User{Emails: pe("p", "alice@x.io"), Sessions: []SessionRef{
			{SessionID: "s5", ProductID: "p", LastSeenAt: nowS - 1},
			{SessionID: "s1", ProductID: "p", LastSeenAt: nowS - 2},
			{SessionID: "s4", ProductID: "p", LastSeenAt: nowS - 4},
		}}, true},
		// a future time is clamped to now; an empty session id is skipped
		{"bob", User{Sessions: []SessionRef{{SessionID: "s1", ProductID: "p", LastSeenAt: nowS}}}, true},
		// only expired refs: not imported, email included
		{"carol", User{}, false},
		// no refs at all
		{"dave", User{}, false},
		// two records for one user are merged
		{"erin", User{Emails: pe("p", "erin2@x.io"), Sessions: []SessionRef{
			{SessionID: "s2", ProductID: "p", LastSeenAt: nowS - 10},
			{SessionID: "s1", ProductID: "p", LastSeenAt: nowS - 20},
		}}, true},
	} {
		u, ok, _ := m.Lookup(ctx, tc.user, now)
		if ok != tc.ok || !reflect.DeepEqual(u, tc.want) {
			t.Errorf("%s = %+v, %v; want %+v, %v", tc.user, u, ok, tc.want, tc.ok)
		}
	}
	if m.Len() != 3 {
		t.Fatalf("Len = %d, want 3 (the record with an empty user id is skipped)", m.Len())
	}
}

// userBytes measures the heap held per user by an index of n users with one
// session each. Ids are built in the loop and dropped, so only what the
// index keeps is counted.
func userBytes(n int) float64 {
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := NewMemoryUsers(UserLimits{Lookback: time.Hour, MaxSessionsPerUser: 20, MaxUsers: n})
	for i := range n {
		_ = m.Link(ctx, fmt.Sprintf("user_%08d", i), "", SessionRef{
			SessionID: fmt.Sprintf("sess_%016x", i), ProductID: "prod_demo", LastSeenAt: secs(0),
		}, t0)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(m)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// TestMemoryUsersBytesPerUser keeps the index compact: at most 400 bytes
// per user with one session (ids of 13 and 21 bytes included).
func TestMemoryUsersBytesPerUser(t *testing.T) {
	b := userBytes(50_000)
	t.Logf("%.0f bytes per user with one session", b)
	if b > 400 {
		t.Fatalf("%.0f bytes per user, want at most 400", b)
	}
}

func TestInsertRefKeepsOldUntouched(t *testing.T) {
	old := []SessionRef{ref("s2", "p", -1), ref("s1", "p", -2)}
	before := slices.Clone(old)
	_ = insertRef(old, ref("s1", "p", 0), secs(-300), 2)
	_ = insertRef(old, ref("s3", "p", -1.5), secs(-300), 2)
	if !slices.Equal(old, before) {
		t.Fatalf("insertRef modified the stored slice: %+v", old)
	}
}

// pe is the Emails of a user with one email, of product.
func pe(product, email string) []ProductEmail {
	return []ProductEmail{{ProductID: product, Email: email}}
}

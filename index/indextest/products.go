package indextest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/normalize"
)

// emails is the Emails of a user with one email, of product.
func emails(product, email string) []index.ProductEmail {
	return []index.ProductEmail{{ProductID: product, Email: email}}
}

// sameUser compares two Users, their emails in any order (stores keep them
// per product, in no particular order).
func sameUser(a, b index.User) bool {
	sorted := func(es []index.ProductEmail) []index.ProductEmail {
		es = slices.Clone(es)
		slices.SortFunc(es, func(x, y index.ProductEmail) int { return strings.Compare(x.ProductID, y.ProductID) })
		return es
	}
	return reflect.DeepEqual(a.Sessions, b.Sessions) && reflect.DeepEqual(sorted(a.Emails), sorted(b.Emails)) &&
		len(a.Emails) == len(b.Emails)
}

// usersAcrossProducts checks that a product's deliveries never change what
// another product's readers see: emails, the per-user session cap and the
// products bound are per product.
func usersAcrossProducts(t *testing.T, newUsers NewUsers) {
	ctx := context.Background()
	t.Run("EmailIsPerProduct", func(t *testing.T) {
		u := newUsers(t, suiteLimits())
		must(t, u.Link(ctx, "u1", "a@x.io", ref("s1", "A", -10), t0()))
		must(t, u.Link(ctx, "u1", "b@evil.io", ref("s1", "B", -5), t0()))
		must(t, u.Link(ctx, "u1", "", ref("s2", "B", -4), t0()))
		got, ok, err := u.Lookup(ctx, "u1", t0())
		if err != nil || !ok {
			t.Fatalf("Lookup = %v, %v", ok, err)
		}
		if a, b := got.EmailFor("A"), got.EmailFor("B"); a != "a@x.io" || b != "b@evil.io" {
			t.Fatalf("emails A=%q B=%q; want a product-B delivery to leave A's email alone", a, b)
		}
	})
	t.Run("SessionCapIsPerProduct", func(t *testing.T) {
		u := newUsers(t, suiteLimits()) // 3 sessions per user and product
		for i := range 3 {
			must(t, u.Link(ctx, "u1", "", ref(fmt.Sprint("a", i), "A", float64(-100+i)), t0()))
		}
		for i := range 20 { // newer than every product-A session
			must(t, u.Link(ctx, "u1", "", ref(fmt.Sprint("b", i), "B", float64(-50+i)), t0()))
		}
		got, _, err := u.Lookup(ctx, "u1", t0())
		must(t, err)
		want := []index.SessionRef{
			ref("b19", "B", -31), ref("b18", "B", -32), ref("b17", "B", -33),
			ref("a2", "A", -98), ref("a1", "A", -99), ref("a0", "A", -100),
		}
		if !reflect.DeepEqual(got.Sessions, want) {
			t.Fatalf("sessions = %+v\nwant %+v: twenty product-B sessions pushed product A's out", got.Sessions, want)
		}
	})
	t.Run("ProductsPerUserAreBounded", func(t *testing.T) {
		l := suiteLimits()
		l.MaxProductsPerUser = 2
		u := newUsers(t, l)
		must(t, u.Link(ctx, "u1", "old@x.io", ref("s", "P1", -30), t0()))
		must(t, u.Link(ctx, "u1", "two@x.io", ref("s", "P2", -20), t0()))
		must(t, u.Link(ctx, "u1", "", ref("s2", "P1", -25), t0())) // P1's newest is still the oldest
		must(t, u.Link(ctx, "u1", "three@x.io", ref("s", "P3", -10), t0()))
		got, _, err := u.Lookup(ctx, "u1", t0())
		must(t, err)
		want := index.User{
			Emails:   []index.ProductEmail{{ProductID: "P3", Email: "three@x.io"}, {ProductID: "P2", Email: "two@x.io"}},
			Sessions: []index.SessionRef{ref("s", "P3", -10), ref("s", "P2", -20)},
		}
		if !sameUser(got, want) {
			t.Fatalf("Lookup = %+v\nwant %+v: the product with the oldest newest ref goes first, with its email", got, want)
		}
	})
	t.Run("AProductsEmailDiesWithItsLastRef", func(t *testing.T) {
		u := newUsers(t, suiteLimits())
		must(t, u.Link(ctx, "u1", "a@x.io", ref("s", "A", -290), t0()))
		must(t, u.Link(ctx, "u1", "b@x.io", ref("s", "B", 0), t0()))
		got, _, err := u.Lookup(ctx, "u1", at(20)) // A's ref left the lookback
		must(t, err)
		if !sameUser(got, index.User{Emails: emails("B", "b@x.io"), Sessions: []index.SessionRef{ref("s", "B", 0)}}) {
			t.Fatalf("Lookup = %+v: product A's email outlived its refs", got)
		}
		must(t, u.Link(ctx, "u1", "", ref("s2", "A", 20), at(20)))
		if got, _, _ := u.Lookup(ctx, "u1", at(20)); got.EmailFor("A") != "" {
			t.Fatalf("product A's email came back: %+v", got)
		}
	})
	t.Run("ForgetReturnsEveryRefHeld", func(t *testing.T) {
		u := newUsers(t, index.UserLimits{Lookback: time.Hour, MaxSessionsPerUser: 3, MaxUsers: 1000})
		must(t, u.Link(ctx, "u1", "a@x.io", ref("s1", "A", -10), t0()))
		must(t, u.Link(ctx, "u1", "b@x.io", ref("s2", "B", -5), t0()))
		got, ok, err := u.Forget(ctx, "u1")
		want := index.User{
			Emails:   []index.ProductEmail{{ProductID: "A", Email: "a@x.io"}, {ProductID: "B", Email: "b@x.io"}},
			Sessions: []index.SessionRef{ref("s2", "B", -5), ref("s1", "A", -10)},
		}
		if err != nil || !ok || !sameUser(got, want) {
			t.Fatalf("Forget = %+v, %v, %v; want %+v", got, ok, err, want)
		}
		if _, ok, _ := u.Lookup(ctx, "u1", t0()); ok {
			t.Fatal("a forgotten user is found")
		}
	})
}

// aliasesAcrossProducts checks that aliases are per product: an identify
// of product B never re-assigns product A's anonymous id.
func aliasesAcrossProducts(t *testing.T, newAliases NewAliases) {
	ctx := context.Background()
	a := newAliases(t, time.Hour)
	must(t, a.Remember(ctx, "A", normalize.Identity{AnonymousID: "anon-1", UserID: "alice", Email: "alice@a.io"}, t0()))
	must(t, a.Remember(ctx, "B", normalize.Identity{AnonymousID: "anon-1", UserID: "mallory", Email: "m@b.io"}, at(1)))
	for _, tc := range []struct {
		product string
		want    normalize.Identity
		ok      bool
	}{
		{"A", normalize.Identity{AnonymousID: "anon-1", UserID: "alice", Email: "alice@a.io"}, true},
		{" B ", normalize.Identity{AnonymousID: "anon-1", UserID: "mallory", Email: "m@b.io"}, true},
		{"", normalize.Identity{}, false}, // sources without a product have a scope of their own
		{"C", normalize.Identity{}, false},
	} {
		got, ok, err := a.Resolve(ctx, tc.product, "anon-1", at(2))
		if err != nil || ok != tc.ok || got != tc.want {
			t.Errorf("Resolve(%q, anon-1) = %+v, %v, %v; want %+v, %v", tc.product, got, ok, err, tc.want, tc.ok)
		}
	}
	if n := a.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
}

// aliasesForgetUser checks that ForgetUser drops every alias of the user in
// every product, and only those.
func aliasesForgetUser(t *testing.T, newAliases NewAliases) {
	ctx := context.Background()
	a := newAliases(t, time.Hour)
	must(t, a.Remember(ctx, "A", normalize.Identity{AnonymousID: "anon-1", UserID: "alice"}, t0()))
	must(t, a.Remember(ctx, "B", normalize.Identity{AnonymousID: "anon-2", UserID: " alice ", Email: "a@x.io"}, t0()))
	must(t, a.Remember(ctx, "A", normalize.Identity{AnonymousID: "anon-3", UserID: "bob"}, t0()))
	// anon-4 was alice's, then bob's: it is bob's now and stays.
	must(t, a.Remember(ctx, "A", normalize.Identity{AnonymousID: "anon-4", UserID: "alice"}, t0()))
	must(t, a.Remember(ctx, "A", normalize.Identity{AnonymousID: "anon-4", UserID: "bob"}, at(1)))
	n, err := a.ForgetUser(ctx, "alice")
	if err != nil || n != 2 {
		t.Fatalf("ForgetUser = %d, %v; want 2", n, err)
	}
	for _, tc := range []struct {
		product, anon string
		ok            bool
	}{{"A", "anon-1", false}, {"B", "anon-2", false}, {"A", "anon-3", true}, {"A", "anon-4", true}} {
		if got, ok, err := a.Resolve(ctx, tc.product, tc.anon, at(2)); err != nil || ok != tc.ok || (ok && got.UserID != "bob") {
			t.Errorf("after ForgetUser(alice): Resolve(%s, %s) = %+v, %v, %v", tc.product, tc.anon, got, ok, err)
		}
	}
	if n, err := a.ForgetUser(ctx, "alice"); err != nil || n != 0 {
		t.Fatalf("ForgetUser again = %d, %v; want 0", n, err)
	}
	if n := a.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
}

// dedupeSources checks that keys are kept per source: the same key text
// claimed by two sources is two keys.
func dedupeSources(t *testing.T, newDedupe NewDedupe) {
	ctx := context.Background()
	d := newDedupe(t, time.Hour)
	if c, err := d.Claim(ctx, "a", "k", t0()); err != nil || c != index.Claimed {
		t.Fatalf("Claim(a, k) = %v, %v", c, err)
	}
	must(t, d.Confirm(ctx, "a", "k", t0()))
	if c, err := d.Claim(ctx, "b", "k", at(1)); err != nil || c != index.Claimed {
		t.Fatalf("Claim(b, k) = %v, %v; want Claimed: source a's key is not source b's", c, err)
	}
	if c, err := d.Claim(ctx, "a", "k", at(2)); err != nil || c != index.Seen {
		t.Fatalf("Claim(a, k) again = %v, %v; want Seen", c, err)
	}
	must(t, d.Release(ctx, "b", "k"))
	if c, err := d.Claim(ctx, "a", "k", at(3)); err != nil || c != index.Seen {
		t.Fatalf("after source b released k, Claim(a, k) = %v, %v; want Seen", c, err)
	}
}

package index

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/replayhook/replayhook/normalize"
)

func TestMemoryAliases(t *testing.T) {
	ctx := context.Background()
	type step struct {
		remember *normalize.Identity
		at       float64 // s from t0
	}
	id := func(anon, user, email string) *normalize.Identity {
		return &normalize.Identity{AnonymousID: anon, UserID: user, Email: email}
	}
	for _, tc := range []struct {
		name    string
		steps   []step
		resolve string
		now     float64
		want    normalize.Identity
		ok      bool
		len     int // after the Resolve
	}{
		{name: "an anonymous id resolves to its user",
			steps:   []step{{remember: id("anon-1", "u1", "a@x.io")}},
			resolve: "anon-1", want: *id("anon-1", "u1", "a@x.io"), ok: true, len: 1},
		{name: "ids are trimmed, case kept",
			steps:   []step{{remember: id(" anon-1\t", " u1 ", " a@x.io ")}},
			resolve: "\nanon-1 ", want: *id("anon-1", "u1", "a@x.io"), ok: true, len: 1},
		{name: "another case is another id",
			steps:   []step{{remember: id("anon-1", "u1", "")}},
			resolve: "ANON-1", ok: false, len: 1},
		{name: "unknown ids resolve to nothing and create nothing",
			resolve: "anon-1", ok: false, len: 0},
		{name: "an empty anonymous id resolves to nothing",
			steps:   []step{{remember: id("", "u1", "")}},
			resolve: " ", ok: false, len: 0},
		{name: "an empty user id is not remembered",
			steps:   []step{{remember: id("anon-1", "  ", "a@x.io")}},
			resolve: "anon-1", ok: false, len: 0},
		{name: "a later identify moves the id to another user, without the old email",
			steps:   []step{{remember: id("anon-1", "u1", "a@x.io")}, {remember: id("anon-1", "u2", ""), at: 1}},
			resolve: "anon-1", now: 1, want: *id("anon-1", "u2", ""), ok: true, len: 1},
		{name: "the same user without an email keeps the email",
			steps:   []step{{remember: id("anon-1", "u1", "a@x.io")}, {remember: id("anon-1", "u1", ""), at: 1}},
			resolve: "anon-1", now: 1, want: *id("anon-1", "u1", "a@x.io"), ok: true, len: 1},
		{name: "a new email replaces the old",
			steps:   []step{{remember: id("anon-1", "u1", "a@x.io")}, {remember: id("anon-1", "u1", "b@x.io"), at: 1}},
			resolve: "anon-1", now: 1, want: *id("anon-1", "u1", "b@x.io"), ok: true, len: 1},
		{name: "an alias lives exactly its ttl",
			steps:   []step{{remember: id("anon-1", "u1", "")}},
			resolve: "anon-1", now: 3600, want: *id("anon-1", "u1", ""), ok: true, len: 1},
		{name: "an expired alias is dropped",
			steps:   []step{{remember: id("anon-1", "u1", "")}},
			resolve: "anon-1", now: 3601, ok: false, len: 0},
		{name: "remembering again restarts the ttl",
			steps:   []step{{remember: id("anon-1", "u1", "")}, {remember: id("anon-1", "u1", ""), at: 3000}},
			resolve: "anon-1", now: 6000, want: *id("anon-1", "u1", ""), ok: true, len: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewMemoryAliases(10, time.Hour)
			for _, s := range tc.steps {
				if err := a.Remember(ctx, "p", *s.remember, at(s.at)); err != nil {
					t.Fatal(err)
				}
			}
			got, ok, err := a.Resolve(ctx, "p", tc.resolve, at(tc.now))
			if err != nil || ok != tc.ok || got != tc.want {
				t.Fatalf("Resolve(%q) = %+v, %v, %v; want %+v, %v", tc.resolve, got, ok, err, tc.want, tc.ok)
			}
			if a.Len() != tc.len {
				t.Fatalf("Len = %d, want %d", a.Len(), tc.len)
			}
		})
	}
}

func TestMemoryAliasesStaysWithinMaxIDs(t *testing.T) {
	ctx := context.Background()
	for _, maxIDs := range []int{1, 100, 5000} {
		a := NewMemoryAliases(maxIDs, 0)
		total := 10 * maxIDs
		over := sampleBound(t, a.Len, maxIDs, func(g, workers int) {
			for i := g; i < total; i += workers {
				_ = a.Remember(ctx, "p", normalize.Identity{AnonymousID: fmt.Sprint("anon-", i), UserID: "u"}, t0)
				_, _, _ = a.Resolve(ctx, "p", fmt.Sprint("anon-", i/2), t0)
			}
		})
		if over != "" {
			t.Fatal(over)
		}
		if a.Len() != maxIDs || uint64(a.Len())+a.Evictions() != uint64(total) {
			t.Fatalf("max %d: Len = %d, Evictions = %d after %d new ids", maxIDs, a.Len(), a.Evictions(), total)
		}
	}
}

func TestMemoryAliasesExportImport(t *testing.T) {
	ctx := context.Background()
	a := NewMemoryAliases(10, time.Hour)
	_ = a.Remember(ctx, "p", normalize.Identity{AnonymousID: "anon-2", UserID: "u2"}, at(-20))
	_ = a.Remember(ctx, "p", normalize.Identity{AnonymousID: "anon-1", UserID: "u1", Email: "a@x.io"}, at(-30))
	_ = a.Remember(ctx, "p", normalize.Identity{AnonymousID: "anon-old", UserID: "u0"}, at(-3601))
	want := []AliasRecord{
		{ProductID: "p", AnonymousID: "anon-1", UserID: "u1", Email: "a@x.io", At: at(-30).UTC()},
		{ProductID: "p", AnonymousID: "anon-2", UserID: "u2", At: at(-20).UTC()},
	}
	recs := a.Export(t0)
	if !reflect.DeepEqual(recs, want) {
		t.Fatalf("Export = %+v, want %+v (oldest first, expired left out)", recs, want)
	}
	data, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	var back []AliasRecord
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	back = append(back,
		AliasRecord{ProductID: "p", AnonymousID: " ", UserID: "u9", At: t0},
		AliasRecord{ProductID: "p", AnonymousID: "anon-9", UserID: "", At: t0},
		AliasRecord{ProductID: "p", AnonymousID: "anon-1", UserID: "stale", At: at(-40)}, // older than what is held: ignored
		AliasRecord{ProductID: "p", AnonymousID: "anon-f", UserID: "uf", At: at(1e9)},    // future: taken as now
	)
	restarted := NewMemoryAliases(10, time.Hour)
	restarted.Import(back, t0)
	restarted.Import(back, t0)
	wantAll := slices.Concat(want[:2], []AliasRecord{{ProductID: "p", AnonymousID: "anon-f", UserID: "uf", At: t0.UTC()}})
	if got := restarted.Export(t0); !reflect.DeepEqual(got, wantAll) {
		t.Fatalf("Export after Import = %+v, want %+v", got, wantAll)
	}

	small := NewMemoryAliases(1, time.Hour)
	small.Import(back, t0)
	if got := small.Export(t0); len(got) != 1 || got[0].AnonymousID != "anon-f" {
		t.Fatalf("1-id store after Import = %+v, want only the newest, anon-f", got)
	}
}

package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMemoryDedupeClaim(t *testing.T) {
	ctx := context.Background()
	type claim struct {
		key     string
		at      float64 // s from t0
		release bool    // Release instead of Claim
		want    bool
	}
	for _, tc := range []struct {
		name   string
		window time.Duration
		steps  []claim
	}{
		{"a key is new once", time.Minute, []claim{
			{key: "d1", want: true}, {key: "d1", at: 1, want: false}, {key: "d2", at: 1, want: true},
		}},
		{"keys are compared exactly", time.Minute, []claim{
			{key: "d1", want: true}, {key: "D1", want: true}, {key: " d1", want: true}, {key: "", want: true}, {key: "", want: false},
		}},
		{"seen until exactly the window, new after it", time.Minute, []claim{
			{key: "d1", want: true}, {key: "d1", at: 60, want: false}, {key: "d1", at: 60.001, want: true}, {key: "d1", at: 61, want: false},
		}},
		{"claiming a seen key does not extend its window", time.Minute, []claim{
			{key: "d1", want: true}, {key: "d1", at: 50, want: false}, {key: "d1", at: 70, want: true},
		}},
		{"release makes a key new again", time.Minute, []claim{
			{key: "d1", want: true}, {key: "d1", release: true}, {key: "d1", at: 1, want: true}, {key: "d1", at: 2, want: false},
			{key: "never claimed", release: true},
		}},
		{"no window: a key stays seen", 0, []claim{
			{key: "d1", want: true}, {key: "d1", at: 1e8, want: false},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewMemoryDedupe(10, tc.window)
			for i, s := range tc.steps {
				if s.release {
					if err := d.Release(ctx, s.key); err != nil {
						t.Fatal(err)
					}
					continue
				}
				got, err := d.Claim(ctx, s.key, at(s.at))
				if got != s.want || err != nil {
					t.Fatalf("step %d: Claim(%q) at %v = %v, %v; want %v", i, s.key, s.at, got, err, s.want)
				}
			}
		})
	}
}

func TestMemoryDedupeDropsExpiredKeys(t *testing.T) {
	ctx := context.Background()
	d := NewMemoryDedupe(100, time.Minute)
	for i := range 5 {
		_, _ = d.Claim(ctx, fmt.Sprint("old-", i), t0)
	}
	_, _ = d.Claim(ctx, "new", at(61))
	if d.Len() != 1 {
		t.Fatalf("Len = %d after the old keys expired, want 1", d.Len())
	}
}

func TestMemoryDedupeStoresHashesNotKeys(t *testing.T) {
	ctx := context.Background()
	d := NewMemoryDedupe(10, time.Minute)
	huge := strings.Repeat("x", 1<<20)
	if ok, _ := d.Claim(ctx, huge, t0); !ok {
		t.Fatal("first claim of a huge key is not new")
	}
	if ok, _ := d.Claim(ctx, huge, t0); ok {
		t.Fatal("second claim of a huge key is new")
	}
	recs := d.Export(t0)
	sum := sha256.Sum256([]byte(huge))
	if len(recs) != 1 || recs[0].Key != hex.EncodeToString(sum[:]) {
		t.Fatalf("Export = %+v, want the key's SHA-256", recs)
	}
}

// TestMemoryDedupeClaimIsAtomic races many Claims of the same keys: exactly
// one per key may win.
func TestMemoryDedupeClaimIsAtomic(t *testing.T) {
	ctx := context.Background()
	d := NewMemoryDedupe(1000, time.Minute)
	const keys, racers = 50, 16
	var wins [keys]atomic.Int32
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			for k := range keys {
				if ok, _ := d.Claim(ctx, fmt.Sprint("delivery-", k), t0); ok {
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
}

func TestMemoryDedupeStaysWithinMaxKeys(t *testing.T) {
	ctx := context.Background()
	for _, maxKeys := range []int{1, 100, 10000} {
		d := NewMemoryDedupe(maxKeys, time.Hour)
		total := 10 * maxKeys
		over := sampleBound(t, d.Len, maxKeys, func(g, workers int) {
			for i := g; i < total; i += workers {
				_, _ = d.Claim(ctx, fmt.Sprint("k", i), t0)
			}
		})
		if over != "" {
			t.Fatal(over)
		}
		if d.Len() != maxKeys || uint64(d.Len())+d.Evictions() != uint64(total) {
			t.Fatalf("max %d: Len = %d, Evictions = %d after %d new keys", maxKeys, d.Len(), d.Evictions(), total)
		}
	}
	// The oldest claims are the ones evicted.
	d := NewMemoryDedupe(2, time.Hour)
	for _, k := range []string{"a", "b", "c"} {
		_, _ = d.Claim(ctx, k, t0)
	}
	if ok, _ := d.Claim(ctx, "a", t0); !ok {
		t.Fatal("a, the oldest, was not evicted")
	}
}

func TestMemoryDedupeExportImport(t *testing.T) {
	ctx := context.Background()
	d := NewMemoryDedupe(10, time.Minute)
	_, _ = d.Claim(ctx, "b", at(-30))
	_, _ = d.Claim(ctx, "a", at(-90)) // expired at t0
	_, _ = d.Claim(ctx, "c", at(-10))
	recs := d.Export(t0)
	hash := func(k string) string { s := sha256.Sum256([]byte(k)); return hex.EncodeToString(s[:]) }
	want := []DedupeRecord{{Key: hash("b"), At: at(-30).UTC()}, {Key: hash("c"), At: at(-10).UTC()}}
	if !reflect.DeepEqual(recs, want) {
		t.Fatalf("Export = %+v, want %+v", recs, want)
	}
	data, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	var back []DedupeRecord
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	// Hostile or stale records are skipped; order does not matter.
	back = append([]DedupeRecord{
		{Key: "not hex at all", At: t0},
		{Key: hash("x")[:10], At: t0},
		{Key: hash("stale"), At: at(-61)},
		{Key: strings.ToUpper(hash("future")), At: at(1e6)},
	}, back...)
	restarted := NewMemoryDedupe(10, time.Minute)
	restarted.Import(back, t0)
	restarted.Import(back, t0)
	for _, tc := range []struct {
		key  string
		at   float64
		want bool
	}{
		{"b", 0, false}, {"c", 0, false}, {"stale", 0, true}, {"x", 0, true},
		{"future", 60, false}, // taken as claimed at t0
		{"b", 31, true},       // its window still counts from the original claim
	} {
		if got, _ := restarted.Claim(ctx, tc.key, at(tc.at)); got != tc.want {
			t.Errorf("after Import, Claim(%q) at %v = %v, want %v", tc.key, tc.at, got, tc.want)
		}
	}

	// A store smaller than the snapshot keeps the newest claims.
	small := NewMemoryDedupe(1, time.Minute)
	small.Import([]DedupeRecord{want[1], want[0]}, t0)
	if got := small.Export(t0); !reflect.DeepEqual(got, want[1:]) {
		t.Fatalf("1-key store after Import = %+v, want %+v", got, want[1:])
	}
}

package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The Claim/Confirm/Release contract (windows, leases, atomic claims) is
// tested for this store by indextest.RunDedupe (indextest/memory_test.go);
// what follows is specific to the memory store.

// store claims and confirms key at t, as the ingest pipeline does.
func store(t *testing.T, d *MemoryDedupe, key string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	if c, err := d.Claim(ctx, "src", key, at); c != Claimed || err != nil {
		t.Fatalf("Claim(%.20q) = %v, %v; want Claimed", key, c, err)
	}
	if err := d.Confirm(ctx, "src", key, at); err != nil {
		t.Fatal(err)
	}
}

func TestMemoryDedupeDropsExpiredKeys(t *testing.T) {
	ctx := context.Background()
	d := NewMemoryDedupe(100, time.Minute)
	for i := range 5 {
		store(t, d, fmt.Sprint("old-", i), t0)
	}
	_, _ = d.Claim(ctx, "src", "new", at(61))
	if d.Len() != 1 {
		t.Fatalf("Len = %d after the old keys expired, want 1", d.Len())
	}
}

func TestMemoryDedupeStoresHashesNotKeys(t *testing.T) {
	ctx := context.Background()
	d := NewMemoryDedupe(10, time.Minute)
	huge := strings.Repeat("x", 1<<20)
	store(t, d, huge, t0)
	if c, _ := d.Claim(ctx, "src", huge, t0); c != Seen {
		t.Fatalf("second claim of a huge key = %v, want Seen", c)
	}
	recs := d.Export(t0)
	sum := sha256.Sum256([]byte(huge))
	if len(recs) != 1 || recs[0].Key != hex.EncodeToString(sum[:]) {
		t.Fatalf("Export = %+v, want the key's SHA-256", recs)
	}
}

func TestMemoryDedupeStaysWithinMaxKeys(t *testing.T) {
	ctx := context.Background()
	for _, maxKeys := range []int{1, 100, 10000} {
		d := NewMemoryDedupe(maxKeys, time.Hour)
		total := 10 * maxKeys
		over := sampleBound(t, d.Len, maxKeys, func(g, workers int) {
			for i := g; i < total; i += workers {
				_, _ = d.Claim(ctx, "src", fmt.Sprint("k", i), t0)
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
		store(t, d, k, t0)
	}
	if c, _ := d.Claim(ctx, "src", "a", t0); c != Claimed {
		t.Fatal("a, the oldest, was not evicted")
	}
}

func TestMemoryDedupeExportImport(t *testing.T) {
	ctx := context.Background()
	d := NewMemoryDedupe(10, time.Minute)
	store(t, d, "b", at(-30))
	store(t, d, "a", at(-90)) // expired at t0
	store(t, d, "c", at(-10))
	_, _ = d.Claim(ctx, "src", "pending", at(-1)) // claimed, not confirmed: not saved
	recs := d.Export(t0)
	hash := func(k string) string { s := sha256.Sum256([]byte(k)); return hex.EncodeToString(s[:]) }
	want := []DedupeRecord{{Source: "src", Key: hash("b"), At: at(-30).UTC()}, {Source: "src", Key: hash("c"), At: at(-10).UTC()}}
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
		{Source: "src", Key: "not hex at all", At: t0},
		{Source: "src", Key: hash("x")[:10], At: t0},
		{Source: "src", Key: hash("stale"), At: at(-61)},
		{Key: hash("stale"), At: t0}, // no source (an older snapshot): matches none
		{Source: "src", Key: strings.ToUpper(hash("future")), At: at(1e6)},
	}, back...)
	restarted := NewMemoryDedupe(10, time.Minute)
	restarted.Import(back, t0)
	restarted.Import(back, t0)
	for _, tc := range []struct {
		key  string
		at   float64
		want ClaimState
	}{
		{"b", 0, Seen}, {"c", 0, Seen}, {"stale", 0, Claimed}, {"x", 0, Claimed}, {"pending", 0, Claimed},
		{"future", 60, Seen}, // taken as confirmed at t0
		{"b", 31, Claimed},   // its window still counts from the original confirmation
	} {
		if got, _ := restarted.Claim(ctx, "src", tc.key, at(tc.at)); got != tc.want {
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

// TestMemoryDedupeOneSourceCannotFlushAnother: a sender holding one
// source's secret posts far more distinct deliveries than the table holds;
// another source's key is still a duplicate, and the flood is counted as
// keys evicted inside their window.
func TestMemoryDedupeOneSourceCannotFlushAnother(t *testing.T) {
	ctx := context.Background()
	const perSource = 1000
	d := NewMemoryDedupe(perSource, time.Hour)
	if c, _ := d.Claim(ctx, "victim", "captured-delivery", t0); c != Claimed {
		t.Fatal("first claim")
	}
	must(t, d.Confirm(ctx, "victim", "captured-delivery", t0))
	for i := range 10 * perSource {
		if c, err := d.Claim(ctx, "flooder", fmt.Sprint("junk-", i), t0); c != Claimed || err != nil {
			t.Fatalf("flood claim %d = %v, %v", i, c, err)
		}
	}
	if c, _ := d.Claim(ctx, "victim", "captured-delivery", at(1)); c != Seen {
		t.Fatalf("the victim's replayed delivery = %v after another source's flood, want Seen", c)
	}
	if n := d.Len(); n != perSource+1 {
		t.Fatalf("Len = %d, want %d (the flooder's table full, the victim's key)", n, perSource+1)
	}
	young := d.EvictedInsideWindow()
	if young["victim"] != 0 || young["flooder"] < 9*perSource {
		t.Fatalf("EvictedInsideWindow = %v; want the flooder's evictions counted (%d), none of the victim's", young, 9*perSource)
	}
}

// TestMemoryDedupeEvictionsOutsideTheWindowAreNotYoung: a table sized for
// its rate evicts only expired keys (dropped as met), never live ones.
func TestMemoryDedupeEvictionsOutsideTheWindowAreNotYoung(t *testing.T) {
	d := NewMemoryDedupe(100, time.Minute) // 100 keys per minute: enough for one a second
	for i := range 600 {
		store(t, d, fmt.Sprint("k", i), at(float64(i)))
	}
	if young := d.EvictedInsideWindow(); young["src"] != 0 {
		t.Fatalf("EvictedInsideWindow = %v, want 0: every evicted key had outlived its window", young)
	}
}

// TestMemoryDedupeSourcesAreBounded: callers pass configured sources, but
// past MaxDedupeSources names the tables stop growing.
func TestMemoryDedupeSourcesAreBounded(t *testing.T) {
	ctx := context.Background()
	d := NewMemoryDedupe(1, time.Minute)
	for i := range MaxDedupeSources + 50 {
		_, _ = d.Claim(ctx, fmt.Sprint("source-", i), "k", t0)
	}
	if n := len(d.tables()); n != MaxDedupeSources+1 {
		t.Fatalf("%d tables, want %d (the bound and the shared overflow table)", n, MaxDedupeSources+1)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

package index

import (
	"fmt"
	"sync"
	"testing"
)

// putKey adds key k to s under its shard's lock.
func putKey(s *shards[string, int], k string) {
	sh := s.of(k)
	sh.mu.Lock()
	s.put(sh, k, 0)
	sh.mu.Unlock()
}

// TestShardsHoldExactlyTheirBound: a store of N holds N entries without
// evicting any, and evicts exactly one per new entry after that, however
// many shards it has.
func TestShardsHoldExactlyTheirBound(t *testing.T) {
	for _, tc := range []struct{ total, wantShards int }{
		{-5, 1}, {0, 1}, {1, 1}, {2, 1}, {255, 1}, {511, 1}, {512, 2}, {1000, 3},
		{8191, 31}, {8192, 32}, {100_001, 32},
	} {
		t.Run(fmt.Sprint(tc.total), func(t *testing.T) {
			s := newShards[string, int](tc.total)
			if len(s.list) != tc.wantShards {
				t.Fatalf("%d shards, want %d", len(s.list), tc.wantShards)
			}
			bound := max(tc.total, 1)
			for i := range bound {
				putKey(s, fmt.Sprint("k", i))
			}
			if s.len() != bound || s.evictions.Load() != 0 {
				t.Fatalf("after %d keys: len %d, evictions %d; want %d, 0", bound, s.len(), s.evictions.Load(), bound)
			}
			for i := range bound {
				putKey(s, fmt.Sprint("more", i))
			}
			if s.len() != bound || s.evictions.Load() != uint64(bound) {
				t.Fatalf("after %d more keys: len %d, evictions %d; want %d, %d", bound, s.len(), s.evictions.Load(), bound, bound)
			}
			held := 0
			for i := range s.list {
				held += s.list[i].lru.Len()
			}
			if held != bound {
				t.Fatalf("shards hold %d entries, the count says %d", held, bound)
			}
		})
	}
}

// keysInShard returns n keys that hash to s.list[idx].
func keysInShard(s *shards[string, int], idx, n int, prefix string) []string {
	var keys []string
	for i := 0; len(keys) < n; i++ {
		k := fmt.Sprint(prefix, i)
		if s.of(k) == &s.list[idx] {
			keys = append(keys, k)
		}
	}
	return keys
}

// TestShardsEvictFromAnotherShardWhenTheirsIsEmpty: all entries in one
// shard, and new keys for the empty shard: the first takes the place of the
// full shard's oldest entry; the next ones evict their own shard's oldest.
func TestShardsEvictFromAnotherShardWhenTheirsIsEmpty(t *testing.T) {
	s := newShards[string, int](512) // 2 shards
	full := keysInShard(s, 0, 512, "a")
	for _, k := range full {
		putKey(s, k)
	}
	other := keysInShard(s, 1, 3, "b")
	for _, k := range other {
		putKey(s, k)
	}
	if s.len() != 512 || s.evictions.Load() != 3 || s.list[0].lru.Len() != 511 || s.list[1].lru.Len() != 1 {
		t.Fatalf("len %d, evictions %d, shard sizes %d+%d; want 512, 3, 511+1",
			s.len(), s.evictions.Load(), s.list[0].lru.Len(), s.list[1].lru.Len())
	}
	if s.list[0].lru.Contains(full[0]) || !s.list[0].lru.Contains(full[1]) {
		t.Fatalf("the full shard did not give up exactly its oldest entry")
	}
	if !s.list[1].lru.Contains(other[2]) {
		t.Fatalf("the newest key is not held")
	}
}

// TestShardsBoundUnderConcurrency hammers a small multi-shard store, with
// removals, so the count and the shards must agree at the end; every
// goroutine works on keys of one shard so that cross-shard eviction is
// exercised too.
func TestShardsBoundUnderConcurrency(t *testing.T) {
	s := newShards[string, int](512) // 2 shards
	var wg sync.WaitGroup
	for g := range 8 {
		keys := keysInShard(s, g%2, 2000, fmt.Sprint("g", g, "-"))
		wg.Go(func() {
			for i, k := range keys {
				putKey(s, k)
				if i%3 == 0 {
					sh := s.of(keys[i/2])
					sh.mu.Lock()
					s.remove(sh, keys[i/2])
					sh.mu.Unlock()
				}
				if n := s.len(); n > 512 {
					t.Errorf("len %d above the bound", n)
					return
				}
			}
		})
	}
	wg.Wait()
	held := s.list[0].lru.Len() + s.list[1].lru.Len()
	if held != s.len() || held > 512 {
		t.Fatalf("shards hold %d, count %d, bound 512", held, s.len())
	}
}

// TestShardsSpreadKeys: a seeded hash spreads sequential ids over every
// shard.
func TestShardsSpreadKeys(t *testing.T) {
	s := newShards[string, int](100_000)
	counts := map[*shard[string, int]]int{}
	for i := range 32_000 {
		counts[s.of(fmt.Sprint("user_", i))]++
	}
	if len(counts) != 32 {
		t.Fatalf("keys reached %d of 32 shards", len(counts))
	}
	for _, n := range counts {
		if n < 700 || n > 1300 { // expected 1000 each; this is > 9 sigma away
			t.Fatalf("a shard got %d of 32000 keys, want about 1000", n)
		}
	}
}

package index

import (
	"fmt"
	"testing"
)

// TestShardSizesAddUpToTheBound: the shards of a store never hold more than
// its bound together, and small stores are not cut into tiny LRUs.
func TestShardSizesAddUpToTheBound(t *testing.T) {
	for _, tc := range []struct{ total, wantShards int }{
		{-5, 1}, {0, 1}, {1, 1}, {2, 1}, {255, 1}, {511, 1}, {512, 2}, {1000, 3},
		{8191, 31}, {8192, 32}, {100_000, 32}, {100_001, 32},
	} {
		t.Run(fmt.Sprint(tc.total), func(t *testing.T) {
			s := newShards[string, int](tc.total)
			if len(s.list) != tc.wantShards {
				t.Fatalf("%d shards, want %d", len(s.list), tc.wantShards)
			}
			sum, smallest, largest := 0, max(tc.total, 1), 0
			for i := range s.list {
				// Fill the shard past its size: it then holds exactly its size.
				sh := &s.list[i]
				for k := range max(tc.total, 1)/len(s.list) + 2 {
					s.add(sh, fmt.Sprint(k), k)
				}
				size := sh.lru.Len()
				sum += size
				smallest, largest = min(smallest, size), max(largest, size)
			}
			if want := max(tc.total, 1); sum != want {
				t.Fatalf("shard sizes add up to %d, want %d", sum, want)
			}
			if largest-smallest > 1 {
				t.Fatalf("shard sizes range from %d to %d, want them even", smallest, largest)
			}
		})
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

package index

import (
	"hash/maphash"
	"strconv"
	"testing"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// BenchmarkShards is the justification of shards.go: the same store
// operation (get a key, put it when missing, as Link and Claim do) on one
// LRU under one mutex ("1 shard", what collapsing the sharding would give)
// and on the 32 shards a large store uses, from every CPU. Run it at
// several parallelisms (BENCHMARKS.md has the figures and command):
//
//	go test -run '^$' -bench BenchmarkShards -cpu 1,4,16 ./index
func BenchmarkShards(b *testing.B) {
	const entries = 100_000
	keys := make([]string, entries)
	for i := range keys {
		keys[i] = "usr_" + strconv.Itoa(i)
	}
	for _, n := range []int{1, maxShards} {
		b.Run(strconv.Itoa(n)+"-shards", func(b *testing.B) {
			s := shardsOf[string, int](entries, n)
			for i, k := range keys {
				sh := s.of(k)
				sh.mu.Lock()
				s.put(sh, k, i)
				sh.mu.Unlock()
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					k := keys[(i*7919)%entries]
					sh := s.of(k)
					sh.mu.Lock()
					if _, ok := sh.lru.Get(k); !ok {
						s.put(sh, k, i)
					}
					sh.mu.Unlock()
					i++
				}
			})
		})
	}
}

// shardsOf is newShards with exactly n shards.
func shardsOf[K comparable, V any](total, n int) *shards[K, V] {
	s := &shards[K, V]{list: make([]shard[K, V], n), seed: maphash.MakeSeed(), max: int64(total)}
	for i := range s.list {
		lru, err := simplelru.NewLRU[K, V](total, nil)
		if err != nil {
			panic(err)
		}
		s.list[i].lru, s.list[i].idx = lru, i
	}
	return s
}

package index

import (
	"hash/maphash"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Sharding of the in-memory stores. Each store is split into shards, each an
// LRU under its own mutex, so that concurrent requests for different keys
// rarely wait on each other. The bound is global and exact: a counter of
// entries (changed only under a shard lock, by compare-and-swap) never goes
// above it, so a store configured for N entries holds N, not "about N". When
// the store is full, a new entry evicts the least recently used entry of its
// own shard; with a seeded hash the shards hold the same mix of old and new
// entries, so this is close to evicting the globally least recently used.
const (
	maxShards = 32
	// minPerShard keeps small stores in few shards, so that eviction from a
	// shard picks among enough entries to be close to a true LRU.
	minPerShard = 256
)

// lruCache is what a shard needs of its LRU: simplelru's methods, which
// simplelru.LRU has and userTable (the users index's pointer-light LRU)
// implements.
type lruCache[K comparable, V any] interface {
	Add(K, V) (evicted bool)
	Get(K) (V, bool)
	Peek(K) (V, bool)
	Contains(K) bool
	Remove(K) bool
	RemoveOldest() (K, V, bool)
	GetOldest() (K, V, bool)
	Keys() []K // least recently used first
	Len() int
}

// shard is one LRU and the lock that guards it. The LRUs are not safe for
// concurrent use: every access, including Get (which reorders), happens
// under mu. Entries are added and removed only through shards' methods,
// which keep the store's count.
type shard[K comparable, V any] struct {
	mu  sync.Mutex
	lru lruCache[K, V]
	idx int
	_   [40]byte // keep neighbouring shards' locks on separate cache lines
}

// shards is a bounded map split into LRU shards by a seeded hash of the key.
// The seed is random per store, so ids chosen by outsiders cannot be aimed
// at one shard.
type shards[K comparable, V any] struct {
	list      []shard[K, V]
	seed      maphash.Seed
	max       int64
	count     atomic.Int64 // entries held, plus at most one being added per shard
	evictions atomic.Uint64
	// dropped, when set, is told of every entry evicted or removed (under
	// its shard's lock): the activity store keeps its byte count with it.
	dropped func(V)
}

// newShards builds shards holding at most total entries together, each a
// simplelru. A total below 1 is raised to 1 (configuration never allows
// it).
func newShards[K comparable, V any](total int) *shards[K, V] {
	total = max(total, 1)
	return newShardsOf(total, func() lruCache[K, V] {
		// Each shard may hold the whole bound: the count enforces it.
		lru, err := simplelru.NewLRU[K, V](total, nil)
		if err != nil { // unreachable: total >= 1
			panic(err)
		}
		return lru
	})
}

// newShardsOf is newShards with each shard's LRU made by newLRU, which must
// not evict by itself: the shards keep the bound.
func newShardsOf[K comparable, V any](total int, newLRU func() lruCache[K, V]) *shards[K, V] {
	total = max(total, 1)
	n := min(maxShards, max(1, total/minPerShard))
	s := &shards[K, V]{list: make([]shard[K, V], n), seed: maphash.MakeSeed(), max: int64(total)}
	for i := range s.list {
		s.list[i].lru, s.list[i].idx = newLRU(), i
	}
	return s
}

// of returns the shard that holds k.
func (s *shards[K, V]) of(k K) *shard[K, V] {
	if len(s.list) == 1 {
		return &s.list[0]
	}
	return &s.list[maphash.Comparable(s.seed, k)%uint64(len(s.list))]
}

// put stores k → v in sh, whose lock the caller holds, and makes k the
// shard's most recently used. A new key may evict an entry to stay within
// the bound (counted in evictions).
func (s *shards[K, V]) put(sh *shard[K, V], k K, v V) {
	if sh.lru.Contains(k) {
		sh.lru.Add(k, v) // replaces in place: never evicts
		return
	}
	s.makeRoom(sh)
	if sh.lru.Add(k, v) { // unreachable: no shard holds more than the bound
		s.count.Add(-1)
		s.evictions.Add(1)
	}
}

// makeRoom reserves the count for one new entry in sh (locked by the
// caller): from the free room if any, else by evicting the oldest entry of
// sh, else (sh is empty) the oldest entry of another shard. Another shard is
// only ever try-locked while sh is held, so two shards never wait on each
// other; a goroutine left waiting holds an empty shard, and shards with
// entries are held only by goroutines that do not wait.
func (s *shards[K, V]) makeRoom(sh *shard[K, V]) {
	for {
		c := s.count.Load()
		if c < s.max {
			if s.count.CompareAndSwap(c, c+1) {
				return
			}
			continue
		}
		if sh.lru.Len() > 0 {
			_, v, _ := sh.lru.RemoveOldest() // its count passes to the new entry
			s.drop(v)
			s.evictions.Add(1)
			return
		}
		for i := 1; i < len(s.list); i++ {
			o := &s.list[(sh.idx+i)%len(s.list)]
			if !o.mu.TryLock() {
				continue
			}
			_, v, ok := o.lru.RemoveOldest()
			if ok {
				s.drop(v)
			}
			o.mu.Unlock()
			if ok {
				s.evictions.Add(1)
				return
			}
		}
		runtime.Gosched() // the entries are being added right now: retry
	}
}

// remove deletes k from sh (locked by the caller), reporting whether it was
// there. Removals are not evictions.
func (s *shards[K, V]) remove(sh *shard[K, V], k K) bool {
	if s.dropped != nil {
		if v, ok := sh.lru.Peek(k); ok {
			s.dropped(v)
		}
	}
	if sh.lru.Remove(k) {
		s.count.Add(-1)
		return true
	}
	return false
}

// removeOldest deletes sh's least recently used entry (sh locked by the
// caller).
func (s *shards[K, V]) removeOldest(sh *shard[K, V]) {
	if _, v, ok := sh.lru.RemoveOldest(); ok {
		s.drop(v)
		s.count.Add(-1)
	}
}

func (s *shards[K, V]) drop(v V) {
	if s.dropped != nil {
		s.dropped(v)
	}
}

// len is the number of entries held, never above the bound.
func (s *shards[K, V]) len() int { return int(s.count.Load()) }

// exportLRU converts every entry with conv and returns the results least
// recently used first, in eachLRU's order (exact within a shard, shards
// interleaved by relative position). conv returns false to leave an entry
// out.
func exportLRU[K comparable, V any, R any](s *shards[K, V], conv func(k K, v V) (R, bool)) []R {
	out := make([]R, 0, s.len())
	_ = eachLRU(s, conv, func(r R) error { out = append(out, r); return nil }) // emit never fails
	return out
}

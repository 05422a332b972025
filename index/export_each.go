package index

import (
	"cmp"
	"slices"
	"time"
)

// eachLRU is exportLRU one record at a time: it holds the keys of every
// entry (in exportLRU's order) but builds each record only when it hands
// it to emit, under its shard's lock for that one entry, so a snapshot of
// a large store costs its keys, not a copy of its values. An entry removed
// meanwhile is left out.
func eachLRU[K comparable, V any, R any](s *shards[K, V], conv func(k K, v V) (R, bool), emit func(R) error) error {
	type ranked struct {
		rank  float64
		shard int
		key   K
	}
	var all []ranked
	for i := range s.list {
		sh := &s.list[i]
		sh.mu.Lock()
		keys := sh.lru.Keys() // oldest first
		for j, k := range keys {
			all = append(all, ranked{rank: (float64(j) + 0.5) / float64(len(keys)), shard: i, key: k})
		}
		sh.mu.Unlock()
	}
	slices.SortStableFunc(all, func(a, b ranked) int { return cmp.Compare(a.rank, b.rank) })
	for _, r := range all {
		sh := &s.list[r.shard]
		sh.mu.Lock()
		v, ok := sh.lru.Peek(r.key)
		var rec R
		if ok {
			rec, ok = conv(r.key, v)
		}
		sh.mu.Unlock()
		if !ok {
			continue
		}
		if err := emit(rec); err != nil {
			return err
		}
	}
	return nil
}

// ExportEach hands emit every session as Export returns them, one at a
// time (the snapshot streams them to disk); an emit error stops it.
func (m *MemoryActivity) ExportEach(emit func(SessionRecord) error) error {
	return eachLRU(m.sessions, sessionRecord, emit)
}

// ExportEach hands emit every user as Export(now) returns them, one at a
// time (the snapshot streams them to disk); an emit error stops it.
func (m *MemoryUsers) ExportEach(now time.Time, emit func(UserRecord) error) error {
	return eachLRU(m.users, userRecord(cutoffSeconds(now, m.lookback)), emit)
}

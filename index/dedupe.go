package index

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"
)

// MemoryDedupe is the in-memory Deduper, safe for concurrent use. It stores
// the SHA-256 of each key, never the key itself, so its memory per key is
// fixed whatever senders put in their delivery ids. It is bounded by count
// (the least recently claimed key is evicted first) and by age (a key
// claimed more than the window ago no longer counts as seen). A bound below
// 1 is taken as 1; a window <= 0 means no age limit.
type MemoryDedupe struct {
	window time.Duration
	keys   *shards[[sha256.Size]byte, int64] // claim time, unix ns
}

var _ Deduper = (*MemoryDedupe)(nil)

// NewMemoryDedupe returns an empty deduper holding at most maxKeys keys for
// at most window each.
func NewMemoryDedupe(maxKeys int, window time.Duration) *MemoryDedupe {
	return &MemoryDedupe{window: window, keys: newShards[[sha256.Size]byte, int64](maxKeys)}
}

// Claim reports whether key is new, and marks it seen at now if so. A key
// claimed within the window is not new, and claiming it again does not
// extend its window. Two concurrent Claims of one key: exactly one is true.
// Expired keys are dropped as Claim meets them. It never fails.
func (d *MemoryDedupe) Claim(_ context.Context, key string, now time.Time) (bool, error) {
	h := sha256.Sum256([]byte(key))
	nowN := now.UnixNano()
	sh := d.keys.of(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if at, ok := sh.lru.Peek(h); ok && fresh(at, nowN, d.window) {
		return false, nil
	}
	d.keys.put(sh, h, nowN)
	// Keys are claimed in time order, so the shard's least recently used
	// keys are its oldest: drop those out of the window.
	for {
		_, at, ok := sh.lru.GetOldest()
		if !ok || fresh(at, nowN, d.window) {
			break
		}
		d.keys.removeOldest(sh)
	}
	return true, nil
}

// Release forgets key, so that the vendor's retry of a delivery that could
// not be stored is not taken for a duplicate. It never fails.
func (d *MemoryDedupe) Release(_ context.Context, key string) error {
	h := sha256.Sum256([]byte(key))
	sh := d.keys.of(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	d.keys.remove(sh, h)
	return nil
}

// Len is the number of keys held, at most maxKeys. It may count keys that
// have expired but were not yet dropped.
func (d *MemoryDedupe) Len() int { return d.keys.len() }

// Evictions is the number of keys evicted so far to stay within maxKeys
// (not counting expiry or Release).
func (d *MemoryDedupe) Evictions() uint64 { return d.keys.evictions.Load() }

// DedupeRecord is one claimed key in a snapshot of a MemoryDedupe.
type DedupeRecord struct {
	Key string    `json:"key"` // lowercase hex of the key's SHA-256
	At  time.Time `json:"at"`  // when it was claimed
}

// Export returns the keys still inside the window at now, oldest claim
// first.
func (d *MemoryDedupe) Export(now time.Time) []DedupeRecord {
	nowN := now.UnixNano()
	recs := exportLRU(d.keys, func(h [sha256.Size]byte, at int64) (DedupeRecord, bool) {
		return DedupeRecord{Key: hex.EncodeToString(h[:]), At: time.Unix(0, at).UTC()}, fresh(at, nowN, d.window)
	})
	slices.SortStableFunc(recs, func(a, b DedupeRecord) int { return a.At.Compare(b.At) })
	return recs
}

// Import marks every record's key as claimed at its At, oldest first
// whatever the order of recs, so that when they exceed maxKeys the oldest
// are evicted. Records whose key is not 64 hex digits, or that are out of
// the window at now, are skipped; times after now are taken as now. A key
// already held keeps the later of the two times.
func (d *MemoryDedupe) Import(recs []DedupeRecord, now time.Time) {
	type claim struct {
		h  [sha256.Size]byte
		at int64
	}
	nowN := now.UnixNano()
	claims := make([]claim, 0, len(recs))
	for _, r := range recs {
		var c claim
		if len(r.Key) != hex.EncodedLen(sha256.Size) {
			continue
		}
		if _, err := hex.Decode(c.h[:], []byte(r.Key)); err != nil {
			continue
		}
		c.at = unixNanos(r.At, now)
		if fresh(c.at, nowN, d.window) {
			claims = append(claims, c)
		}
	}
	slices.SortStableFunc(claims, func(a, b claim) int { return cmp.Compare(a.at, b.at) })
	for _, c := range claims {
		sh := d.keys.of(c.h)
		sh.mu.Lock()
		if at, ok := sh.lru.Peek(c.h); !ok || at < c.at {
			d.keys.put(sh, c.h, c.at)
		}
		sh.mu.Unlock()
	}
}

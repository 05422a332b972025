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
// confirmed more than the window ago no longer counts as seen; a claim not
// confirmed within ClaimLease lapses). A bound below 1 is taken as 1; a
// window <= 0 means no age limit.
type MemoryDedupe struct {
	window time.Duration
	keys   *shards[[sha256.Size]byte, claimRec]
}

// claimRec is one key's claim (pending) or confirmation, unix ns.
type claimRec struct {
	at      int64
	pending bool
}

// live reports whether r still holds its key at now: a confirmation inside
// the window, a pending claim inside the lease.
func (r claimRec) live(now int64, window time.Duration) bool {
	if r.pending {
		return fresh(r.at, now, ClaimLease)
	}
	return fresh(r.at, now, window)
}

var _ Deduper = (*MemoryDedupe)(nil)

// NewMemoryDedupe returns an empty deduper holding at most maxKeys keys for
// at most window each.
func NewMemoryDedupe(maxKeys int, window time.Duration) *MemoryDedupe {
	// Keys and records hold no pointers: newFlatLRU keeps them where the
	// collector never looks.
	return &MemoryDedupe{window: window, keys: newShardsOf(maxKeys, newFlatLRU[[sha256.Size]byte, claimRec])}
}

// Claim claims key at now if no live claim or confirmation holds it (see
// Deduper). A confirmed key's window is not extended by claiming it again.
// Two concurrent Claims of one key: exactly one is Claimed. Expired keys
// are dropped as Claim meets them. It never fails.
func (d *MemoryDedupe) Claim(_ context.Context, key string, now time.Time) (ClaimState, error) {
	h := sha256.Sum256([]byte(key))
	nowN := now.UnixNano()
	sh := d.keys.of(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r, ok := sh.lru.Peek(h); ok && r.live(nowN, d.window) {
		if r.pending {
			return InFlight, nil
		}
		return Seen, nil
	}
	d.keys.put(sh, h, claimRec{at: nowN, pending: true})
	// Keys are claimed in time order, so the shard's least recently used
	// keys are its oldest: drop those no longer live.
	for {
		_, r, ok := sh.lru.GetOldest()
		if !ok || r.live(nowN, d.window) {
			break
		}
		d.keys.removeOldest(sh)
	}
	return Claimed, nil
}

// Confirm marks key stored at now (claimed or not: the delivery is stored
// either way). It never fails.
func (d *MemoryDedupe) Confirm(_ context.Context, key string, now time.Time) error {
	h := sha256.Sum256([]byte(key))
	sh := d.keys.of(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r, ok := sh.lru.Peek(h); ok && !r.pending && r.live(now.UnixNano(), d.window) {
		return nil // confirmed already: its window is not extended
	}
	d.keys.put(sh, h, claimRec{at: now.UnixNano()})
	return nil
}

// Release forgets an unconfirmed claim of key, so that the vendor's retry of
// a delivery that could not be stored is processed at once. A confirmed key
// is kept. It never fails.
func (d *MemoryDedupe) Release(_ context.Context, key string) error {
	h := sha256.Sum256([]byte(key))
	sh := d.keys.of(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r, ok := sh.lru.Peek(h); ok && r.pending {
		d.keys.remove(sh, h)
	}
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

// Export returns the confirmed keys still inside the window at now, oldest
// first (pending claims belong to requests of this process, which are
// over when it saves its state).
func (d *MemoryDedupe) Export(now time.Time) []DedupeRecord {
	nowN := now.UnixNano()
	recs := exportLRU(d.keys, func(h [sha256.Size]byte, r claimRec) (DedupeRecord, bool) {
		return DedupeRecord{Key: hex.EncodeToString(h[:]), At: time.Unix(0, r.at).UTC()}, !r.pending && fresh(r.at, nowN, d.window)
	})
	slices.SortStableFunc(recs, func(a, b DedupeRecord) int { return a.At.Compare(b.At) })
	return recs
}

// Import marks every record's key as confirmed at its At, oldest first
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
		if r, ok := sh.lru.Peek(c.h); !ok || r.pending || r.at < c.at {
			d.keys.put(sh, c.h, claimRec{at: c.at})
		}
		sh.mu.Unlock()
	}
}

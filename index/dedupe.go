package index

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MemoryDedupe is the in-memory Deduper, safe for concurrent use. Each
// source has a table of its own, bounded by count (the least recently
// claimed key of that source is evicted first): one source's deliveries
// never evict another's keys, so a sender holding one source's secret
// cannot flush the replay protection of the others. A table stores the
// SHA-256 of each key, never the key itself, so its memory per key is
// fixed whatever senders put in their delivery ids. Keys are also bounded
// by age (a key confirmed more than the window ago no longer counts as
// seen; a claim not confirmed within ClaimLease lapses). A bound below 1
// is taken as 1; a window <= 0 means no age limit.
//
// Sources are the configured ones (ingest claims only for those); past
// MaxDedupeSources names, further ones share one table, so the memory
// stays bounded whatever the callers pass.
type MemoryDedupe struct {
	window    time.Duration
	perSource int

	// sources maps a source name to its *dedupeTable: read on every call
	// without a lock (sync.Map: written once per source, read always).
	sources sync.Map
	mu      sync.Mutex // serialises creating tables
	n       int        // tables created, under mu
}

// MaxDedupeSources bounds the tables of a MemoryDedupe.
const MaxDedupeSources = 1024

// overflowSource names the table shared by sources past MaxDedupeSources.
const overflowSource = "\x00overflow"

// dedupeTable is one source's keys.
type dedupeTable struct {
	keys *shards[[sha256.Size]byte, claimRec]
	// young counts keys evicted for room while still inside their window
	// (or lease): the table is too small for the source's rate, and a
	// replay of such a key would be accepted.
	young atomic.Uint64
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

// NewMemoryDedupe returns an empty deduper holding at most
// maxKeysPerSource keys per source for at most window each.
func NewMemoryDedupe(maxKeysPerSource int, window time.Duration) *MemoryDedupe {
	return &MemoryDedupe{window: window, perSource: max(maxKeysPerSource, 1)}
}

// table returns source's table, creating it on first use.
func (d *MemoryDedupe) table(source string) *dedupeTable {
	if t, ok := d.sources.Load(source); ok {
		return t.(*dedupeTable)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.sources.Load(source); ok {
		return t.(*dedupeTable)
	}
	if d.n >= MaxDedupeSources {
		source = overflowSource
		if t, ok := d.sources.Load(source); ok {
			return t.(*dedupeTable)
		}
	}
	// Keys and records hold no pointers: newFlatLRU keeps them where the
	// collector never looks.
	t := &dedupeTable{keys: newShardsOf(d.perSource, newFlatLRU[[sha256.Size]byte, claimRec])}
	d.sources.Store(source, t)
	d.n++
	return t
}

// tables returns every table by source name.
func (d *MemoryDedupe) tables() map[string]*dedupeTable {
	out := map[string]*dedupeTable{}
	d.sources.Range(func(k, v any) bool {
		out[k.(string)] = v.(*dedupeTable)
		return true
	})
	return out
}

// Claim claims source's key at now if no live claim or confirmation holds
// it (see Deduper). A confirmed key's window is not extended by claiming
// it again. Two concurrent Claims of one key: exactly one is Claimed.
// Expired keys are dropped as Claim meets them. It never fails.
func (d *MemoryDedupe) Claim(_ context.Context, source, key string, now time.Time) (ClaimState, error) {
	t := d.table(source)
	h := sha256.Sum256([]byte(key))
	nowN := now.UnixNano()
	sh := t.keys.of(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r, held := sh.lru.Peek(h)
	if held && r.live(nowN, d.window) {
		if r.pending {
			return InFlight, nil
		}
		return Seen, nil
	}
	// Keys are claimed in time order, so the shard's least recently used
	// keys are its oldest: drop those no longer live.
	for {
		_, r, ok := sh.lru.GetOldest()
		if !ok || r.live(nowN, d.window) {
			break
		}
		t.keys.removeOldest(sh)
	}
	if !held && t.keys.len() >= d.perSource {
		// The new key evicts the shard's oldest, which is live: count it.
		if _, r, ok := sh.lru.GetOldest(); ok && r.live(nowN, d.window) {
			t.young.Add(1)
		}
	}
	t.keys.put(sh, h, claimRec{at: nowN, pending: true})
	return Claimed, nil
}

// Confirm marks source's key stored at now (claimed or not: the delivery
// is stored either way). It never fails.
func (d *MemoryDedupe) Confirm(_ context.Context, source, key string, now time.Time) error {
	t := d.table(source)
	h := sha256.Sum256([]byte(key))
	sh := t.keys.of(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r, ok := sh.lru.Peek(h); ok && !r.pending && r.live(now.UnixNano(), d.window) {
		return nil // confirmed already: its window is not extended
	}
	t.keys.put(sh, h, claimRec{at: now.UnixNano()})
	return nil
}

// Release forgets an unconfirmed claim of source's key, so that the
// vendor's retry of a delivery that could not be stored is processed at
// once. A confirmed key is kept. It never fails.
func (d *MemoryDedupe) Release(_ context.Context, source, key string) error {
	t := d.table(source)
	h := sha256.Sum256([]byte(key))
	sh := t.keys.of(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r, ok := sh.lru.Peek(h); ok && r.pending {
		t.keys.remove(sh, h)
	}
	return nil
}

// Len is the number of keys held, at most maxKeysPerSource per source.
// It may count keys that have expired but were not yet dropped.
func (d *MemoryDedupe) Len() int {
	n := 0
	for _, t := range d.tables() {
		n += t.keys.len()
	}
	return n
}

// Evictions is the number of keys evicted so far to stay within
// maxKeysPerSource (not counting expiry or Release).
func (d *MemoryDedupe) Evictions() uint64 {
	var n uint64
	for _, t := range d.tables() {
		n += t.keys.evictions.Load()
	}
	return n
}

// EvictedInsideWindow is, per source, the number of keys evicted for room
// while still inside their window: the source's table is too small for
// its delivery rate (dedupe.max_keys below rate × window), and a replay
// of such a key would be accepted as new.
func (d *MemoryDedupe) EvictedInsideWindow() map[string]uint64 {
	out := map[string]uint64{}
	for name, t := range d.tables() {
		out[name] = t.young.Load()
	}
	return out
}

// DedupeRecord is one claimed key in a snapshot of a MemoryDedupe.
type DedupeRecord struct {
	// Source is the key's source ("" in snapshots written before keys
	// were kept per source: such records match no source and are skipped).
	Source string    `json:"source,omitempty"`
	Key    string    `json:"key"` // lowercase hex of the key's SHA-256
	At     time.Time `json:"at"`  // when it was claimed
}

// Export returns the confirmed keys still inside the window at now, oldest
// first (pending claims belong to requests of this process, which are
// over when it saves its state).
func (d *MemoryDedupe) Export(now time.Time) []DedupeRecord {
	nowN := now.UnixNano()
	var recs []DedupeRecord
	for name, t := range d.tables() {
		recs = append(recs, exportLRU(t.keys, func(h [sha256.Size]byte, r claimRec) (DedupeRecord, bool) {
			return DedupeRecord{Source: name, Key: hex.EncodeToString(h[:]), At: time.Unix(0, r.at).UTC()}, !r.pending && fresh(r.at, nowN, d.window)
		})...)
	}
	slices.SortStableFunc(recs, func(a, b DedupeRecord) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.Source, b.Source)
	})
	return recs
}

// Import marks every record's key as confirmed at its At, oldest first
// whatever the order of recs, so that when they exceed maxKeysPerSource
// the oldest are evicted. Records without a source, whose key is not 64
// hex digits, or that are out of the window at now, are skipped; times
// after now are taken as now. A key already held keeps the later of the
// two times.
func (d *MemoryDedupe) Import(recs []DedupeRecord, now time.Time) {
	type claim struct {
		source string
		h      [sha256.Size]byte
		at     int64
	}
	nowN := now.UnixNano()
	claims := make([]claim, 0, len(recs))
	for _, r := range recs {
		c := claim{source: r.Source}
		if c.source == "" || len(r.Key) != hex.EncodedLen(sha256.Size) {
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
		t := d.table(c.source)
		sh := t.keys.of(c.h)
		sh.mu.Lock()
		if r, ok := sh.lru.Peek(c.h); !ok || r.pending || r.at < c.at {
			t.keys.put(sh, c.h, claimRec{at: c.at})
		}
		sh.mu.Unlock()
	}
}

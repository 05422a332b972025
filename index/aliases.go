package index

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/replayhook/replayhook/normalize"
)

// MemoryAliases is the in-memory Aliases, safe for concurrent use: (product,
// anonymous id) → identified user, bounded by count (the least recently used id is
// evicted first) and by age (an alias not remembered again within ttl is
// forgotten). Ids and emails are trimmed; case is kept. A bound below 1 is
// taken as 1; a ttl <= 0 means no age limit.
type MemoryAliases struct {
	ttl time.Duration
	ids *shards[aliasKey, aliasEntry]
}

// aliasKey is an anonymous id within its product.
type aliasKey struct{ product, anon string }

// aliasEntry is who an anonymous id belongs to, and since when.
type aliasEntry struct {
	userID, email string
	at            int64 // last Remember, unix ns
}

var _ Aliases = (*MemoryAliases)(nil)

// NewMemoryAliases returns an empty alias table holding at most maxIDs
// anonymous ids for at most ttl each.
func NewMemoryAliases(maxIDs int, ttl time.Duration) *MemoryAliases {
	return &MemoryAliases{ttl: ttl, ids: newShards[aliasKey, aliasEntry](maxIDs)}
}

// Remember records that id.AnonymousID belongs to id.UserID in product, as
// of now. It is a no-op when either id is empty after trimming (product is
// trimmed too). A non-empty email replaces
// the remembered one; an empty email keeps it only if the user is the same.
// Remembering restarts the alias's ttl. It never fails.
func (a *MemoryAliases) Remember(_ context.Context, product string, id normalize.Identity, now time.Time) error {
	k := aliasKey{product: cleanID(product), anon: cleanID(id.AnonymousID)}
	user, email := cleanID(id.UserID), cleanID(id.Email)
	if k.anon == "" || user == "" {
		return nil
	}
	sh := a.ids.of(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	a.remember(sh, k, user, email, now.UnixNano())
	return nil
}

// remember stores anon → user under sh's lock, reusing stored strings that
// did not change.
func (a *MemoryAliases) remember(sh *shard[aliasKey, aliasEntry], k aliasKey, user, email string, at int64) {
	old, found := sh.lru.Peek(k)
	e := aliasEntry{userID: old.userID, email: old.email, at: at}
	if !found || user != old.userID {
		e.userID, e.email = ownID(user), ""
	}
	if email != "" && email != e.email {
		e.email = ownID(email)
	}
	if !found {
		k.product, k.anon = ownPair(k.product, k.anon)
	}
	a.ids.put(sh, k, e)
}

// Resolve returns who anonymousID (trimmed) belongs to in product; ok is
// false when it is unknown there or its ttl ran out (the alias is then
// dropped). Resolve never
// creates an entry; finding one makes it the most recently used. It never
// fails.
func (a *MemoryAliases) Resolve(_ context.Context, product, anonymousID string, now time.Time) (normalize.Identity, bool, error) {
	k := aliasKey{product: cleanID(product), anon: cleanID(anonymousID)}
	if k.anon == "" {
		return normalize.Identity{}, false, nil
	}
	sh := a.ids.of(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.lru.Get(k)
	if !ok {
		return normalize.Identity{}, false, nil
	}
	if !fresh(e.at, now.UnixNano(), a.ttl) {
		a.ids.remove(sh, k)
		return normalize.Identity{}, false, nil
	}
	return normalize.Identity{AnonymousID: k.anon, UserID: e.userID, Email: e.email}, true, nil
}

// ForgetUser drops every alias of userID (trimmed), in every product, and
// returns how many. It walks the whole table, one shard lock at a time:
// O(aliases held), for erasure, which is rare. It never fails.
func (a *MemoryAliases) ForgetUser(_ context.Context, userID string) (int, error) {
	user := cleanID(userID)
	if user == "" {
		return 0, nil
	}
	n := 0
	for i := range a.ids.list {
		sh := &a.ids.list[i]
		sh.mu.Lock()
		for _, k := range sh.lru.Keys() {
			if e, _ := sh.lru.Peek(k); e.userID == user && a.ids.remove(sh, k) {
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n, nil
}

// Len is the number of anonymous ids held, at most maxIDs. It may count
// aliases whose ttl ran out but that were not read since.
func (a *MemoryAliases) Len() int { return a.ids.len() }

// Evictions is the number of aliases evicted so far to stay within maxIDs
// (not counting expiry).
func (a *MemoryAliases) Evictions() uint64 { return a.ids.evictions.Load() }

// AliasRecord is one alias in a snapshot of a MemoryAliases.
type AliasRecord struct {
	// ProductID is the alias's product ("" in snapshots written before
	// aliases were kept per product: the scope of sources without one).
	ProductID   string    `json:"product_id,omitempty"`
	AnonymousID string    `json:"anonymous_id"`
	UserID      string    `json:"user_id"`
	Email       string    `json:"email,omitempty"`
	At          time.Time `json:"at"` // last remembered
}

// Export returns the aliases still inside their ttl at now, least recently
// remembered first.
func (a *MemoryAliases) Export(now time.Time) []AliasRecord {
	nowN := now.UnixNano()
	recs := exportLRU(a.ids, func(k aliasKey, e aliasEntry) (AliasRecord, bool) {
		return AliasRecord{ProductID: k.product, AnonymousID: k.anon, UserID: e.userID, Email: e.email, At: time.Unix(0, e.at).UTC()}, fresh(e.at, nowN, a.ttl)
	})
	slices.SortStableFunc(recs, func(x, y AliasRecord) int { return x.At.Compare(y.At) })
	return recs
}

// Import remembers every record as of its At, oldest first whatever the
// order of recs, so that when they exceed maxIDs the oldest are evicted.
// Records with an empty id, or whose ttl ran out at now, are skipped; times
// after now are taken as now. An alias already held is replaced only by a
// record at least as recent.
func (a *MemoryAliases) Import(recs []AliasRecord, now time.Time) {
	type alias struct {
		key         aliasKey
		user, email string
		at          int64
	}
	nowN := now.UnixNano()
	list := make([]alias, 0, len(recs))
	for _, r := range recs {
		al := alias{aliasKey{cleanID(r.ProductID), cleanID(r.AnonymousID)}, cleanID(r.UserID), cleanID(r.Email), unixNanos(r.At, now)}
		if al.key.anon != "" && al.user != "" && fresh(al.at, nowN, a.ttl) {
			list = append(list, al)
		}
	}
	slices.SortStableFunc(list, func(x, y alias) int { return cmp.Compare(x.at, y.at) })
	for _, al := range list {
		sh := a.ids.of(al.key)
		sh.mu.Lock()
		if old, ok := sh.lru.Peek(al.key); !ok || old.at <= al.at {
			a.remember(sh, al.key, al.user, al.email, al.at)
		}
		sh.mu.Unlock()
	}
}

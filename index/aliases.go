package index

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/replayhook/replayhook/normalize"
)

// MemoryAliases is the in-memory Aliases, safe for concurrent use: anonymous
// id → identified user, bounded by count (the least recently used id is
// evicted first) and by age (an alias not remembered again within ttl is
// forgotten). Ids and emails are trimmed; case is kept. A bound below 1 is
// taken as 1; a ttl <= 0 means no age limit.
type MemoryAliases struct {
	ttl time.Duration
	ids *shards[string, aliasEntry]
}

// aliasEntry is who an anonymous id belongs to, and since when.
type aliasEntry struct {
	userID, email string
	at            int64 // last Remember, unix ns
}

var _ Aliases = (*MemoryAliases)(nil)

// NewMemoryAliases returns an empty alias table holding at most maxIDs
// anonymous ids for at most ttl each.
func NewMemoryAliases(maxIDs int, ttl time.Duration) *MemoryAliases {
	return &MemoryAliases{ttl: ttl, ids: newShards[string, aliasEntry](maxIDs)}
}

// Remember records that id.AnonymousID belongs to id.UserID, as of now. It is
// a no-op when either id is empty after trimming. A non-empty email replaces
// the remembered one; an empty email keeps it only if the user is the same.
// Remembering restarts the alias's ttl. It never fails.
func (a *MemoryAliases) Remember(_ context.Context, id normalize.Identity, now time.Time) error {
	anon, user, email := cleanID(id.AnonymousID), cleanID(id.UserID), cleanID(id.Email)
	if anon == "" || user == "" {
		return nil
	}
	sh := a.ids.of(anon)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	a.remember(sh, anon, user, email, now.UnixNano())
	return nil
}

// remember stores anon → user under sh's lock, reusing stored strings that
// did not change.
func (a *MemoryAliases) remember(sh *shard[string, aliasEntry], anon, user, email string, at int64) {
	old, found := sh.lru.Peek(anon)
	e := aliasEntry{userID: old.userID, email: old.email, at: at}
	if !found || user != old.userID {
		e.userID, e.email = ownID(user), ""
	}
	if email != "" && email != e.email {
		e.email = ownID(email)
	}
	if !found {
		anon = ownID(anon)
	}
	a.ids.put(sh, anon, e)
}

// Resolve returns who anonymousID (trimmed) belongs to; ok is false when it
// is unknown or its ttl ran out (the alias is then dropped). Resolve never
// creates an entry; finding one makes it the most recently used. It never
// fails.
func (a *MemoryAliases) Resolve(_ context.Context, anonymousID string, now time.Time) (normalize.Identity, bool, error) {
	anon := cleanID(anonymousID)
	if anon == "" {
		return normalize.Identity{}, false, nil
	}
	sh := a.ids.of(anon)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.lru.Get(anon)
	if !ok {
		return normalize.Identity{}, false, nil
	}
	if !fresh(e.at, now.UnixNano(), a.ttl) {
		a.ids.remove(sh, anon)
		return normalize.Identity{}, false, nil
	}
	return normalize.Identity{AnonymousID: anon, UserID: e.userID, Email: e.email}, true, nil
}

// Len is the number of anonymous ids held, at most maxIDs. It may count
// aliases whose ttl ran out but that were not read since.
func (a *MemoryAliases) Len() int { return a.ids.len() }

// Evictions is the number of aliases evicted so far to stay within maxIDs
// (not counting expiry).
func (a *MemoryAliases) Evictions() uint64 { return a.ids.evictions.Load() }

// AliasRecord is one alias in a snapshot of a MemoryAliases.
type AliasRecord struct {
	AnonymousID string    `json:"anonymous_id"`
	UserID      string    `json:"user_id"`
	Email       string    `json:"email,omitempty"`
	At          time.Time `json:"at"` // last remembered
}

// Export returns the aliases still inside their ttl at now, least recently
// remembered first.
func (a *MemoryAliases) Export(now time.Time) []AliasRecord {
	nowN := now.UnixNano()
	recs := exportLRU(a.ids, func(anon string, e aliasEntry) (AliasRecord, bool) {
		return AliasRecord{AnonymousID: anon, UserID: e.userID, Email: e.email, At: time.Unix(0, e.at).UTC()}, fresh(e.at, nowN, a.ttl)
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
		anon, user, email string
		at                int64
	}
	nowN := now.UnixNano()
	list := make([]alias, 0, len(recs))
	for _, r := range recs {
		al := alias{cleanID(r.AnonymousID), cleanID(r.UserID), cleanID(r.Email), unixNanos(r.At, now)}
		if al.anon != "" && al.user != "" && fresh(al.at, nowN, a.ttl) {
			list = append(list, al)
		}
	}
	slices.SortStableFunc(list, func(x, y alias) int { return cmp.Compare(x.at, y.at) })
	for _, al := range list {
		sh := a.ids.of(al.anon)
		sh.mu.Lock()
		if old, ok := sh.lru.Peek(al.anon); !ok || old.at <= al.at {
			a.remember(sh, al.anon, al.user, al.email, al.at)
		}
		sh.mu.Unlock()
	}
}

package index

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"
)

// UserLimits bounds a MemoryUsers.
type UserLimits struct {
	// Lookback is how long a session ref stays visible after its
	// last_seen_at; <= 0 means refs never expire (only the caps apply).
	Lookback time.Duration
	// MaxSessionsPerUser caps the refs kept per user and product (the
	// newest are kept): one product's sessions never push out another's.
	MaxSessionsPerUser int
	// MaxProductsPerUser caps the products a user holds refs of; beyond
	// it the product whose newest ref is the oldest is dropped (refs and
	// email). <= 0 means DefaultMaxProductsPerUser. Products are set by
	// the sources' configuration, except that a source without a product
	// takes the product_id its payloads carry: this bounds what such a
	// source can add to one user.
	MaxProductsPerUser int
	// MaxUsers caps the users held; the least recently used user is
	// evicted first.
	MaxUsers int
}

// DefaultMaxProductsPerUser is UserLimits.MaxProductsPerUser when unset.
const DefaultMaxProductsPerUser = 16

// MemoryUsers is the in-memory UserIndex: the SDK's UserSessionIndex,
// bounded in users (LRU), in products per user and in sessions per user
// and product, safe for concurrent use.
//
// Per user it keeps the refs newest first, unique per (product_id,
// session_id), at most MaxSessionsPerUser of them per product, and per
// product the last non-empty email; a product's email lives and dies with
// its refs. A bound below 1 is taken as 1.
type MemoryUsers struct {
	lookback    time.Duration
	perUser     int
	maxProducts int
	users       *shards[string, userEntry]
}

// userEntry is what is stored per user, as userTable hands it out: its
// strings are immutable and its slices are the caller's own, so it may be
// read outside the shard lock.
type userEntry struct {
	emails []ProductEmail // one per product with an email and a ref
	refs   []SessionRef   // newest first, unique per (ProductID, SessionID)
}

var _ UserIndex = (*MemoryUsers)(nil)

// NewMemoryUsers returns an empty index bounded by l.
func NewMemoryUsers(l UserLimits) *MemoryUsers {
	return &MemoryUsers{
		lookback:    l.Lookback,
		perUser:     max(l.MaxSessionsPerUser, 1),
		maxProducts: productsBound(l.MaxProductsPerUser),
		users:       newShardsOf(l.MaxUsers, newUserTable),
	}
}

// productsBound is MaxProductsPerUser with its default applied.
func productsBound(n int) int {
	if n <= 0 {
		return DefaultMaxProductsPerUser
	}
	return n
}

// Link records that userID was active in ref's session at ref.LastSeenAt.
//
// userID, ref.SessionID and ref.ProductID are trimmed; an empty user or
// session id after trimming makes Link a no-op. ref.LastSeenAt is clamped to
// [0, now] (no ref lies in the future) and never moves an existing ref's
// last_seen_at backwards; a NaN time makes Link a no-op. Refs older than the
// lookback are dropped, the new one included: linking only expired activity
// creates no user. A non-empty email (trimmed) replaces the one remembered
// for ref.ProductID. Linking makes the user the most recently used. It
// never fails.
func (m *MemoryUsers) Link(_ context.Context, userID, email string, ref SessionRef, now time.Time) error {
	userID = cleanID(userID)
	ref.SessionID = cleanID(ref.SessionID)
	ref.ProductID = cleanID(ref.ProductID)
	if userID == "" || ref.SessionID == "" || math.IsNaN(ref.LastSeenAt) {
		return nil
	}
	nowS := unixSeconds(now)
	ref.LastSeenAt = max(min(ref.LastSeenAt, nowS), 0)
	emails := [1]ProductEmail{{ProductID: ref.ProductID, Email: cleanID(email)}}
	m.link(userID, emails[:], []SessionRef{ref}, cutoffSeconds(now, m.lookback))
	return nil
}

// link merges refs (trimmed, non-empty, clamped, newest first) and the
// non-empty emails into the user's entry, under the shard lock.
func (m *MemoryUsers) link(userID string, emails []ProductEmail, refs []SessionRef, cutoff float64) {
	sh := m.users.of(userID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old, found := sh.lru.Peek(userID)
	cur := old.refs
	for _, r := range refs {
		cur = insertRef(cur, r, cutoff, m.perUser)
	}
	cur = capProducts(cur, m.maxProducts)
	if len(cur) == 0 {
		if found {
			m.users.remove(sh, userID)
		}
		return
	}
	// A product's email dies with its last live ref, before the new ones
	// may bring the product back.
	e := userEntry{emails: liveEmails(old.emails, old.refs, cutoff), refs: cur}
	for _, pe := range emails {
		if pe.Email != "" {
			e.emails = setEmail(e.emails, pe.ProductID, pe.Email)
		}
	}
	e.emails = liveEmails(e.emails, cur, cutoff)
	m.users.put(sh, userID, e) // the table stores a copy of every string
}

// setEmail returns emails with product's email set to email (a new slice
// when it changes: the old one may be shared).
func setEmail(emails []ProductEmail, product, email string) []ProductEmail {
	for i, e := range emails {
		if e.ProductID == product {
			if e.Email == email {
				return emails
			}
			out := slices.Clone(emails)
			out[i].Email = email
			return out
		}
	}
	return append(slices.Clip(emails), ProductEmail{ProductID: product, Email: email})
}

// liveEmails returns the emails of products that still hold a ref in refs
// not older than cutoff (emails itself when all do): a product's email
// dies with its last ref.
func liveEmails(emails []ProductEmail, refs []SessionRef, cutoff float64) []ProductEmail {
	has := func(p string) bool {
		for i := range refs {
			if refs[i].ProductID == p && refs[i].LastSeenAt >= cutoff {
				return true
			}
		}
		return false
	}
	for i := range emails {
		if has(emails[i].ProductID) {
			continue
		}
		out := slices.Clone(emails[:i])
		for _, e := range emails[i+1:] {
			if has(e.ProductID) {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return emails
}

// capProducts returns refs (newest first) without the refs of products
// beyond the limit newest: products rank by their newest ref. refs is not
// modified; when it holds one product, or at most limit, it is returned as
// is.
func capProducts(refs []SessionRef, limit int) []SessionRef {
	single := true
	for i := 1; i < len(refs) && single; i++ {
		single = refs[i].ProductID == refs[0].ProductID
	}
	if single {
		return refs
	}
	// refs is newest first, so products in order of first appearance are
	// ranked by their newest ref.
	var products []string
	for i := range refs {
		if !slices.Contains(products, refs[i].ProductID) {
			products = append(products, refs[i].ProductID)
		}
	}
	if len(products) <= limit {
		return refs
	}
	keep := products[:limit]
	kept := make([]SessionRef, 0, len(refs))
	for _, r := range refs {
		if slices.Contains(keep, r.ProductID) {
			kept = append(kept, r)
		}
	}
	return kept
}

// insertRef returns a new slice holding old's refs that are not older than
// cutoff plus r, newest first, unique per (ProductID, SessionID), with at
// most limit refs of r's product (the newest; other products' refs are
// kept as they are). old (sorted and unique) is not modified. When old
// already holds r's session, the ref keeps the newer of the two times and
// its stored strings. On equal times the ref just linked comes first.
func insertRef(old []SessionRef, r SessionRef, cutoff float64, limit int) []SessionRef {
	match := -1
	for i := range old {
		if old[i].SessionID == r.SessionID && old[i].ProductID == r.ProductID {
			match = i
			r = SessionRef{SessionID: old[i].SessionID, ProductID: old[i].ProductID, LastSeenAt: max(r.LastSeenAt, old[i].LastSeenAt)}
			break
		}
	}
	keepNew := r.LastSeenAt >= cutoff
	n := 0
	if keepNew {
		n++
	}
	for i := range old {
		if i != match && old[i].LastSeenAt >= cutoff {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]SessionRef, 0, n)
	same := 0 // refs of r's product in out
	add := func(x SessionRef) {
		if x.ProductID == r.ProductID {
			if same == limit {
				return
			}
			same++
		}
		out = append(out, x)
	}
	placed := !keepNew
	for i := range old {
		if i == match || old[i].LastSeenAt < cutoff {
			continue
		}
		if !placed && r.LastSeenAt >= old[i].LastSeenAt {
			add(r)
			placed = true
		}
		add(old[i])
	}
	if !placed {
		add(r)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Lookup returns a copy of the user's refs not older than the lookback,
// newest first, and the remembered email. ok is false when the user is
// unknown or has no ref left; a user whose refs have all expired is removed.
// userID is trimmed. Lookup never creates an entry; finding the user makes
// it the most recently used. It never fails.
func (m *MemoryUsers) Lookup(_ context.Context, userID string, now time.Time) (User, bool, error) {
	userID = cleanID(userID)
	if userID == "" {
		return User{}, false, nil
	}
	cutoff := cutoffSeconds(now, m.lookback)
	sh := m.users.of(userID)
	sh.mu.Lock()
	e, found := sh.lru.Get(userID)
	if !found {
		sh.mu.Unlock()
		return User{}, false, nil
	}
	live := 0
	for _, r := range e.refs {
		if r.LastSeenAt >= cutoff {
			live++
		}
	}
	switch {
	case live == 0:
		m.users.remove(sh, userID)
		sh.mu.Unlock()
		return User{}, false, nil
	case live < len(e.refs): // drop expired refs on read too
		kept := make([]SessionRef, 0, live)
		for _, r := range e.refs {
			if r.LastSeenAt >= cutoff {
				kept = append(kept, r)
			}
		}
		e.refs = kept
		e.emails = liveEmails(e.emails, kept, cutoff)
		m.users.put(sh, userID, e) // present: replaces in place
	}
	sh.mu.Unlock()
	// e's slices are the caller's own (decoded by the table, or kept,
	// which the table copied).
	return User{Emails: e.emails, Sessions: e.refs}, true, nil
}

// Forget drops the user's refs and emails, returns them (every ref held,
// expired or not) and reports whether the user was held. userID is
// trimmed. It never fails.
func (m *MemoryUsers) Forget(_ context.Context, userID string) (User, bool, error) {
	userID = cleanID(userID)
	if userID == "" {
		return User{}, false, nil
	}
	sh := m.users.of(userID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.lru.Peek(userID)
	if !ok {
		return User{}, false, nil
	}
	m.users.remove(sh, userID)
	return User{Emails: e.emails, Sessions: e.refs}, true, nil
}

// Len is the number of users held, at most MaxUsers. It counts users whose
// refs have expired but who were not read or written since.
func (m *MemoryUsers) Len() int { return m.users.len() }

// Evictions is the number of users evicted so far to stay within MaxUsers
// (not counting Forget or expiry).
func (m *MemoryUsers) Evictions() uint64 { return m.users.evictions.Load() }

// UserRecord is one user in a snapshot of a MemoryUsers.
type UserRecord struct {
	UserID string `json:"user_id"`
	// Email is the one email of snapshots written before emails were kept
	// per product; Import gives it to the product of the record's newest
	// ref (the product whose delivery most likely set it). Export leaves
	// it empty.
	Email    string         `json:"email,omitempty"`
	Emails   []ProductEmail `json:"emails,omitempty"`
	Sessions []SessionRef   `json:"sessions"` // newest first
}

// Export returns every user with at least one ref inside the lookback at
// now, least recently used first (exact within a shard, interleaved by
// relative LRU position across shards), with only those refs.
func (m *MemoryUsers) Export(now time.Time) []UserRecord {
	return exportLRU(m.users, userRecord(cutoffSeconds(now, m.lookback)))
}

// userRecord converts a user to its snapshot record with the refs at or
// after cutoff; a user without any is left out.
func userRecord(cutoff float64) func(string, userEntry) (UserRecord, bool) {
	return func(id string, e userEntry) (UserRecord, bool) {
		rec := UserRecord{UserID: id}
		for _, r := range e.refs {
			if r.LastSeenAt >= cutoff {
				rec.Sessions = append(rec.Sessions, r)
			}
		}
		rec.Emails = liveEmails(e.emails, rec.Sessions, cutoff)
		return rec, len(rec.Sessions) > 0
	}
}

// Import links every record as Link would, in order: records are expected
// least recently used first (Export's order), so that the last record ends
// up the most recently used and, when the records exceed MaxUsers, the
// oldest are the ones evicted. Ids are trimmed, refs with an empty session
// id or a NaN time are skipped, future times are clamped to now, expired
// refs are dropped and the caps apply. A record for a user already held is
// merged into it. Importing the same records twice changes nothing.
func (m *MemoryUsers) Import(recs []UserRecord, now time.Time) {
	nowS := unixSeconds(now)
	cutoff := cutoffSeconds(now, m.lookback)
	for _, rec := range recs {
		id := cleanID(rec.UserID)
		if id == "" {
			continue
		}
		refs := make([]SessionRef, 0, len(rec.Sessions))
		for _, r := range rec.Sessions {
			r.SessionID, r.ProductID = cleanID(r.SessionID), cleanID(r.ProductID)
			if r.SessionID == "" || math.IsNaN(r.LastSeenAt) {
				continue
			}
			r.LastSeenAt = max(min(r.LastSeenAt, nowS), 0)
			if r.LastSeenAt >= cutoff {
				refs = append(refs, r)
			}
		}
		// Newest first, and only the newest per-user cap of them, so a
		// hostile record with many refs costs O(cap²) at most.
		slices.SortStableFunc(refs, func(a, b SessionRef) int { return cmp.Compare(b.LastSeenAt, a.LastSeenAt) })
		refs = dedupeRefs(refs, m.perUser*m.maxProducts)
		emails := make([]ProductEmail, 0, len(rec.Emails)+1)
		if legacy := cleanID(rec.Email); legacy != "" && len(refs) > 0 {
			emails = append(emails, ProductEmail{ProductID: refs[0].ProductID, Email: legacy})
		}
		for _, pe := range rec.Emails {
			emails = append(emails, ProductEmail{ProductID: cleanID(pe.ProductID), Email: cleanID(pe.Email)})
		}
		// Link oldest first so that, on equal times, the order is kept.
		slices.Reverse(refs)
		m.link(id, emails, refs, cutoff)
	}
}

// dedupeRefs keeps the first ref per (ProductID, SessionID) of refs (sorted
// newest first), at most limit of them, reusing refs' array.
func dedupeRefs(refs []SessionRef, limit int) []SessionRef {
	type key struct{ product, session string }
	seen := make(map[key]bool, min(len(refs), limit))
	out := refs[:0]
	for _, r := range refs {
		if len(out) == limit {
			break
		}
		k := key{r.ProductID, r.SessionID}
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

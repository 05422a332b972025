package index

import (
	"context"
	"errors"
	"sync/atomic"
	"unsafe"

	"github.com/replayhook/replayhook/normalize"
)

// ErrNoSession is returned when an activity write names no session: the
// store never keeps session-less payloads under a shared key.
var ErrNoSession = errors.New("index: no session id: activity is only stored per session")

// MemoryActivity is the in-memory ActivityStore: the SDK's ContextStore,
// bounded in sessions (LRU) and in actions per session (the newest are
// kept), safe for concurrent use. Keys are trimmed on write and read. A
// bound below 1 is taken as 1.
type MemoryActivity struct {
	perSession int
	sessions   *shards[SessionKey, *sessionEntry]
	// maxBytes bounds bytes (the sessions' sizes, see sessionEntry.cost);
	// sessionBytes bounds one session's action data.
	maxBytes     int64
	sessionBytes int
	bytes        atomic.Int64
}

// sessionEntry is one session's activity. It is modified in place, only
// under its shard's lock, and never handed out: Get copies it.
type sessionEntry struct {
	key                    SessionKey // set by the session table
	userID, email, summary string
	lastAt                 float64
	log                    actionLog // the newest actions, in arrival order
	cost                   int64     // bytes counted for it in MemoryActivity.bytes
}

// sessionOverhead is what a session costs beside its strings and buffers:
// the entry, its slot in the table and the buffers' headers.
const sessionOverhead = int64(unsafe.Sizeof(sessionEntry{})) + 64

// size is what e holds in memory now, in bytes.
func (e *sessionEntry) size() int64 {
	return sessionOverhead + int64(len(e.key.ProductID)+len(e.key.SessionID)+len(e.userID)+len(e.email)+len(e.summary)) +
		int64(cap(e.log.data)) + int64(cap(e.log.metas))*int64(unsafe.Sizeof(actionMeta{}))
}

var _ ActivityStore = (*MemoryActivity)(nil)

// NewMemoryActivity returns an empty store holding at most maxSessions
// sessions and maxActionsPerSession actions per session.
func NewMemoryActivity(maxSessions, maxActionsPerSession int) *MemoryActivity {
	return NewMemoryActivityLimits(ActivityLimits{MaxSessions: maxSessions, MaxActionsPerSession: maxActionsPerSession})
}

// ActivityLimits bound a MemoryActivity. A byte bound of 0 is none.
type ActivityLimits struct {
	MaxSessions, MaxActionsPerSession int
	// MaxBytes bounds the whole store: the least recently used sessions
	// are evicted to stay under it. A session is counted with its action
	// data and record buffers, ids, summary and a fixed overhead.
	MaxBytes int64
	// MaxBytesPerSession bounds one session's action data: its oldest
	// actions are dropped to stay under it (one bigger action is kept
	// alone).
	MaxBytesPerSession int
}

// NewMemoryActivityLimits returns an empty store within l.
func NewMemoryActivityLimits(l ActivityLimits) *MemoryActivity {
	m := &MemoryActivity{
		perSession:   max(l.MaxActionsPerSession, 1),
		sessions:     newShardsOf(l.MaxSessions, newSessionTable),
		maxBytes:     l.MaxBytes,
		sessionBytes: maxLogBytes,
	}
	if l.MaxBytesPerSession > 0 {
		m.sessionBytes = min(l.MaxBytesPerSession, maxLogBytes)
	}
	m.sessions.dropped = func(e *sessionEntry) { m.bytes.Add(-e.cost) }
	return m
}

// Bytes is what the sessions held cost, as counted against MaxBytes.
func (m *MemoryActivity) Bytes() int64 { return m.bytes.Load() }

// account records e's new size and, over the byte bound, evicts the least
// recently used sessions of sh (never e itself). The caller holds sh's lock.
func (m *MemoryActivity) account(sh *shard[SessionKey, *sessionEntry], e *sessionEntry) {
	n := e.size()
	m.bytes.Add(n - e.cost)
	e.cost = n
	for m.maxBytes > 0 && m.bytes.Load() > m.maxBytes {
		if _, oldest, ok := sh.lru.GetOldest(); ok && oldest != e {
			m.sessions.removeOldest(sh)
			m.sessions.evictions.Add(1)
			continue
		}
		if !m.evictElsewhere(sh) {
			return // e alone is over the bound: it is kept (its data is bounded per session)
		}
	}
}

// evictElsewhere evicts the oldest session of another shard than sh (held
// by the caller), reporting whether it found one. Other shards are only
// try-locked, as in shards.makeRoom, so two shards never wait on each other.
func (m *MemoryActivity) evictElsewhere(sh *shard[SessionKey, *sessionEntry]) bool {
	list := m.sessions.list
	for i := 1; i < len(list); i++ {
		o := &list[(sh.idx+i)%len(list)]
		if !o.mu.TryLock() {
			continue
		}
		ok := o.lru.Len() > 0
		if ok {
			m.sessions.removeOldest(o)
			m.sessions.evictions.Add(1)
		}
		o.mu.Unlock()
		if ok {
			return true
		}
	}
	return false
}

// newSessionTable is the LRU behind one shard of sessions: a slotLRU whose
// slots are the entries themselves, each carrying its key, so that a
// session costs the collector one pointer in the table and its entry's own
// (no list element, no map slot with key strings).
func newSessionTable() lruCache[SessionKey, *sessionEntry] {
	return &slotLRU[SessionKey, *sessionEntry, *sessionEntry]{
		hashedSlots: newHashedSlots(func(e *sessionEntry) SessionKey { return e.key }),
		wrap: func(k SessionKey, e *sessionEntry) *sessionEntry {
			e.key = k
			return e
		},
		view: func(e *sessionEntry) *sessionEntry { return e },
	}
}

// cleanKey trims both ids of k.
func cleanKey(k SessionKey) SessionKey {
	return SessionKey{ProductID: cleanID(k.ProductID), SessionID: cleanID(k.SessionID)}
}

// AddActions appends p's actions, in order, to key's session (creating it),
// keeping only the newest maxActionsPerSession; each action is stamped with
// at. A non-empty p.UserID / p.Email (trimmed) replaces the session's, and
// the session's LastAt becomes the newest at seen. at must be unix seconds:
// NaN, infinite or negative times are stored as 0 (unknown). The store
// keeps its own copy of everything it reads from p. An empty session id
// (after trimming) is ErrNoSession; a nil p only touches the session.
func (m *MemoryActivity) AddActions(_ context.Context, key SessionKey, p *normalize.ActionsPayload, at float64) error {
	key = cleanKey(key)
	if key.SessionID == "" {
		return ErrNoSession
	}
	at = eventSeconds(at)
	var acts []normalize.SlimAction
	var userID, email string
	if p != nil {
		userID, email = cleanID(normalize.Str(p.UserID)), cleanID(normalize.Str(p.Email))
		acts = p.Actions
	}
	sh := m.sessions.of(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := m.entry(sh, key)
	newUser := userID != "" && userID != e.userID
	newEmail := email != "" && email != e.email
	switch {
	case newUser && newEmail:
		e.userID, e.email = ownPair(userID, email)
	case newUser:
		e.userID = ownID(userID)
	case newEmail:
		e.email = ownID(email)
	}
	e.lastAt = max(e.lastAt, at)
	// The log copies the actions' strings (a memmove under the lock), so
	// neither the caller nor a reader can change what is stored.
	e.log.add(acts, at, m.perSession, m.sessionBytes)
	m.account(sh, e)
	return nil
}

// SetSummary replaces key's summary (creating the session) and moves its
// LastAt forward to at (sanitised as in AddActions). An empty session id
// is ErrNoSession.
func (m *MemoryActivity) SetSummary(_ context.Context, key SessionKey, summary string, at float64) error {
	key = cleanKey(key)
	if key.SessionID == "" {
		return ErrNoSession
	}
	at = eventSeconds(at)
	sh := m.sessions.of(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := m.entry(sh, key)
	e.summary = ownID(summary)
	e.lastAt = max(e.lastAt, at)
	m.account(sh, e)
	return nil
}

// entry returns key's session, made the most recently used, creating it
// (and possibly evicting the least recently used) when missing. The caller
// holds sh's lock.
func (m *MemoryActivity) entry(sh *shard[SessionKey, *sessionEntry], key SessionKey) *sessionEntry {
	if e, ok := sh.lru.Get(key); ok {
		return e
	}
	e := &sessionEntry{}
	m.sessions.put(sh, ownKey(key), e)
	return e
}

// ownKey is key with both ids copied into one allocation of the store's.
func ownKey(key SessionKey) SessionKey {
	p, s := ownPair(key.ProductID, key.SessionID)
	return SessionKey{ProductID: p, SessionID: s}
}

// Get returns a copy of key's session (actions oldest first, in arrival
// order) and makes it the most recently used; ok is false when it is
// unknown. Changing the copy, including through its pointer fields, does not
// change the store. Get never creates an entry and never fails.
func (m *MemoryActivity) Get(_ context.Context, key SessionKey) (Session, bool, error) {
	key = cleanKey(key)
	if key.SessionID == "" {
		return Session{}, false, nil
	}
	sh := m.sessions.of(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.lru.Get(key)
	if !ok {
		return Session{}, false, nil
	}
	return Session{
		ProductID: key.ProductID, SessionID: key.SessionID,
		UserID: e.userID, Email: e.email, Summary: e.summary,
		Actions: e.log.ordered(), LastAt: e.lastAt,
	}, true, nil
}

// Len is the number of sessions held, at most maxSessions.
func (m *MemoryActivity) Len() int { return m.sessions.len() }

// Evictions is the number of sessions evicted so far to stay within
// maxSessions.
func (m *MemoryActivity) Evictions() uint64 { return m.sessions.evictions.Load() }

// ActionRecord is one stored action in a snapshot, with its event time
// (StoredAction.At is not part of StoredAction's JSON).
type ActionRecord struct {
	Action normalize.SlimAction `json:"action"`
	At     float64              `json:"at"`
}

// SessionRecord is one session in a snapshot of a MemoryActivity.
type SessionRecord struct {
	ProductID string         `json:"product_id"`
	SessionID string         `json:"session_id"`
	UserID    string         `json:"user_id,omitempty"`
	Email     string         `json:"email,omitempty"`
	Summary   string         `json:"summary,omitempty"`
	LastAt    float64        `json:"last_at"`
	Actions   []ActionRecord `json:"actions"` // oldest first
}

// Export returns every session, least recently used first (exact within a
// shard, interleaved by relative LRU position across shards). Activity has
// no age limit, so Export needs no clock.
func (m *MemoryActivity) Export() []SessionRecord {
	return exportLRU(m.sessions, sessionRecord)
}

// sessionRecord is e's snapshot record; the caller holds its shard's lock.
func sessionRecord(k SessionKey, e *sessionEntry) (SessionRecord, bool) {
	rec := SessionRecord{
		ProductID: k.ProductID, SessionID: k.SessionID,
		UserID: e.userID, Email: e.email, Summary: e.summary, LastAt: e.lastAt,
		Actions: make([]ActionRecord, 0, e.log.len()),
	}
	for _, a := range e.log.ordered() {
		rec.Actions = append(rec.Actions, ActionRecord{Action: a.SlimAction, At: a.At})
	}
	return rec, true
}

// Import stores every record, in order: records are expected least
// recently used first (Export's order), so that when they exceed
// maxSessions the oldest are the ones evicted. A record replaces a session
// already held under the same key, so importing twice changes nothing. Ids
// are trimmed, records without a session id are skipped, times are
// sanitised as in AddActions and only the newest maxActionsPerSession
// actions are kept.
func (m *MemoryActivity) Import(recs []SessionRecord) {
	for _, rec := range recs {
		key := cleanKey(SessionKey{ProductID: rec.ProductID, SessionID: rec.SessionID})
		if key.SessionID == "" {
			continue
		}
		acts := rec.Actions
		if len(acts) > m.perSession {
			acts = acts[len(acts)-m.perSession:]
		}
		e := &sessionEntry{summary: ownID(rec.Summary), lastAt: eventSeconds(rec.LastAt)}
		e.userID, e.email = ownPair(cleanID(rec.UserID), cleanID(rec.Email))
		for i := range acts { // one at a time: each action has its own time
			at := eventSeconds(acts[i].At)
			e.log.push(&acts[i].Action, at, m.perSession, m.sessionBytes)
			e.lastAt = max(e.lastAt, at)
		}
		sh := m.sessions.of(key)
		sh.mu.Lock()
		if old, ok := sh.lru.Peek(key); ok { // replaced: no longer counted
			m.bytes.Add(-old.cost)
		}
		m.sessions.put(sh, ownKey(key), e)
		m.account(sh, e)
		sh.mu.Unlock()
	}
}

// strPool hands out string pointers owned by the store, sharing one pointer
// between equal values seen recently (actions of one batch usually repeat
// the same session id, user id and email).
type strPool struct {
	recent [8]*string
	next   int
}

// ptr returns nil for nil, else a pointer (never p itself) to a string
// equal to *p.
func (s *strPool) ptr(p *string) *string {
	if p == nil {
		return nil
	}
	for _, q := range s.recent {
		if q != nil && *q == *p {
			return q
		}
	}
	v := *p
	s.recent[s.next] = &v
	s.next = (s.next + 1) % len(s.recent)
	return &v
}

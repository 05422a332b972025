package index

import (
	"context"
	"slices"

	"github.com/replayhook/replayhook/normalize"
)

// Matches reports whether a session or action with that user id and email
// belongs to the erased user.
func (e UserErasure) Matches(userID, email string) bool { return e.matches(userID, email) }

// WholeSession reports whether a session with that user id and email is
// the erased user's own (deleted whole): its user is the erased user, or it
// has no user and either its email is theirs or it is one of e.Sessions
// (the users index linked it to them: an anonymous session an identify
// named, or whose later events carried their id).
func (e UserErasure) WholeSession(k SessionKey, userID, email string) bool {
	if userID != "" {
		return userID == e.UserID
	}
	return (email != "" && slices.Contains(e.Emails, email)) || slices.Contains(e.Sessions, k)
}

// Clean returns e with its ids trimmed and empty emails left out.
func (e UserErasure) Clean() UserErasure {
	out := UserErasure{UserID: cleanID(e.UserID)}
	for _, k := range e.Sessions {
		out.Sessions = append(out.Sessions, cleanKey(k))
	}
	for _, m := range e.Emails {
		if m = cleanID(m); m != "" {
			out.Emails = append(out.Emails, m)
		}
	}
	return out
}

// EraseUser removes the user's activity (see UserErasure): it walks every
// session held, one shard lock at a time, so it finds the user's sessions
// whatever the per-user cap or the lookback dropped from the users index.
// O(sessions held), for erasure, which is rare. It never fails.
func (m *MemoryActivity) EraseUser(_ context.Context, er UserErasure) (int, error) {
	er = er.Clean()
	if er.UserID == "" && len(er.Emails) == 0 {
		return 0, nil
	}
	n := 0
	for i := range m.sessions.list {
		sh := &m.sessions.list[i]
		sh.mu.Lock()
		for _, k := range sh.lru.Keys() {
			e, _ := sh.lru.Peek(k)
			switch {
			case er.WholeSession(k, e.userID, e.email):
				m.sessions.remove(sh, k)
				n++
			case e.log.erase(er, m.perSession) || er.Matches("", e.email):
				if er.Matches("", e.email) {
					e.email = ""
				}
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n, nil
}

// erase removes the actions carrying the erased user's id or email and
// reports whether there were any. The log is rebuilt (a copy of the kept
// actions) only then.
func (l *actionLog) erase(er UserErasure, limit int) bool {
	found := false
	for i := l.first; i < len(l.metas) && !found; i++ {
		found = er.Matches(l.field(i, fUserID), l.field(i, fEmail))
	}
	if !found {
		return false
	}
	kept := l.ordered()
	*l = actionLog{}
	for i := range kept {
		a := &kept[i]
		if !er.Matches(normalize.Str(a.UserID), normalize.Str(a.Email)) {
			l.push(&a.SlimAction, a.At, limit, maxLogBytes)
		}
	}
	return true
}

// field is string field f of the action at metas[i] (a copy: erasure is
// rare).
func (l *actionLog) field(i, f int) string {
	m := &l.metas[i]
	start := m.start
	if f > 0 {
		start = m.ends[f-1]
	}
	return string(l.data[start:m.ends[f]])
}

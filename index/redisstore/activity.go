package redisstore

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/normalize"
)

// activity is the Redis ActivityStore: per session a hash (identity,
// summary, newest time) and a list of actions, both expiring SessionTTL
// after the session's last write; and per user, the set of sessions their
// deliveries wrote to (userSessionsKey), for erasure.
type activity Store

var _ index.ActivityStore = (*activity)(nil)

// cleanKey trims both ids of k.
func cleanKey(k index.SessionKey) index.SessionKey {
	return index.SessionKey{ProductID: strings.TrimSpace(k.ProductID), SessionID: strings.TrimSpace(k.SessionID)}
}

// AddActions appends p's actions, in order, to key's session (creating it),
// keeping the newest MaxActionsPerSession; each is stamped with at. A
// non-empty p.UserID / p.Email (trimmed) replaces the session's, and the
// session's LastAt becomes the newest at seen. NaN, infinite or negative
// times are stored as 0. Actions are stored byte for byte (see
// encodeAction). An empty session id (after trimming) is index.ErrNoSession; a nil
// p only touches the session. One script: concurrent writers lose nothing.
func (a *activity) AddActions(ctx context.Context, key index.SessionKey, p *normalize.ActionsPayload, at float64) error {
	key = cleanKey(key)
	if key.SessionID == "" {
		return index.ErrNoSession
	}
	at = eventSeconds(at)
	s := (*Store)(a)
	meta, list := s.sessionKeys(key)
	args := []any{key.ProductID, key.SessionID, "", "", formatFloat(at),
		"-" + strconv.Itoa(a.limits.MaxActionsPerSession), ttlMillis(a.limits.SessionTTL)}
	user, email := "", ""
	if p != nil {
		user, email = strings.TrimSpace(normalize.Str(p.UserID)), strings.TrimSpace(normalize.Str(p.Email))
		args[2], args[3] = strings.TrimSpace(normalize.Str(p.UserID)), strings.TrimSpace(normalize.Str(p.Email))
		acts := p.Actions
		if len(acts) > a.limits.MaxActionsPerSession {
			acts = acts[len(acts)-a.limits.MaxActionsPerSession:]
		}
		for _, act := range acts {
			args = append(args, encodeAction(act, at))
		}
	}
	if user == "" && email == "" {
		if err := a.scripts.addActions.Run(ctx, a.rdb, []string{meta, list}, args...).Err(); err != nil {
			return unavailable("add actions", err)
		}
		return nil
	}
	// The session goes into its user's and its email's sets in the same
	// round trip (a pipeline: the sets live in their own slots). Tracked
	// first: a session is never written where erasure cannot find it.
	err := s.pipelineScript(ctx, a.scripts.addActions, []string{meta, list}, args, func(pl redis.Pipeliner) {
		// Scored by the wall clock: a set only needs to outlive the
		// sessions it lists, whose TTLs run from their last write.
		if user != "" {
			s.trackIn(ctx, pl, s.userSessionsKey(user), sessionMember(key), time.Now(), a.limits.SessionTTL)
		}
		if email != "" {
			s.trackIn(ctx, pl, s.emailSessionsKey(email), sessionMember(key), time.Now(), a.limits.SessionTTL)
		}
	})
	if err != nil {
		return unavailable("add actions", err)
	}
	return nil
}

// sessionMember is a session's member in a user's set of sessions: the
// product id's length, ":", the product id, then the session id, so that
// no two sessions share a member.
func sessionMember(k index.SessionKey) string {
	return strconv.Itoa(len(k.ProductID)) + ":" + k.ProductID + k.SessionID
}

// parseSessionMember reads what sessionMember wrote.
func parseSessionMember(m string) (index.SessionKey, bool) {
	n, rest, ok := strings.Cut(m, ":")
	plen, err := strconv.Atoi(n)
	if !ok || err != nil || plen < 0 || plen > len(rest) {
		return index.SessionKey{}, false
	}
	return index.SessionKey{ProductID: rest[:plen], SessionID: rest[plen:]}, true
}

// EraseUser removes the user's activity (see index.UserErasure) from the
// sessions their deliveries wrote to, found through the sets of sessions
// kept per user id and per email (beyond the per-user cap and the
// lookback, for as long as the sessions live), and from er.Sessions. A
// session is read, then changed by a script that deletes it whole only if
// it is still the user's, or removes exactly the actions read that carry
// the user's id or email.
func (a *activity) EraseUser(ctx context.Context, er index.UserErasure) (int, error) {
	s := (*Store)(a)
	er = er.Clean()
	keys := make(map[index.SessionKey]bool, len(er.Sessions))
	for _, k := range er.Sessions {
		keys[k] = true
	}
	var sets []string
	if er.UserID != "" {
		sets = append(sets, s.userSessionsKey(er.UserID))
	}
	for _, e := range er.Emails {
		sets = append(sets, s.emailSessionsKey(e))
	}
	for _, set := range sets {
		members, err := a.rdb.ZRange(ctx, set, 0, -1).Result()
		if err != nil {
			return 0, unavailable("erase user", err)
		}
		for _, m := range members {
			if k, ok := parseSessionMember(m); ok {
				keys[k] = true
			}
		}
	}
	n := 0
	for k := range keys {
		changed, err := a.eraseSession(ctx, k, er)
		if err != nil {
			return n, err
		}
		if changed {
			n++
		}
	}
	for _, set := range sets {
		if err := a.rdb.Del(ctx, set).Err(); err != nil {
			return n, unavailable("erase user", err)
		}
	}
	return n, nil
}

// eraseSession erases the user from one session; it reports whether the
// session changed.
func (a *activity) eraseSession(ctx context.Context, k index.SessionKey, er index.UserErasure) (bool, error) {
	if k.SessionID == "" {
		return false, nil
	}
	meta, list := (*Store)(a).sessionKeys(k)
	h, l, err := a.read(ctx, meta, list)
	if err != nil {
		return false, unavailable("erase user", err)
	}
	if len(h) == 0 || h["p"] != k.ProductID || h["s"] != k.SessionID {
		return false, nil
	}
	args := []any{k.ProductID, k.SessionID, er.UserID, "", "0"}
	if er.WholeSession(k, h["u"], h["e"]) {
		args[4] = "1" // the script checks it again, atomically
	}
	if er.Matches("", h["e"]) {
		args[3] = h["e"]
	}
	for _, raw := range l {
		act, err := decodeAction(raw)
		if err != nil {
			return false, fmt.Errorf("%w in session %q", err, k.SessionID)
		}
		if er.Matches(normalize.Str(act.UserID), normalize.Str(act.Email)) {
			args = append(args, raw)
		}
	}
	if args[4] == "0" && args[3] == "" && len(args) == 5 {
		return false, nil
	}
	n, err := a.scripts.eraseSession.Run(ctx, a.rdb, []string{meta, list}, args...).Int()
	if err != nil {
		return false, unavailable("erase user", err)
	}
	return n > 0, nil
}

// SetSummary replaces key's summary (creating the session) and moves its
// LastAt forward to at (sanitised as in AddActions). An empty session id
// is index.ErrNoSession.
func (a *activity) SetSummary(ctx context.Context, key index.SessionKey, summary string, at float64) error {
	key = cleanKey(key)
	if key.SessionID == "" {
		return index.ErrNoSession
	}
	meta, list := (*Store)(a).sessionKeys(key)
	err := a.scripts.setSummary.Run(ctx, a.rdb, []string{meta, list},
		key.ProductID, key.SessionID, summary, formatFloat(eventSeconds(at)), ttlMillis(a.limits.SessionTTL)).Err()
	if err != nil {
		return unavailable("set summary", err)
	}
	return nil
}

// Get returns key's session (actions oldest first, in arrival order); ok
// is false when it is unknown or expired. Get never creates a key and does
// not extend the session's TTL. See read for how the two keys are read.
func (a *activity) Get(ctx context.Context, key index.SessionKey) (index.Session, bool, error) {
	key = cleanKey(key)
	if key.SessionID == "" {
		return index.Session{}, false, nil
	}
	meta, list := (*Store)(a).sessionKeys(key)
	f, l, err := a.read(ctx, meta, list)
	if err != nil {
		return index.Session{}, false, unavailable("get session", err)
	}
	if len(f) == 0 || f["p"] != key.ProductID || f["s"] != key.SessionID {
		return index.Session{}, false, nil
	}
	s := index.Session{ProductID: key.ProductID, SessionID: key.SessionID, UserID: f["u"], Email: f["e"], Summary: f["sum"]}
	if v, ok := f["at"]; ok {
		t, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return index.Session{}, false, fmt.Errorf("redisstore: session %q: malformed time %q", key.SessionID, v)
		}
		s.LastAt = t
	}
	s.Actions = make([]index.StoredAction, 0, len(l))
	for _, raw := range l {
		act, err := decodeAction(raw)
		if err != nil {
			return index.Session{}, false, fmt.Errorf("%w in session %q", err, key.SessionID)
		}
		s.Actions = append(s.Actions, act)
	}
	return s, true, nil
}

// read reads a session's hash and list in one round trip, without MULTI:
// a Redis at maxmemory with the noeviction policy refuses a MULTI
// (EXECABORT, it counts as a write) but still serves reads. A read-only
// script would be atomic too, but a script is refused the same way there.
// Without MULTI a write landing between the two reads can be seen half:
// the hash of one write with the actions of the next, never a torn action.
func (a *activity) read(ctx context.Context, meta, list string) (map[string]string, []string, error) {
	var h *redis.MapStringStringCmd
	var l *redis.StringSliceCmd
	_, err := a.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		h = p.HGetAll(ctx, meta)
		l = p.LRange(ctx, list, 0, -1)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return h.Val(), l.Val(), nil
}

// Len is the number of sessions held (keys not yet expired), -1 when
// Redis fails. It scans the keyspace: for tests and diagnostics only.
func (a *activity) Len() int { return (*Store)(a).count("s:{*}") }

// eventSeconds makes a time received from outside safe to store, as the
// memory store does: NaN, the infinities and negative times become 0.
func eventSeconds(t float64) float64 {
	if math.IsNaN(t) || math.IsInf(t, 0) || t < 0 {
		return 0
	}
	return t
}

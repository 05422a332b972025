package redisstore

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/normalize"
)

// activity is the Redis ActivityStore: per session a hash (identity,
// summary, newest time) and a list of actions, both expiring SessionTTL
// after the session's last write.
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
	if p != nil {
		args[2], args[3] = strings.TrimSpace(normalize.Str(p.UserID)), strings.TrimSpace(normalize.Str(p.Email))
		acts := p.Actions
		if len(acts) > a.limits.MaxActionsPerSession {
			acts = acts[len(acts)-a.limits.MaxActionsPerSession:]
		}
		for _, act := range acts {
			args = append(args, encodeAction(act, at))
		}
	}
	if err := a.scripts.addActions.Run(ctx, a.rdb, []string{meta, list}, args...).Err(); err != nil {
		return unavailable("add actions", err)
	}
	return nil
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
// is false when it is unknown or expired. Both keys are read in one
// MULTI, so a concurrent write is seen whole or not at all. Get never
// creates a key and does not extend the session's TTL.
func (a *activity) Get(ctx context.Context, key index.SessionKey) (index.Session, bool, error) {
	key = cleanKey(key)
	if key.SessionID == "" {
		return index.Session{}, false, nil
	}
	meta, list := (*Store)(a).sessionKeys(key)
	var h *redis.MapStringStringCmd
	var l *redis.StringSliceCmd
	_, err := a.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		h = p.HGetAll(ctx, meta)
		l = p.LRange(ctx, list, 0, -1)
		return nil
	})
	if err != nil {
		return index.Session{}, false, unavailable("get session", err)
	}
	f := h.Val()
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
	s.Actions = make([]index.StoredAction, 0, len(l.Val()))
	for _, raw := range l.Val() {
		act, err := decodeAction(raw)
		if err != nil {
			return index.Session{}, false, fmt.Errorf("%w in session %q", err, key.SessionID)
		}
		s.Actions = append(s.Actions, act)
	}
	return s, true, nil
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

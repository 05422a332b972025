package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replayhook/replayhook/index"
)

// dedupe is the Redis Deduper: one string key per claimed delivery (the
// SHA-256 of the delivery key), holding the claim time and a token, with a
// TTL of the window.
type dedupe Store

var _ index.Deduper = (*dedupe)(nil)

// Claim reports whether key is new, and marks it seen at now if so. A key
// claimed within the window (now - claim <= window) is not new, and
// claiming it again does not extend its window; two concurrent Claims of
// one key, from any replicas: exactly one is true.
//
// When Redis fails, Claim cannot know whether its claim was stored before
// the failure; it answers the error and remembers to release that claim
// (only that one, by its token) once Redis answers again, so that the
// vendor's retry of a delivery that was never stored is not taken for a
// duplicate.
func (d *dedupe) Claim(ctx context.Context, key string, now time.Time) (bool, error) {
	s := (*Store)(d)
	s.flushReleases(ctx)
	rkey := s.dedupeKey(key)
	value := strconv.FormatInt(now.Unix(), 10) + " " + strconv.Itoa(now.Nanosecond()) + " " + s.releases.token()
	cs, cn := "", ""
	if sec, nsec, ok := cutoff(now, d.limits.DedupeWindow); ok {
		cs, cn = strconv.FormatInt(sec, 10), strconv.FormatInt(nsec, 10)
	}
	n, err := d.scripts.claim.Run(ctx, d.rdb, []string{rkey}, value, cs, cn, ttlMillis(s.windowTTL(d.limits.DedupeWindow))).Int()
	if err != nil {
		s.releases.add(rkey, value)
		return false, unavailable("claim", err)
	}
	return n == 1, nil
}

// Release forgets key, so that the vendor's retry of a delivery that could
// not be stored is not taken for a duplicate. When Redis fails, the
// release is remembered and done once Redis answers again (by the next
// Claim or Ping of this Store).
func (d *dedupe) Release(ctx context.Context, key string) error {
	s := (*Store)(d)
	rkey := s.dedupeKey(key)
	if err := d.rdb.Del(ctx, rkey).Err(); err != nil {
		s.releases.add(rkey, "")
		return unavailable("release", err)
	}
	return nil
}

// Len is the number of keys held (not yet expired), -1 when Redis fails.
// It scans the keyspace: for tests and diagnostics only.
func (d *dedupe) Len() int { return (*Store)(d).count("d:*") }

// maxPendingReleases bounds the releases remembered while Redis fails.
const maxPendingReleases = 10000

// pendingReleases are dedupe claims to release once Redis answers again:
// redis key → the claim's value ("" releases whatever claim is there).
type pendingReleases struct {
	mu      sync.Mutex
	keys    map[string]string
	max     int
	dropped atomic.Uint64
	// prefix and seq make claim tokens unique across replicas and calls.
	prefix string
	seq    atomic.Uint64
}

func newPendingReleases(limit int) *pendingReleases {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return &pendingReleases{keys: map[string]string{}, max: limit, prefix: hex.EncodeToString(b[:])}
}

// token returns a value unique to one claim.
func (p *pendingReleases) token() string {
	return p.prefix + "-" + strconv.FormatUint(p.seq.Add(1), 10)
}

// add remembers a release; beyond the bound it is dropped (and counted).
// A release already pending for key is replaced when replace is set.
func (p *pendingReleases) add(key, value string) { p.put(key, value, true) }

func (p *pendingReleases) put(key, value string, replace bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.keys[key]; ok {
		if replace {
			p.keys[key] = value
		}
		return
	}
	if len(p.keys) >= p.max {
		p.dropped.Add(1)
		return
	}
	p.keys[key] = value
}

// take returns the pending releases and forgets them.
func (p *pendingReleases) take() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.keys) == 0 {
		return nil
	}
	out := p.keys
	p.keys = map[string]string{}
	return out
}

// flushReleases does the pending releases. At the first failure (Redis is
// still down) it stops, and the releases not done stay pending; a release
// added meanwhile for the same key wins.
func (s *Store) flushReleases(ctx context.Context) {
	pending := s.releases.take()
	var failed bool
	for key, value := range pending {
		if !failed {
			var err error
			if value == "" {
				err = s.rdb.Del(ctx, key).Err()
			} else {
				err = s.scripts.releaseIf.Run(ctx, s.rdb, []string{key}, value).Err()
			}
			if err == nil {
				continue
			}
			failed = true
		}
		s.releases.put(key, value, false)
	}
}

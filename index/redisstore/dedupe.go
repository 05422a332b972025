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

// dedupe is the Redis Deduper: one string key per source and delivery (the
// SHA-256 of the delivery key), holding "P <claim time> <token>" while claimed,
// with a TTL of index.ClaimLease, then "<confirmation time> <token>" with
// a TTL of the window.
type dedupe Store

var _ index.Deduper = (*dedupe)(nil)

// Claim claims key at now unless a live claim or confirmation holds it
// (see index.Deduper): concurrent Claims of one key, from any replicas,
// have exactly one winner.
//
// When Redis fails, Claim cannot know whether its claim was stored before
// the failure; it answers the error and remembers to release that claim
// (only that one, by its token) once Redis answers again, so that the
// vendor's retry is processed at once rather than after the lease.
func (d *dedupe) Claim(ctx context.Context, source, key string, now time.Time) (index.ClaimState, error) {
	s := (*Store)(d)
	s.flushReleases(ctx)
	rkey := s.dedupeKey(source, key)
	value := "P " + stamp(now) + " " + s.releases.token()
	cs, cn := "", ""
	if sec, nsec, ok := cutoff(now, d.limits.DedupeWindow); ok {
		cs, cn = strconv.FormatInt(sec, 10), strconv.FormatInt(nsec, 10)
	}
	ls, ln, _ := cutoff(now, index.ClaimLease)
	n, err := d.scripts.claim.Run(ctx, d.rdb, []string{rkey}, value, cs, cn,
		strconv.FormatInt(ls, 10), strconv.FormatInt(ln, 10), ttlMillis(index.ClaimLease)).Int()
	if err != nil {
		s.releases.add(rkey, value)
		return 0, unavailable("claim", err)
	}
	switch n {
	case 1:
		return index.Claimed, nil
	case 2:
		return index.InFlight, nil
	default:
		return index.Seen, nil
	}
}

// Confirm marks key stored at now: seen for the window from now, unless it
// is confirmed inside the window already (not extended).
func (d *dedupe) Confirm(ctx context.Context, source, key string, now time.Time) error {
	s := (*Store)(d)
	cs, cn := "", ""
	if sec, nsec, ok := cutoff(now, d.limits.DedupeWindow); ok {
		cs, cn = strconv.FormatInt(sec, 10), strconv.FormatInt(nsec, 10)
	}
	value := stamp(now) + " " + s.releases.token()
	if err := d.scripts.confirm.Run(ctx, d.rdb, []string{s.dedupeKey(source, key)}, value, cs, cn, ttlMillis(s.windowTTL(d.limits.DedupeWindow))).Err(); err != nil {
		return unavailable("confirm", err)
	}
	return nil
}

// stamp is now as "<unix seconds> <nanoseconds>".
func stamp(now time.Time) string {
	return strconv.FormatInt(now.Unix(), 10) + " " + strconv.Itoa(now.Nanosecond())
}

// Release forgets an unconfirmed claim of key, so that the vendor's retry
// of a delivery that could not be stored is processed at once; a confirmed
// key is kept. When Redis fails, the release is remembered and done once
// Redis answers again (by the next Claim or Ping of this Store); the claim
// lapses after index.ClaimLease anyway.
func (d *dedupe) Release(ctx context.Context, source, key string) error {
	s := (*Store)(d)
	rkey := s.dedupeKey(source, key)
	if err := d.scripts.releaseIf.Run(ctx, d.rdb, []string{rkey}, "").Err(); err != nil {
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
			// "" releases whatever unconfirmed claim holds the key.
			err := s.scripts.releaseIf.Run(ctx, s.rdb, []string{key}, value).Err()
			if err == nil {
				continue
			}
			failed = true
		}
		s.releases.put(key, value, false)
	}
}

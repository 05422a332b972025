package redisdrift_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replayhook/replayhook/drift"
	"github.com/replayhook/replayhook/drift/redisdrift"
	"github.com/replayhook/replayhook/internal/redistest"
)

// conn is a Redis client and the key prefix and TTL its trackers use: what
// the service gives redisdrift.New.
type conn struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// Drift is a tracker on c, for the sources given.
func (c conn) Drift(l drift.Limits, sources []drift.Source) *redisdrift.Tracker {
	return redisdrift.New(c.rdb, redisdrift.Options{Prefix: c.prefix, TTL: c.ttl, Limits: l, Sources: sources})
}

// startRedis starts a redis-server for tb (internal/redistest): without
// redis-server the test fails under CI and is skipped elsewhere.
func startRedis(tb testing.TB) *redistest.Server {
	tb.Helper()
	return redistest.Start(tb, redistest.Options{})
}

// uniquePrefix is a key prefix no other tracker uses (random).
func uniquePrefix() string { return "test-" + rand.Text()[:12] + ":" }

// newConn is a client of srv with its own key prefix, closed at cleanup.
func newConn(tb testing.TB, srv *redistest.Server) conn {
	tb.Helper()
	return newConnWithPrefix(tb, srv, uniquePrefix(), 0)
}

// newConnWithPrefix is a client of srv for the given prefix and TTL; like
// the service's client it never retries a command (a retried script could
// count twice).
func newConnWithPrefix(tb testing.TB, srv *redistest.Server, prefix string, ttl time.Duration) conn {
	tb.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	tb.Cleanup(func() { _ = rdb.Close() })
	return conn{rdb: rdb, prefix: prefix, ttl: ttl}
}

// newClusterConn is a Cluster client of cl with its own key prefix.
func newClusterConn(tb testing.TB, cl *redistest.Cluster) conn {
	tb.Helper()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs(), MaxRetries: -1})
	tb.Cleanup(func() { _ = rdb.Close() })
	return conn{rdb: rdb, prefix: uniquePrefix()}
}

// waitFor polls cond until it holds or the deadline passes; it is how a
// test waits for something to recover, never a timing assertion.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

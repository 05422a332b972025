package redisstore_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index/redisstore"
	"github.com/replayhook/replayhook/internal/redistest"
)

// redisServer is a real redis-server on a free loopback port, owned by one
// test (internal/redistest): started by startRedis, killed in t.Cleanup.
type redisServer struct{ *redistest.Server }

// startRedis starts a redis-server for tb. persist turns the append-only
// file on (fsync on every write) so that a killed and restarted server
// keeps every write it acknowledged; otherwise nothing is written to disk.
// extra are more redis-server arguments. Without redis-server the test
// fails under CI and is skipped elsewhere.
func startRedis(tb testing.TB, persist bool, extra ...string) *redisServer {
	tb.Helper()
	return &redisServer{redistest.Start(tb, redistest.Options{Persist: persist, Args: extra})}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(tb testing.TB) int { tb.Helper(); return redistest.FreePort(tb) }

// addr is the server's host:port.
func (s *redisServer) addr() string { return s.Addr() }

// kill stops the server at once (SIGKILL, as in a crash).
func (s *redisServer) kill() { s.Kill() }

// restart starts the server again on the same port with the same data
// directory.
func (s *redisServer) restart() { s.Restart() }

// client is a plain client for inspecting the server.
func (s *redisServer) client() *redis.Client { return s.Client() }

// uniquePrefix is a key prefix no other store uses (random).
func uniquePrefix() string { return "test-" + rand.Text()[:12] + ":" }

// redisConfig is the configuration of a store on srv under prefix.
func redisConfig(srv *redisServer, prefix string) config.Redis {
	cfg := config.Default().Store.Redis
	cfg.Addr = srv.addr()
	cfg.KeyPrefix = prefix
	return cfg
}

// newStore is a Store on srv with its own key prefix, closed at cleanup.
func newStore(tb testing.TB, srv *redisServer, l redisstore.Limits) *redisstore.Store {
	tb.Helper()
	return newStoreWithPrefix(tb, srv, uniquePrefix(), l)
}

func newStoreWithPrefix(tb testing.TB, srv *redisServer, prefix string, l redisstore.Limits) *redisstore.Store {
	tb.Helper()
	return openStore(tb, redisConfig(srv, prefix), l)
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

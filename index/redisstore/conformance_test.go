package redisstore_test

import (
	"testing"
	"time"

	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/index/indextest"
	"github.com/replayhook/replayhook/index/redisstore"
)

// The Redis stores pass the same conformance suite as the memory stores
// (index/indextest/memory_test.go). Every case gets a store of its own key
// prefix on one server per test.

func TestRedisUsers(t *testing.T) {
	srv := startRedis(t, false)
	indextest.RunUsers(t, func(t *testing.T, l index.UserLimits) index.UserIndex {
		return newStore(t, srv, redisstore.Limits{Lookback: l.Lookback, MaxSessionsPerUser: l.MaxSessionsPerUser, MaxProductsPerUser: l.MaxProductsPerUser}).Users()
	})
}

func TestRedisActivity(t *testing.T) {
	srv := startRedis(t, false)
	indextest.RunActivity(t, func(t *testing.T, perSession int) index.ActivityStore {
		return newStore(t, srv, redisstore.Limits{MaxActionsPerSession: perSession}).Activity()
	})
}

func TestRedisDedupe(t *testing.T) {
	srv := startRedis(t, false)
	indextest.RunDedupe(t, func(t *testing.T, window time.Duration) index.Deduper {
		return newStore(t, srv, redisstore.Limits{DedupeWindow: window}).Dedupe()
	})
}

func TestRedisAliases(t *testing.T) {
	srv := startRedis(t, false)
	indextest.RunAliases(t, func(t *testing.T, ttl time.Duration) index.Aliases {
		return newStore(t, srv, redisstore.Limits{AliasTTL: ttl}).Aliases()
	})
}

func TestRedisRejected(t *testing.T) {
	srv := startRedis(t, false)
	indextest.RunRejected(t, func(t *testing.T, limit int) index.RejectedLog {
		return newStore(t, srv, redisstore.Limits{RejectedMax: limit}).Rejected()
	})
}

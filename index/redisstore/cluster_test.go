package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/index/indextest"
	"github.com/replayhook/replayhook/index/redisstore"
	"github.com/replayhook/replayhook/internal/redistest"
	"github.com/replayhook/replayhook/normalize"
)

// The stores on a real 3-master Redis Cluster (loopback, no replicas): the
// whole conformance suite passes, so every script and MULTI touches one
// slot (Redis answers CROSSSLOT otherwise) and Len counts the keys of every
// master.

// newClusterStore is a Store on cl with its own key prefix, closed at
// cleanup.
func newClusterStore(tb testing.TB, cl *redistest.Cluster, l redisstore.Limits) *redisstore.Store {
	tb.Helper()
	cfg := config.Default().Store.Redis
	cfg.Addrs = cl.Addrs()
	cfg.KeyPrefix = uniquePrefix()
	return openStore(tb, cfg, l)
}

// openStore is redisstore.New within 10 s, closed at cleanup.
func openStore(tb testing.TB, cfg config.Redis, l redisstore.Limits) *redisstore.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := redisstore.New(ctx, cfg, l)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
			tb.Error(err)
		}
	})
	return st
}

func TestClusterConformance(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	t.Run("users", func(t *testing.T) {
		indextest.RunUsers(t, func(t *testing.T, l index.UserLimits) index.UserIndex {
			return newClusterStore(t, cl, redisstore.Limits{Lookback: l.Lookback, MaxSessionsPerUser: l.MaxSessionsPerUser, MaxProductsPerUser: l.MaxProductsPerUser}).Users()
		})
	})
	t.Run("activity", func(t *testing.T) {
		indextest.RunActivity(t, func(t *testing.T, perSession int) index.ActivityStore {
			return newClusterStore(t, cl, redisstore.Limits{MaxActionsPerSession: perSession}).Activity()
		})
	})
	t.Run("dedupe", func(t *testing.T) {
		indextest.RunDedupe(t, func(t *testing.T, window time.Duration) index.Deduper {
			return newClusterStore(t, cl, redisstore.Limits{DedupeWindow: window}).Dedupe()
		})
	})
	t.Run("aliases", func(t *testing.T) {
		indextest.RunAliases(t, func(t *testing.T, ttl time.Duration) index.Aliases {
			return newClusterStore(t, cl, redisstore.Limits{AliasTTL: ttl}).Aliases()
		})
	})
	t.Run("rejected", func(t *testing.T) {
		indextest.RunRejected(t, func(t *testing.T, limit int) index.RejectedLog {
			return newClusterStore(t, cl, redisstore.Limits{RejectedMax: limit}).Rejected()
		})
	})
}

// TestClusterSpreadsKeysAndCountsThemAll writes enough users and sessions
// that every master holds some, then checks that Len sees all of them and
// that a master down makes Ping fail.
func TestClusterSpreadsKeysAndCountsThemAll(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	st := newClusterStore(t, cl, redisstore.Limits{Lookback: time.Hour, MaxSessionsPerUser: 5, MaxActionsPerSession: 10})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := time.Now()
	const n = 60
	for i := range n {
		user := fmt.Sprint("user-", i)
		key := index.SessionKey{ProductID: "prod", SessionID: fmt.Sprint("sess-", i)}
		ref := index.SessionRef{ProductID: key.ProductID, SessionID: key.SessionID, LastSeenAt: float64(now.Unix())}
		if err := st.Users().Link(ctx, user, user+"@example.com", ref, now); err != nil {
			t.Fatal(err)
		}
		p := &normalize.ActionsPayload{ProductID: key.ProductID, SessionID: &key.SessionID, Actions: []normalize.SlimAction{{Type: "click", Title: "Save"}}}
		if err := st.Activity().AddActions(ctx, key, p, float64(now.Unix())); err != nil {
			t.Fatal(err)
		}
	}
	for i, node := range cl.Nodes {
		keys, err := node.Client().DBSize(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if keys == 0 {
			t.Fatalf("master %d holds no key: the test would not show that Len scans every master", i)
		}
	}
	if got := st.Users().Len(); got != n {
		t.Errorf("Users().Len() = %d, want %d", got, n)
	}
	if got := st.Activity().Len(); got != n {
		t.Errorf("Activity().Len() = %d, want %d", got, n)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("Ping with every master up: %v", err)
	}
	cl.Nodes[2].Kill()
	if err := st.Ping(ctx); !errors.Is(err, index.ErrUnavailable) {
		t.Fatalf("Ping with a master down = %v, want ErrUnavailable", err)
	}
	if got := st.Users().Len(); got != -1 {
		t.Errorf("Users().Len() with a master down = %d, want -1 (unknown)", got)
	}
}

// TestNewRefusesWhatItCannotServe: configurations New refuses before
// dialing anything (config.Validate refuses them too; New does not rely on
// it). None of these errors is ErrUnavailable: retrying cannot help.
func TestNewRefusesWhatItCannotServe(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*config.Redis)
	}{
		{"a Cluster with db", func(c *config.Redis) { c.Addrs = []string{"127.0.0.1:1", "127.0.0.1:2"}; c.DB = 2 }},
		{"a URL in addrs", func(c *config.Redis) { c.Addrs = []string{"redis://127.0.0.1:1", "127.0.0.1:2"} }},
		{"an addrs entry without port", func(c *config.Redis) { c.Addrs = []string{"127.0.0.1"} }},
		{"a hash tag in the prefix on a Cluster", func(c *config.Redis) { c.Addrs = []string{"127.0.0.1:1", "127.0.0.1:2"}; c.KeyPrefix = "{app}:" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default().Store.Redis
			tc.edit(&cfg)
			st, err := redisstore.New(context.Background(), cfg, redisstore.Limits{})
			if err == nil {
				st.Close()
				t.Fatal("New accepted it")
			}
			if errors.Is(err, index.ErrUnavailable) {
				t.Fatalf("New = %v: a configuration error must not read as Redis being unavailable", err)
			}
		})
	}
}

package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/index/indextest"
	"github.com/replayhook/replayhook/index/redisstore"
	"github.com/replayhook/replayhook/internal/redistest"
)

// The stores through Sentinel: one master and one Sentinel on loopback,
// both with a password (the master's in username/password, the Sentinel's
// in sentinel_password). No failover is exercised (there is no replica to
// promote); the client finds the master through the Sentinel, and a master
// that goes away and comes back is recovered from by itself.

const (
	sentinelMasterName = "replayhook-test"
	nodePassword       = "node-password-123"
	sentinelPassword   = "sentinel-password-123"
)

// sentinelConfig is the configuration of a store reaching master through
// sentinel, under its own key prefix.
func sentinelConfig(sentinel *redistest.Server) config.Redis {
	cfg := config.Default().Store.Redis
	cfg.Addrs = []string{sentinel.Addr()}
	cfg.MasterName = sentinelMasterName
	cfg.Password = nodePassword
	cfg.SentinelPassword = sentinelPassword
	cfg.KeyPrefix = uniquePrefix()
	return cfg
}

func TestSentinel(t *testing.T) {
	master := redistest.Start(t, redistest.Options{Persist: true, Args: []string{"--requirepass", nodePassword}})
	sentinel := redistest.StartSentinel(t, master, sentinelMasterName, nodePassword, sentinelPassword)

	t.Run("users conformance", func(t *testing.T) {
		indextest.RunUsers(t, func(t *testing.T, l index.UserLimits) index.UserIndex {
			return openStore(t, sentinelConfig(sentinel), redisstore.Limits{Lookback: l.Lookback, MaxSessionsPerUser: l.MaxSessionsPerUser, MaxProductsPerUser: l.MaxProductsPerUser}).Users()
		})
	})
	t.Run("dedupe conformance", func(t *testing.T) {
		indextest.RunDedupe(t, func(t *testing.T, window time.Duration) index.Deduper {
			return openStore(t, sentinelConfig(sentinel), redisstore.Limits{DedupeWindow: window}).Dedupe()
		})
	})

	t.Run("wrong passwords are refused", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			edit func(*config.Redis)
		}{
			{"Sentinel password", func(c *config.Redis) { c.SentinelPassword = "not-the-password" }},
			{"master password", func(c *config.Redis) { c.Password = "not-the-password" }},
			{"master name", func(c *config.Redis) { c.MasterName = "no-such-master" }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cfg := sentinelConfig(sentinel)
				tc.edit(&cfg)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				st, err := redisstore.New(ctx, cfg, redisstore.Limits{})
				if err == nil {
					st.Close()
					t.Fatal("New accepted it")
				}
				if !errors.Is(err, index.ErrUnavailable) {
					t.Fatalf("New = %v, want ErrUnavailable", err)
				}
			})
		}
	})

	t.Run("master down and back", func(t *testing.T) {
		st := openStore(t, sentinelConfig(sentinel), redisstore.Limits{DedupeWindow: time.Hour})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		now := time.Now()
		if c, err := st.Dedupe().Claim(ctx, "src", "delivery-1", now); c != index.Claimed || err != nil {
			t.Fatalf("Claim = %v, %v", c, err)
		}
		if err := st.Dedupe().Confirm(ctx, "src", "delivery-1", now); err != nil {
			t.Fatal(err)
		}
		master.Kill()
		if err := st.Ping(ctx); !errors.Is(err, index.ErrUnavailable) {
			t.Fatalf("Ping with the master down = %v, want ErrUnavailable", err)
		}
		if _, err := st.Dedupe().Claim(ctx, "src", "delivery-2", now); !errors.Is(err, index.ErrUnavailable) {
			t.Fatalf("Claim with the master down = %v, want ErrUnavailable", err)
		}
		master.Restart()
		waitFor(t, "Ping through the Sentinel to succeed", func() bool { return st.Ping(ctx) == nil })
		if c, err := st.Dedupe().Claim(ctx, "src", "delivery-1", now); c != index.Seen || err != nil {
			t.Fatalf("Claim of the delivery acknowledged before the outage = %v, %v; want a duplicate", c, err)
		}
	})
}

package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/index/redisstore"
	"github.com/replayhook/replayhook/normalize"
)

// TestFullRedisWithNoevictionStillServesReads: at maxmemory with the
// noeviction policy, Redis refuses every write (OOM) but serves reads.
// Every read of the stores keeps working (no MULTI, no script that may
// write), every write answers ErrUnavailable (503: the vendor retries),
// and Ping, behind /readyz, reports the Redis that refuses writes. Once
// memory is available again, Ping recovers by itself.
func TestFullRedisWithNoevictionStillServesReads(t *testing.T) {
	ctx := context.Background()
	srv := startRedis(t, false, "--maxmemory-policy", "noeviction")
	st := newStore(t, srv, redisstore.Limits{Lookback: time.Hour, MaxSessionsPerUser: 5, MaxActionsPerSession: 10, AliasTTL: time.Hour, RejectedMax: 10})
	now := time.Now()
	nowS := normalize.UnixSeconds(now)
	key := index.SessionKey{ProductID: "p", SessionID: "s1"}
	p := &normalize.ActionsPayload{UserID: normalize.OptStr("u1"), Email: normalize.OptStr("u1@x.io"),
		Actions: []normalize.SlimAction{{Type: "click", Description: "pay"}}}
	must(t, st.Users().Link(ctx, "u1", "u1@x.io", index.SessionRef{SessionID: "s1", ProductID: "p", LastSeenAt: nowS - 1}, now))
	must(t, st.Users().Link(ctx, "u1", "", index.SessionRef{SessionID: "s0", ProductID: "p", LastSeenAt: nowS - 7200}, now.Add(-2*time.Hour)))
	must(t, st.Activity().AddActions(ctx, key, p, nowS))
	must(t, st.Aliases().Remember(ctx, "p", normalize.Identity{AnonymousID: "anon", UserID: "u1"}, now))
	must(t, st.Rejected().Add(ctx, index.Rejection{Source: "x", Code: "invalid_signature"}))
	must(t, st.Ping(ctx))

	// Full: maxmemory below what is used.
	c := srv.client()
	must(t, c.ConfigSet(ctx, "maxmemory", "1").Err())
	t.Cleanup(func() { _ = c.ConfigSet(context.Background(), "maxmemory", "0").Err() })

	later := now.Add(time.Second) // s0's ref is expired: a lookup that may write would be refused
	if u, ok, err := st.Users().Lookup(ctx, "u1", later); err != nil || !ok || len(u.Sessions) != 1 || u.EmailFor("p") != "u1@x.io" {
		t.Fatalf("Lookup at maxmemory = %+v, %v, %v", u, ok, err)
	}
	if s, ok, err := st.Activity().Get(ctx, key); err != nil || !ok || len(s.Actions) != 1 {
		t.Fatalf("Get at maxmemory = %+v, %v, %v", s, ok, err)
	}
	if id, ok, err := st.Aliases().Resolve(ctx, "p", "anon", later); err != nil || !ok || id.UserID != "u1" {
		t.Fatalf("Resolve at maxmemory = %+v, %v, %v", id, ok, err)
	}
	if r, err := st.Rejected().Recent(ctx, 10); err != nil || len(r) != 1 {
		t.Fatalf("Recent at maxmemory = %+v, %v", r, err)
	}
	if err := st.Users().Link(ctx, "u2", "", index.SessionRef{SessionID: "s2", ProductID: "p", LastSeenAt: nowS}, now); !errors.Is(err, index.ErrUnavailable) {
		t.Fatalf("Link at maxmemory = %v, want ErrUnavailable", err)
	}
	if err := st.Activity().AddActions(ctx, key, p, nowS); !errors.Is(err, index.ErrUnavailable) {
		t.Fatalf("AddActions at maxmemory = %v, want ErrUnavailable", err)
	}
	if _, err := st.Dedupe().Claim(ctx, "src", "k", now); !errors.Is(err, index.ErrUnavailable) {
		t.Fatalf("Claim at maxmemory = %v, want ErrUnavailable", err)
	}
	if err := st.Ping(ctx); !errors.Is(err, index.ErrUnavailable) {
		t.Fatalf("Ping at maxmemory = %v, want ErrUnavailable: /readyz must show a Redis that refuses writes", err)
	}

	must(t, c.ConfigSet(ctx, "maxmemory", "0").Err())
	must(t, st.Ping(ctx))
	must(t, st.Users().Link(ctx, "u2", "", index.SessionRef{SessionID: "s2", ProductID: "p", LastSeenAt: nowS}, now))
}

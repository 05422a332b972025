package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/index/redisstore"
	"github.com/replayhook/replayhook/normalize"
)

func TestNewRefusesBadConfiguration(t *testing.T) {
	srv := startRedis(t, false)
	ctx := context.Background()
	closedPort := freePort(t)
	for _, tc := range []struct {
		name        string
		edit        func(*config.Redis)
		unavailable bool   // the error wraps index.ErrUnavailable
		notInError  string // a secret the message must not show
	}{
		{name: "neither host:port nor URL", edit: func(c *config.Redis) { c.Addr = "localhost" }},
		{name: "unknown URL scheme", edit: func(c *config.Redis) { c.Addr = "http://127.0.0.1:6379" }},
		{name: "malformed URL keeps its password to itself",
			edit:       func(c *config.Redis) { c.Addr = "redis://user:s3cret-pw@127.0.0.1:6379/notadb" },
			notInError: "s3cret-pw"},
		{name: "hash tag in the prefix", edit: func(c *config.Redis) { c.KeyPrefix = "{rh}:" }},
		{name: "nothing listens", edit: func(c *config.Redis) { c.Addr = fmt.Sprint("127.0.0.1:", closedPort) }, unavailable: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := redisConfig(srv, uniquePrefix())
			cfg.DialTimeout = time.Second
			tc.edit(&cfg)
			st, err := redisstore.New(ctx, cfg, redisstore.Limits{})
			if err == nil {
				st.Close()
				t.Fatal("New accepted it")
			}
			if errors.Is(err, index.ErrUnavailable) != tc.unavailable {
				t.Fatalf("New = %v; wraps ErrUnavailable: %v, want %v", err, errors.Is(err, index.ErrUnavailable), tc.unavailable)
			}
			if tc.notInError != "" && strings.Contains(err.Error(), tc.notInError) {
				t.Fatalf("the error shows a secret: %v", err)
			}
		})
	}
}

func TestNewAuthenticates(t *testing.T) {
	srv := startRedis(t, false, "--requirepass", "right-password-123")
	ctx := context.Background()
	for _, tc := range []struct {
		name, addr, user, password string
		ok                         bool
	}{
		{name: "password from the config", addr: srv.addr(), password: "right-password-123", ok: true},
		{name: "password in the URL", addr: "redis://:right-password-123@" + srv.addr(), ok: true},
		{name: "the config overrides the URL", addr: "redis://:wrong@" + srv.addr(), password: "right-password-123", ok: true},
		{name: "user and password", addr: srv.addr(), user: "default", password: "right-password-123", ok: true},
		{name: "no password", addr: srv.addr()},
		{name: "wrong password", addr: srv.addr(), password: "not-the-password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := redisConfig(srv, uniquePrefix())
			cfg.Addr, cfg.Username, cfg.Password = tc.addr, tc.user, tc.password
			st, err := redisstore.New(ctx, cfg, redisstore.Limits{})
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				st.Close()
				return
			}
			if err == nil {
				st.Close()
				t.Fatal("New accepted it")
			}
			if !errors.Is(err, index.ErrUnavailable) || strings.Contains(err.Error(), "not-the-password") {
				t.Fatalf("New = %v, want ErrUnavailable without the password", err)
			}
		})
	}
}

func TestNewAcceptsAURL(t *testing.T) {
	srv := startRedis(t, false)
	ctx := context.Background()
	prefix := uniquePrefix()
	cfg := redisConfig(srv, prefix)
	cfg.Addr = "redis://" + srv.addr() + "/3"
	st, err := redisstore.New(ctx, cfg, redisstore.Limits{Lookback: time.Minute, MaxSessionsPerUser: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	if err := st.Users().Link(ctx, "u1", "", index.SessionRef{SessionID: "s1", ProductID: "p", LastSeenAt: normalize.UnixSeconds(now)}, now); err != nil {
		t.Fatal(err)
	}
	for db, want := range map[int]int64{0: 0, 3: 1} {
		c := redis.NewClient(&redis.Options{Addr: srv.addr(), DB: db})
		n, err := c.Exists(ctx, prefix+"u:{u1}").Result()
		c.Close()
		if err != nil || n != want {
			t.Fatalf("the user is %d times in DB %d (%v), want %d: the URL's DB was not used", n, db, err, want)
		}
	}
}

// TestEveryKeyHasATTL: whatever is written, Redis memory stays bounded by
// expiry, and each TTL is the one documented.
func TestEveryKeyHasATTL(t *testing.T) {
	srv := startRedis(t, false)
	ctx := context.Background()
	prefix := uniquePrefix()
	l := redisstore.Limits{
		Lookback: 5 * time.Minute, MaxSessionsPerUser: 5, MaxActionsPerSession: 5, SessionTTL: 2 * time.Hour,
		DedupeWindow: 24 * time.Hour, AliasTTL: 30 * 24 * time.Hour, RejectedMax: 5, FallbackTTL: 7 * 24 * time.Hour,
	}
	st := newStoreWithPrefix(t, srv, prefix, l)
	now := time.Now()
	nowS := normalize.UnixSeconds(now)
	key := index.SessionKey{ProductID: "p", SessionID: "s1"}
	must(t, st.Users().Link(ctx, "u1", "a@x.io", index.SessionRef{SessionID: "s1", ProductID: "p", LastSeenAt: nowS - 60}, now))
	must(t, st.Activity().AddActions(ctx, key, &normalize.ActionsPayload{UserID: normalize.OptStr("u1"), Email: normalize.OptStr("a@x.io"),
		Actions: []normalize.SlimAction{{Type: "click"}}}, nowS))
	must(t, st.Ping(ctx))
	must(t, st.Activity().SetSummary(ctx, index.SessionKey{ProductID: "p", SessionID: "s2"}, "sum", nowS))
	_, err := st.Dedupe().Claim(ctx, "src", "delivery-1", now)
	must(t, err)
	must(t, st.Dedupe().Confirm(ctx, "src", "delivery-1", now))
	must(t, st.Aliases().Remember(ctx, "p", normalize.Identity{AnonymousID: "anon", UserID: "u1"}, now))
	must(t, st.Rejected().Add(ctx, index.Rejection{Source: "x"}))

	want := map[string]time.Duration{
		prefix + "u:{u1}":   4 * time.Minute, // the newest ref (a minute old) leaves the 5 min lookback in 4
		prefix + "s:{p:s1}": 2 * time.Hour, prefix + "s:{p:s1}:a": 2 * time.Hour, prefix + "s:{p:s2}": 2 * time.Hour,
		prefix + "a:p:anon": 30 * 24 * time.Hour, prefix + "u:{u1}:a": 30 * 24 * time.Hour, prefix + "rejected": 7 * 24 * time.Hour,
		// the sets erasure finds a user's sessions by live as long as the sessions
		prefix + "u:{u1}:s": 2 * time.Hour, prefix + "m:{a@x.io}:s": 2 * time.Hour,
	}
	c := srv.client()
	keys, err := c.Keys(ctx, prefix+"*").Result()
	must(t, err)
	if len(keys) != len(want)+1 {
		t.Fatalf("keys %q, want %d", keys, len(want)+1)
	}
	for _, k := range keys {
		ttl, err := c.PTTL(ctx, k).Result()
		must(t, err)
		w, ok := want[k]
		if strings.HasPrefix(k, prefix+"d:") {
			w, ok = 24*time.Hour, true
		}
		if !ok {
			t.Fatalf("unexpected key %q", k)
		}
		// The TTL was set a moment ago: it lies in (w - 1 minute, w].
		if ttl <= w-time.Minute || ttl > w {
			t.Errorf("PTTL %s = %v, want about %v", k, ttl, w)
		}
	}
}

// TestTwoClientsLoseNoWrite: two Stores (two clients, as two replicas)
// write to one user, one session and one delivery at once.
func TestTwoClientsLoseNoWrite(t *testing.T) {
	srv := startRedis(t, false)
	ctx := context.Background()
	const perClient = 200
	prefix := uniquePrefix()
	l := redisstore.Limits{Lookback: time.Hour, MaxSessionsPerUser: 2 * perClient, MaxActionsPerSession: 2 * perClient}
	stores := []*redisstore.Store{newStoreWithPrefix(t, srv, prefix, l), newStoreWithPrefix(t, srv, prefix, l)}
	now := time.Now()
	nowS := normalize.UnixSeconds(now)
	var wg sync.WaitGroup
	errs := make(chan error, 4*perClient)
	claims := make(chan bool, 2*perClient)
	for c, st := range stores {
		wg.Go(func() {
			for i := range perClient {
				ref := index.SessionRef{SessionID: fmt.Sprintf("c%d-s%d", c, i), ProductID: "p", LastSeenAt: nowS - float64(i)}
				if err := st.Users().Link(ctx, "shared", "", ref, now); err != nil {
					errs <- err
				}
				p := &normalize.ActionsPayload{Actions: []normalize.SlimAction{{Description: ref.SessionID}}}
				if err := st.Activity().AddActions(ctx, index.SessionKey{ProductID: "p", SessionID: "shared"}, p, nowS); err != nil {
					errs <- err
				}
				c, err := st.Dedupe().Claim(ctx, "src", fmt.Sprint("delivery-", i), now)
				if err != nil {
					errs <- err
				}
				claims <- c == index.Claimed
			}
		})
	}
	wg.Wait()
	close(errs)
	close(claims)
	for err := range errs {
		t.Fatal(err)
	}
	u, ok, err := stores[0].Users().Lookup(ctx, "shared", now)
	if err != nil || !ok || len(u.Sessions) != 2*perClient {
		t.Fatalf("user holds %d refs (%v, %v), want %d", len(u.Sessions), ok, err, 2*perClient)
	}
	s, ok, err := stores[1].Activity().Get(ctx, index.SessionKey{ProductID: "p", SessionID: "shared"})
	if err != nil || !ok || len(s.Actions) != 2*perClient {
		t.Fatalf("session holds %d actions (%v, %v), want %d", len(s.Actions), ok, err, 2*perClient)
	}
	won := 0
	for ok := range claims {
		if ok {
			won++
		}
	}
	if won != perClient {
		t.Fatalf("%d claims won, want %d (one per delivery)", won, perClient)
	}
}

// TestReleaseFailedWhileRedisWasDownIsDoneLater: a delivery claimed just
// before Redis died must not be answered "duplicate" once Redis is back,
// even though its release failed.
func TestReleaseFailedWhileRedisWasDownIsDoneLater(t *testing.T) {
	srv := startRedis(t, true)
	ctx := context.Background()
	st := newStore(t, srv, redisstore.Limits{DedupeWindow: time.Hour})
	now := time.Now()
	if c, err := st.Dedupe().Claim(ctx, "src", "delivery-1", now); c != index.Claimed || err != nil {
		t.Fatalf("Claim = %v, %v", c, err)
	}
	srv.kill()
	if err := st.Dedupe().Release(ctx, "src", "delivery-1"); !errors.Is(err, index.ErrUnavailable) {
		t.Fatalf("Release with Redis down = %v, want ErrUnavailable", err)
	}
	if c, err := st.Dedupe().Claim(ctx, "src", "delivery-2", now); c == index.Claimed || !errors.Is(err, index.ErrUnavailable) {
		t.Fatalf("Claim with Redis down = %v, %v; want ErrUnavailable", c, err)
	}
	srv.restart()
	waitFor(t, "Ping to succeed", func() bool { return st.Ping(ctx) == nil })
	for _, key := range []string{"delivery-1", "delivery-2"} {
		if c, err := st.Dedupe().Claim(ctx, "src", key, now); c != index.Claimed || err != nil {
			t.Fatalf("Claim(%s) after recovery = %v, %v; want new: its failed release or claim was not undone", key, c, err)
		}
	}
}

// TestDeferredReleaseSparesAnotherClaim: the release remembered for a
// failed Claim only removes that claim, not one made since by another
// replica.
func TestDeferredReleaseSparesAnotherClaim(t *testing.T) {
	srv := startRedis(t, true)
	ctx := context.Background()
	prefix := uniquePrefix()
	a := newStoreWithPrefix(t, srv, prefix, redisstore.Limits{DedupeWindow: time.Hour})
	b := newStoreWithPrefix(t, srv, prefix, redisstore.Limits{DedupeWindow: time.Hour})
	now := time.Now()
	srv.kill()
	if _, err := a.Dedupe().Claim(ctx, "src", "delivery-1", now); !errors.Is(err, index.ErrUnavailable) {
		t.Fatalf("Claim with Redis down = %v", err)
	}
	srv.restart()
	waitFor(t, "b to reconnect", func() bool { return b.Ping(ctx) == nil })
	if c, err := b.Dedupe().Claim(ctx, "src", "delivery-1", now); c != index.Claimed || err != nil {
		t.Fatalf("b's Claim = %v, %v", c, err)
	}
	waitFor(t, "a to reconnect", func() bool { return a.Ping(ctx) == nil }) // flushes a's pending release
	if c, err := b.Dedupe().Claim(ctx, "src", "delivery-1", now); c != index.InFlight || err != nil {
		t.Fatalf("b's claim was released by a: Claim again = %v, %v; want in flight", c, err)
	}
}

// TestMemoryPerEntry measures what docs/redis.md states: the Redis memory
// of a user with 20 refs and of a session with 200 actions, at typical id
// and text sizes.
func TestMemoryPerEntry(t *testing.T) {
	srv := startRedis(t, false)
	ctx := context.Background()
	prefix := uniquePrefix()
	st := newStoreWithPrefix(t, srv, prefix, redisstore.Limits{Lookback: time.Hour, MaxSessionsPerUser: 20, MaxActionsPerSession: 200})
	now := time.Now()
	nowS := normalize.UnixSeconds(now)
	for i := range 20 {
		ref := index.SessionRef{SessionID: fmt.Sprintf("sess_01HZX%020d", i), ProductID: "prod_demo", LastSeenAt: nowS - float64(i)}
		must(t, st.Users().Link(ctx, "user_0123456789", "someone@example.com", ref, now))
	}
	p := &normalize.ActionsPayload{UserID: normalize.OptStr("user_0123456789"), Email: normalize.OptStr("someone@example.com")}
	for i := range 200 {
		p.Actions = append(p.Actions, normalize.SlimAction{
			Index: i, Type: "click", Title: "Checkout – Example", Description: "Clicked the \"Pay now\" button",
			TimestampStart: nowS, TimestampEnd: nowS, RawURL: "https://app.example.com/checkout?step=2",
			CanonicalURL: "https://app.example.com/checkout", SessionID: normalize.OptStr("sess_01HZX00000000000000000000"),
			UserID: normalize.OptStr("user_0123456789"), Email: normalize.OptStr("someone@example.com"),
		})
	}
	key := index.SessionKey{ProductID: "prod_demo", SessionID: "sess_01HZX00000000000000000000"}
	must(t, st.Activity().AddActions(ctx, key, p, nowS))
	_, err := st.Dedupe().Claim(ctx, "src", "autoplay\x00id\x00msg_2mN1b0gWZ5hQ3", now)
	must(t, err)
	must(t, st.Dedupe().Confirm(ctx, "src", "autoplay\x00id\x00msg_2mN1b0gWZ5hQ3", now))
	must(t, st.Aliases().Remember(ctx, "p", normalize.Identity{AnonymousID: "anon_5f0c1e2d-8a7b-4c3d", UserID: "user_0123456789", Email: "someone@example.com"}, now))
	c := srv.client()
	usage := func(k string) int64 {
		n, err := c.MemoryUsage(ctx, k, 0).Result()
		must(t, err)
		return n
	}
	user := usage(prefix + "u:{user_0123456789}")
	meta, list := usage(prefix+"s:{prod_demo:sess_01HZX00000000000000000000}"), usage(prefix+"s:{prod_demo:sess_01HZX00000000000000000000}:a")
	dkeys, err := c.Keys(ctx, prefix+"d:*").Result()
	must(t, err)
	if len(dkeys) != 1 {
		t.Fatalf("dedupe keys %q", dkeys)
	}
	claim, alias := usage(dkeys[0]), usage(prefix+"a:p:anon_5f0c1e2d-8a7b-4c3d")
	sets := usage(prefix+"u:{user_0123456789}:s") + usage(prefix+"m:{someone@example.com}:s") + usage(prefix+"u:{user_0123456789}:a")
	t.Logf("user with 20 refs: %d B; session hash: %d B; 200 actions: %d B (%d B/action); claimed delivery: %d B; alias: %d B; erasure sets of one session and one alias: %d B",
		user, meta, list, list/200, claim, alias, sets)
	if user > 4096 || meta > 512 || list > 200*400 || claim > 256 || alias > 256 || sets > 3*256 {
		t.Fatalf("more memory than docs/redis.md states: user %d B (≤ 4096), session %d B (≤ 512), actions %d B (≤ 80000), claim %d B (≤ 256), alias %d B (≤ 256)",
			user, meta, list, claim, alias)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

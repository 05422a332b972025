package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/drift"
	"github.com/replayhook/replayhook/drift/redisdrift"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/index/redisstore"
	"github.com/replayhook/replayhook/internal/redistest"
	"github.com/replayhook/replayhook/stream"
)

// backends are the stores every test of this file runs on: the memory
// stores and the Redis stores on a real redis-server.
func backends(t *testing.T) map[string]option {
	return map[string]option{
		"memory": func(_ *config.Config, d *Deps) {
			md := drift.NewMemory(eraseDriftLimits, nil)
			md.Reset(T0)
			d.Drift = md
		},
		"redis": func(cfg *config.Config, d *Deps) {
			srv := redistest.Start(t, redistest.Options{})
			rs, err := redisstore.New(context.Background(), config.Redis{Addr: srv.Addr(), KeyPrefix: "t:"}, redisstore.Limits{
				Lookback: cfg.Index.Lookback(), MaxSessionsPerUser: cfg.Index.MaxSessionsPerUser,
				MaxActionsPerSession: cfg.Activity.MaxActionsPerSession, DedupeWindow: cfg.Dedupe.Window(),
				AliasTTL: time.Hour, RejectedMax: 20,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rs.Close() })
			d.Users, d.Activity, d.Dedupe, d.Aliases, d.Rejected = rs.Users(), rs.Activity(), rs.Dedupe(), rs.Aliases(), rs.Rejected()
			rd := redisdrift.New(rs.Client(), redisdrift.Options{Prefix: "t:", Limits: eraseDriftLimits})
			t.Cleanup(func() { _ = rd.Close() })
			d.Drift = rd
			// The SSE stream on Redis Streams, fed by the ingest.
			d.Stream = NewStream(cfg.Stream, stream.NewRedis(rs.Client(), "t:", stream.RedisLimits{
				Events: cfg.Stream.ReplayEvents, Age: cfg.Stream.ReplayAge(), Products: cfg.Stream.MaxProducts,
			}, 50*time.Millisecond), nil)
			d.Outbound = append(d.Outbound, d.Stream)
		},
	}
}

var eraseDriftLimits = drift.Limits{MaxLookupMisses: 100, MaxConflicts: 100, MaxKnownIDs: 1000, MaxExamples: 5}

// TestEraseUserEverywhere erases a user with more sessions than the
// per-user cap keeps, some of them older than the lookback, and then reads
// every read API: none returns their id or email, and another user's data
// is untouched.
func TestEraseUserEverywhere(t *testing.T) {
	for name, backend := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, backend, func(_ *config.Config, d *Deps) {
				if d.Rejected == nil {
					d.Rejected = index.NewMemoryRejected(20)
				}
			})
			const id, email = "usr_erased", "erased@example.com"
			act := []string{"click|Pay|https://x.example/pay"}
			// Six sessions (the cap keeps 3), the first two before the
			// lookback (300 s) ends: only the users index forgets them.
			for i := range 6 {
				body := payloadSpec{product: "prod_demo", session: fmt.Sprint("er-", i), user: id, email: email, ts: h.clock.Now(), actions: act}.body()
				if rec := h.post("autoplay", body); rec.Code != 200 {
					t.Fatalf("post: %d %s", rec.Code, rec.Body)
				}
				if i == 1 {
					h.clock.Add(10 * time.Minute)
				}
			}
			// Their email on an anonymous session of another product, and
			// another user's session.
			anon := payloadSpec{product: "prod_other", session: "er-anon", email: email, ts: h.clock.Now(), actions: act}.body()
			if rec := h.post("open", anon); rec.Code != 200 {
				t.Fatalf("post: %d %s", rec.Code, rec.Body)
			}
			other := payloadSpec{product: "prod_demo", session: "kept", user: "usr_kept", email: "kept@example.com", ts: h.clock.Now(), actions: act}.body()
			if rec := h.post("autoplay", other); rec.Code != 200 {
				t.Fatalf("post: %d %s", rec.Code, rec.Body)
			}
			h.do(http.MethodPost, "/webhooks/autoplay", []byte(`{}`), http.Header{}) // a rejection, for the rejected log
			// A chat layer that looked them up by email left a drift miss
			// named by it.
			h.get("/v1/users/"+email, tokChat)
			if rec := h.get("/v1/drift", tokChat); !strings.Contains(rec.Body.String(), email) {
				t.Fatalf("the drift report should name the email before erasure: %s", rec.Body)
			}

			// The stream's replay buffers hold their payloads before
			// erasure; resuming from the first of them must keep working.
			names := func(ev stream.Event) bool {
				return strings.Contains(string(ev.Data), id) || strings.Contains(string(ev.Data), email)
			}
			var firstErased stream.ID
			for _, p := range []string{"prod_demo", "prod_other"} {
				n := 0
				for _, ev := range streamBuffer(t, h, p) {
					if names(ev) {
						if n++; firstErased.IsZero() && p == "prod_demo" {
							firstErased = ev.ID
						}
					}
				}
				if n == 0 {
					t.Fatalf("the stream buffer of %s should hold the user's payloads before erasure", p)
				}
			}

			if rec := h.do(http.MethodDelete, "/v1/users/"+id, nil, http.Header{"Authorization": {"Bearer " + tokChat}}); rec.Code != 204 {
				t.Fatalf("delete: %d %s", rec.Code, rec.Body)
			}
			// No replay can send their payloads: not the whole buffer, not a
			// resume from the id of one of them; another user's stay.
			for _, p := range []string{"prod_demo", "prod_other"} {
				for _, ev := range streamBuffer(t, h, p) {
					if names(ev) {
						t.Errorf("the stream buffer of %s still holds %s %s", p, ev.ID, ev.Data)
					}
				}
			}
			resumed, found, err := h.srv.streams.st.Since(context.Background(), "prod_demo", firstErased)
			if err != nil || !found {
				t.Fatalf("resuming prod_demo from an erased id: found=%v %v; want no reset", found, err)
			}
			keptInStream := false
			for _, ev := range resumed {
				if names(ev) {
					t.Errorf("resume from %s replays %s", firstErased, ev.Data)
				}
				keptInStream = keptInStream || strings.Contains(string(ev.Data), "usr_kept")
			}
			if !keptInStream {
				t.Errorf("resume from %s lost another user's event: %d events", firstErased, len(resumed))
			}
			// (The drift report first: the lookups below are new misses.)
			if rec := h.get("/v1/drift", tokChat); strings.Contains(rec.Body.String(), id) || strings.Contains(rec.Body.String(), email) {
				t.Errorf("GET /v1/drift after erasure: %s", rec.Body)
			}

			u := decode[UserResponse](t, h.get("/v1/users/"+id, tokChat))
			if len(u.Sessions) != 0 || u.Email != nil {
				t.Fatalf("GET /v1/users after erasure: %+v", u)
			}
			ua := decode[UserActivityResponse](t, h.get("/v1/users/"+id+"/activity", tokChat))
			if len(ua.Sessions) != 0 || ua.Email != nil || ua.Activity != "" {
				t.Fatalf("GET /v1/users/activity after erasure: %+v", ua)
			}
			reads := []string{"/v1/sessions/er-anon?product_id=prod_other", "/v1/deliveries/rejected"}
			for i := range 6 {
				reads = append(reads, fmt.Sprintf("/v1/sessions/er-%d?product_id=prod_demo", i))
			}
			for _, target := range reads {
				rec := h.get(target, tokChat)
				if body := rec.Body.String(); strings.Contains(body, id) || strings.Contains(body, email) {
					t.Errorf("GET %s after erasure: %d %s", target, rec.Code, body)
				}
				if strings.HasPrefix(target, "/v1/sessions/") && rec.Code != 404 {
					t.Errorf("GET %s after erasure: %d, want 404 (the session was theirs)", target, rec.Code)
				}
			}
			kept := decode[UserResponse](t, h.get("/v1/users/usr_kept", tokChat))
			if len(kept.Sessions) != 1 || kept.Email == nil || *kept.Email != "kept@example.com" {
				t.Fatalf("another user was touched: %+v", kept)
			}
			if rec := h.get("/v1/sessions/kept?product_id=prod_demo", tokChat); rec.Code != 200 {
				t.Fatalf("another user's session: %d", rec.Code)
			}
		})
	}
}

// streamBuffer is every event of product's replay buffer (from the first
// id on), which is what a client resuming with any Last-Event-ID can get.
func streamBuffer(t *testing.T, h *harness, product string) []stream.Event {
	t.Helper()
	b := h.srv.streams.st.Backend()
	last, err := b.Last(context.Background(), product)
	if err != nil {
		t.Fatal(err)
	}
	var out []stream.Event
	for pos := (stream.ID{}); pos.Less(last); {
		evs, err := b.Read(context.Background(), product, pos, 100)
		if err != nil && !errors.Is(err, stream.ErrBehind) {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		out = append(out, evs...)
		pos = evs[len(evs)-1].ID
	}
	return out
}

// TestLookupIsKeyedByProduct: a delivery of product B never changes what
// a product-A token reads (email, sessions pushed out of the cap), and the
// lookup without product_id merges what the token may read.
func TestLookupIsKeyedByProduct(t *testing.T) {
	for name, backend := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, backend) // the cap is 3 sessions per user and product
			act := []string{"click|Pay|https://x.example/pay"}
			for i := range 3 {
				body := payloadSpec{product: "prod_demo", session: fmt.Sprint("a-", i), user: "u1", email: "u1@a.example", ts: h.clock.Now(), actions: act}.body()
				if rec := h.post("autoplay", body); rec.Code != 200 {
					t.Fatalf("post: %d %s", rec.Code, rec.Body)
				}
			}
			h.clock.Add(time.Second)
			// Twenty newer sessions of product B (through the source without
			// a product: it writes the product its payloads name).
			for i := range 20 {
				body := payloadSpec{product: "prod_other", session: fmt.Sprint("b-", i), user: "u1", email: "u1@b.example", ts: h.clock.Now(), actions: act}.body()
				if rec := h.post("open", body); rec.Code != 200 {
					t.Fatalf("post: %d %s", rec.Code, rec.Body)
				}
			}
			scoped := decode[UserResponse](t, h.get("/v1/users/u1", tokScoped))
			if len(scoped.Sessions) != 3 || scoped.Email == nil || *scoped.Email != "u1@a.example" {
				t.Fatalf("product-A token reads %+v; want its 3 sessions and its own email", scoped)
			}
			for _, r := range scoped.Sessions {
				if r.ProductID != "prod_demo" {
					t.Fatalf("product-A token sees %+v", r)
				}
			}
			all := decode[UserResponse](t, h.get("/v1/users/u1", tokChat))
			if len(all.Sessions) != 6 || all.Email == nil || *all.Email != "u1@b.example" {
				t.Fatalf("unscoped read = %+v; want both products' 3 sessions and the newest product's email", all)
			}
			onlyA := decode[UserResponse](t, h.get("/v1/users/u1?product_id=prod_demo", tokChat))
			if len(onlyA.Sessions) != 3 || onlyA.Email == nil || *onlyA.Email != "u1@a.example" {
				t.Fatalf("product_id=prod_demo read = %+v", onlyA)
			}
		})
	}
}

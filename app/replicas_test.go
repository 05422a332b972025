package app

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/internal/redistest"
	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/autoplay"
	"github.com/replayhook/replayhook/webhooks"
)

const (
	chatToken = "chat-token-0123456789"
	secret    = "connector-secret-0123456789"
	product   = "prod_demo"
)

// The replica tests: several replayhook servers sharing one Redis, each
// built by New from a Redis configuration and served on a loopback port,
// exactly as the service runs (main's TestTwoReplicasShareRedis runs two
// whole processes through run).

// replica is one replayhook server whose stores are in Redis.
type replica struct {
	t      *testing.T
	url    string
	signer providers.Signer
}

// newReplica starts a replayhook server sharing srv (under prefix) with
// every other replica of the same prefix.
func newReplica(t *testing.T, srv *redistest.Server, prefix string, maxSessionsPerUser int) *replica {
	t.Helper()
	cfg := config.Default()
	cfg.Store.Backend = "redis"
	cfg.Store.Redis.Addr = srv.Addr()
	cfg.Store.Redis.KeyPrefix = prefix
	cfg.Index.LookbackSeconds = 3600
	cfg.Index.MaxSessionsPerUser = maxSessionsPerUser
	cfg.Auth.Tokens = []config.Token{{Name: "chat", Token: chatToken, Products: []string{"*"}}}
	cfg.Sources = []config.Source{{Name: "autoplay", Provider: "autoplay", ProductID: product, Secrets: []string{secret}}}
	cfg.Snapshot.Path = "" // Redis keeps the state: no snapshot, no journal
	a, err := New(&cfg, NewLogger(cfg.Log, io.Discard), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Restore(time.Now()); err != nil { // opens the ingest gate, as serve does
		t.Fatal(err)
	}
	hs := httptest.NewServer(a.Server.Handler())
	t.Cleanup(func() {
		hs.Close()
		_ = a.Close()
	})
	ap, err := autoplay.New(providers.Settings{Secrets: []string{secret}})
	if err != nil {
		t.Fatal(err)
	}
	return &replica{t: t, url: hs.URL, signer: ap.(providers.Signer)}
}

// startRedis starts a redis-server for t; persist keeps every acknowledged
// write across a kill (append-only file, fsync always).
func startRedis(t *testing.T, persist bool) *redistest.Server {
	t.Helper()
	return redistest.Start(t, redistest.Options{Persist: persist})
}

// uniquePrefix is a key prefix no other test uses.
func uniquePrefix() string { return "test-" + rand.Text()[:12] + ":" }

// waitFor polls cond until it holds or 20 s pass: how a test waits for a
// recovery, never a timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// delivery is an autoplay actions payload for one user and session.
func delivery(user, session string, actions ...string) []byte {
	now := normalize.UnixSeconds(time.Now())
	acts := []map[string]any{}
	for i, d := range actions {
		acts = append(acts, map[string]any{
			"index": i, "type": "click", "title": "t", "description": d, "timestamp_start": now, "timestamp_end": now,
			"raw_url": "https://app.example.com/" + d, "canonical_url": "https://app.example.com/" + d,
		})
	}
	b, _ := json.Marshal(map[string]any{
		"type": "actions", "product_id": product, "session_id": session, "user_id": user, "email": user + "@example.com",
		"count": len(acts), "forwarded_at": now, "actions": acts,
	})
	return b
}

// post sends body signed by the connector; it answers the status and the
// ingest status ("accepted", "duplicate", ...) or error code.
func (r *replica) post(body []byte) (int, string) {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.url+"/webhooks/autoplay", bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header = r.signer.Sign(body, secret, time.Now())
	var out struct{ Status, Error string }
	code := r.do(req, &out)
	return code, out.Status + out.Error
}

// get reads path with the chat token into out.
func (r *replica) get(path string, out any) int {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.url+path, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+chatToken)
	return r.do(req, out)
}

func (r *replica) do(req *http.Request, out any) int {
	r.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			r.t.Fatalf("%s %s: %d %s is not JSON: %v", req.Method, req.URL.Path, resp.StatusCode, body, err)
		}
	}
	return resp.StatusCode
}

// sessions lists the user's session ids as the replica answers them.
func (r *replica) sessions(user string) (int, []string) {
	r.t.Helper()
	var u webhooks.UserResponse
	code := r.get("/v1/users/"+user, &u)
	ids := []string{}
	for _, s := range u.Sessions {
		ids = append(ids, s.SessionID)
	}
	return code, ids
}

func (r *replica) ready() int { return r.get("/readyz", nil) }

func TestTwoReplicasShareOneRedis(t *testing.T) {
	srv := startRedis(t, false)
	prefix := uniquePrefix()
	a, b := newReplica(t, srv, prefix, 20), newReplica(t, srv, prefix, 20)

	d1 := delivery("u1", "s1", "open", "pay")
	if code, status := a.post(d1); code != http.StatusOK || status != "accepted" {
		t.Fatalf("A: %d %s, want 200 accepted", code, status)
	}
	if code, ids := b.sessions("u1"); code != http.StatusOK || strings.Join(ids, ",") != "s1" {
		t.Fatalf("B: user u1 = %d %v, want the session stored through A", code, ids)
	}
	var sess webhooks.SessionResponse
	if code := b.get("/v1/sessions/s1?product_id="+product, &sess); code != http.StatusOK || len(sess.Actions) != 2 ||
		normalize.Str(sess.UserID) != "u1" || !strings.Contains(sess.Activity, "click: pay") {
		t.Fatalf("B: session s1 = %d %+v", code, sess)
	}
	var act webhooks.UserActivityResponse
	if code := b.get("/v1/users/u1/activity", &act); code != http.StatusOK || !strings.Contains(act.Activity, "click: open") ||
		normalize.Str(act.Email) != "u1@example.com" {
		t.Fatalf("B: activity = %d %+v", code, act)
	}
	if code, status := b.post(d1); code != http.StatusOK || status != "duplicate" {
		t.Fatalf("B: the same delivery again = %d %s, want 200 duplicate", code, status)
	}
	if _, ids := a.sessions("u1"); len(ids) != 1 {
		t.Fatalf("the duplicate was stored: %v", ids)
	}

	// A rejection seen by A is listed by B.
	req, _ := http.NewRequest(http.MethodPost, a.url+"/webhooks/autoplay", bytes.NewReader(d1))
	req.Header.Set("X-Connector-Signature", "sha256="+strings.Repeat("0", 64))
	if code := a.do(req, nil); code != http.StatusUnauthorized {
		t.Fatalf("a bad signature = %d, want 401", code)
	}
	var rej struct {
		Rejected []struct{ Code string } `json:"rejected"`
	}
	if code := b.get("/v1/deliveries/rejected", &rej); code != http.StatusOK || len(rej.Rejected) != 1 || rej.Rejected[0].Code != "invalid_signature" {
		t.Fatalf("B: rejected = %d %+v", code, rej)
	}

	// Forgetting through B forgets for A.
	req, _ = http.NewRequest(http.MethodDelete, b.url+"/v1/users/u1", nil)
	req.Header.Set("Authorization", "Bearer "+chatToken)
	if code := b.do(req, nil); code/100 != 2 {
		t.Fatalf("B: forget = %d", code)
	}
	if code, _ := a.sessions("u1"); code != http.StatusOK {
		t.Fatalf("A: user after forget = %d", code)
	}
	if _, ids := a.sessions("u1"); len(ids) != 0 {
		t.Fatalf("A still sees a forgotten user: %v", ids)
	}
}

// TestConcurrentDeliveriesToBothReplicas: one user's deliveries arrive at
// both replicas at once; none is lost.
func TestConcurrentDeliveriesToBothReplicas(t *testing.T) {
	srv := startRedis(t, false)
	prefix := uniquePrefix()
	const each = 50
	replicas := []*replica{newReplica(t, srv, prefix, 2*each), newReplica(t, srv, prefix, 2*each)}
	var wg sync.WaitGroup
	failures := make(chan string, 2*each)
	for i, r := range replicas {
		wg.Go(func() {
			for j := range each {
				if code, status := r.post(delivery("shared", fmt.Sprintf("r%d-s%d", i, j), "x")); code != http.StatusOK || status != "accepted" {
					failures <- fmt.Sprintf("replica %d delivery %d: %d %s", i, j, code, status)
				}
			}
		})
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Fatal(f)
	}
	for i, r := range replicas {
		if _, ids := r.sessions("shared"); len(ids) != 2*each {
			t.Fatalf("replica %d sees %d sessions, want %d", i, len(ids), 2*each)
		}
	}
}

// TestRedisOutage: while Redis is down, ingest and lookups answer 503 and
// /readyz fails on every replica; when it is back (same port, same data)
// everything recovers by itself and every delivery acknowledged before the
// outage is still there.
func TestRedisOutage(t *testing.T) {
	srv := startRedis(t, true) // append-only file, fsync always: a killed Redis keeps what it acknowledged
	prefix := uniquePrefix()
	a, b := newReplica(t, srv, prefix, 20), newReplica(t, srv, prefix, 20)

	acked := map[string]string{} // session → user
	for i := range 10 {
		r := []*replica{a, b}[i%2]
		user, session := fmt.Sprint("u", i%3), fmt.Sprint("before-", i)
		if code, status := r.post(delivery(user, session, "step")); code != http.StatusOK || status != "accepted" {
			t.Fatalf("delivery %d: %d %s", i, code, status)
		}
		acked[session] = user
	}

	srv.Kill()
	during := delivery("u9", "during", "lost?")
	for name, r := range map[string]*replica{"A": a, "B": b} {
		if code, errCode := r.post(during); code != http.StatusServiceUnavailable || errCode != "unavailable" {
			t.Fatalf("%s: ingest with Redis down = %d %s, want 503 unavailable", name, code, errCode)
		}
		if code, _ := r.sessions("u0"); code != http.StatusServiceUnavailable {
			t.Fatalf("%s: lookup with Redis down = %d, want 503", name, code)
		}
		if code := r.get("/v1/sessions/before-0?product_id="+product, nil); code != http.StatusServiceUnavailable {
			t.Fatalf("%s: session lookup with Redis down = %d, want 503", name, code)
		}
		if code := r.ready(); code != http.StatusServiceUnavailable {
			t.Fatalf("%s: /readyz with Redis down = %d, want 503", name, code)
		}
	}

	srv.Restart()
	for name, r := range map[string]*replica{"A": a, "B": b} {
		waitFor(t, name+" to be ready again", func() bool { return r.ready() == http.StatusOK })
	}
	// The vendor's retry of the delivery refused during the outage is
	// stored, not taken for a duplicate.
	if code, status := b.post(during); code != http.StatusOK || status != "accepted" {
		t.Fatalf("retry after the outage = %d %s, want 200 accepted", code, status)
	}
	acked["during"] = "u9"
	for session, user := range acked {
		for name, r := range map[string]*replica{"A": a, "B": b} {
			_, ids := r.sessions(user)
			if !contains(ids, session) {
				t.Fatalf("%s: user %s lost acknowledged session %s after the outage: %v", name, user, session, ids)
			}
			var s webhooks.SessionResponse
			if code := r.get("/v1/sessions/"+session+"?product_id="+product, &s); code != http.StatusOK || len(s.Actions) != 1 {
				t.Fatalf("%s: session %s after the outage = %d, %d actions", name, session, code, len(s.Actions))
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

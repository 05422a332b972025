package webhooks

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/forward"
	"github.com/replayhook/replayhook/normalize"
)

// forwardsWithDeadLetter is a forwarder (not started) with one target,
// "chat", holding one dead letter, whose delivery id it returns.
func forwardsWithDeadLetter(t *testing.T) (*forward.Forwarder, string) {
	t.Helper()
	cfg := []config.ForwardTarget{{Name: "chat", URL: "http://127.0.0.1:1/events", Products: []string{"*"}, Secret: "test-forward-secret-0123"}}
	mem := forward.NewMemory(forward.Targets(cfg))
	f := forward.New(cfg, mem, forward.Options{Now: func() time.Time { return T0 }})
	s := "ps_dead"
	p := normalize.ActionsPayload{Type: "actions", ProductID: "prod_demo", SessionID: &s, Actions: []normalize.SlimAction{}}
	if err := f.Publish(context.Background(), []normalize.ActionsPayload{p}, T0); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var e forward.Entry
	for part := range config.DefaultForwardConcurrency {
		st, _ := mem.Stats(ctx, "chat")
		if st.Queued == 0 {
			break
		}
		qctx, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
		got, err := mem.Next(qctx, "chat", part)
		cancel()
		if err == nil {
			e = got
			break
		}
	}
	if e.ID == "" {
		t.Fatal("published payload not queued")
	}
	if err := mem.Bury(ctx, e, forward.DeadLetter{ID: e.ID, ProductID: e.ProductID, SessionID: e.SessionID, EnqueuedAt: T0, DeadAt: T0, Attempts: 1, LastStatus: 400, LastError: "HTTP 400 Bad Request", Payload: e.Body}); err != nil {
		t.Fatal(err)
	}
	return f, e.ID
}

// TestIngestQueuesForForwarding: an accepted delivery is queued for the
// target before the answer; a full queue answers 503 and the retry is
// stored and queued once.
func TestIngestQueuesForForwarding(t *testing.T) {
	cfg := []config.ForwardTarget{{Name: "chat", URL: "http://127.0.0.1:1/events", Products: []string{"prod_demo"}, Secret: "test-forward-secret-0123", MaxQueued: 1}}
	mem := forward.NewMemory(forward.Targets(cfg))
	f := forward.New(cfg, mem, forward.Options{})
	h := newHarness(t, func(_ *config.Config, d *Deps) { d.Outbound = []Outbound{f}; d.Forwards = f })
	if rec := h.post("autoplay", dana.body()); decode[IngestResult](t, rec).Status != "accepted" {
		t.Fatalf("first: %s", rec.Body)
	}
	other := dana
	other.session = "ps_2"
	if rec := h.post("autoplay", other.body()); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("over the bound: %d %s", rec.Code, rec.Body)
	}
	rec := h.do(http.MethodGet, "/v1/forwards", nil, http.Header{"Authorization": {"Bearer " + tokChat}})
	var got struct{ Targets []forward.TargetStatus }
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || len(got.Targets) != 1 || got.Targets[0].Queued != 1 || got.Targets[0].Name != "chat" {
		t.Fatalf("GET /v1/forwards: %d %s", rec.Code, rec.Body)
	}
}

// TestForwardsAPIWithoutTargets: no forward config means an empty list and
// 404 for any target.
func TestForwardsAPIWithoutTargets(t *testing.T) {
	h := newHarness(t)
	auth := http.Header{"Authorization": {"Bearer " + tokChat}}
	if rec := h.do(http.MethodGet, "/v1/forwards", nil, auth); rec.Code != 200 || rec.Body.String() != "{\"targets\":[]}\n" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/v1/forwards/chat/dead"},
		{http.MethodPost, "/v1/forwards/chat/dead/redeliver"},
		{http.MethodDelete, "/v1/forwards/chat/dead"},
	} {
		if rec := h.do(c.method, c.path, nil, auth); rec.Code != 404 {
			t.Fatalf("%s %s = %d", c.method, c.path, rec.Code)
		}
	}
}

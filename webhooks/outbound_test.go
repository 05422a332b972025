package webhooks

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/normalize"
)

// recordingOutbound keeps what ingest published and fails while fail is set.
type recordingOutbound struct {
	mu   sync.Mutex
	fail bool
	got  []normalize.ActionsPayload
}

func (r *recordingOutbound) Publish(_ context.Context, ps []normalize.ActionsPayload, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("outbox full")
	}
	r.got = append(r.got, ps...)
	return nil
}

func TestOutboundGetsEveryStoredPayloadOnce(t *testing.T) {
	out := &recordingOutbound{}
	h := newHarness(t, func(_ *config.Config, d *Deps) { d.Outbound = []Outbound{out} })
	body := dana.body()
	if rec := h.post("autoplay", body); decode[IngestResult](t, rec).Status != "accepted" {
		t.Fatalf("first: %s", rec.Body)
	}
	if rec := h.post("autoplay", body); decode[IngestResult](t, rec).Status != "duplicate" {
		t.Fatalf("second: %s", rec.Body)
	}
	sessionless := payloadSpec{product: "prod_demo", user: "u1", ts: T0, actions: []string{"click|x|https://a.example/"}}
	if rec := h.post("autoplay", sessionless.body()); decode[IngestResult](t, rec).Status != "ignored" {
		t.Fatalf("session-less: %s", rec.Body)
	}
	if len(out.got) != 1 || normalize.Str(out.got[0].SessionID) != "ps_1" || out.got[0].Source != "autoplay" || out.got[0].ProductID != "prod_demo" {
		t.Fatalf("published %+v", out.got)
	}
}

// A payload that cannot be queued is not acknowledged: 503, and the
// vendor's retry is processed again (not answered "duplicate").
func TestOutboundFailureIs503AndRetryIsStored(t *testing.T) {
	out := &recordingOutbound{fail: true}
	h := newHarness(t, func(_ *config.Config, d *Deps) { d.Outbound = []Outbound{out} })
	body := dana.body()
	if rec := h.post("autoplay", body); rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	out.mu.Lock()
	out.fail = false
	out.mu.Unlock()
	if rec := h.post("autoplay", body); decode[IngestResult](t, rec).Status != "accepted" {
		t.Fatalf("retry: %s", rec.Body)
	}
	if len(out.got) != 1 {
		t.Fatalf("published %d payloads, want 1", len(out.got))
	}
}

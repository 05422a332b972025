package webhooks

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/journal"
)

func openJournal(t *testing.T, dir string) *journal.Log {
	t.Helper()
	l, _, err := journal.Open(journal.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// A fresh process that replays the journal holds what the first one
// acknowledged, and knows its deliveries as duplicates; replaying twice
// changes nothing.
func TestJournalReplayRebuildsWhatIngestAcknowledged(t *testing.T) {
	dir := t.TempDir()
	log := openJournal(t, dir)
	first := newHarness(t, func(_ *config.Config, d *Deps) { d.Journal = log })
	other := payloadSpec{product: "prod_demo", session: "ps_2", user: "u2", ts: T0, actions: []string{"click|Saved|https://a.example/"}}
	for _, body := range [][]byte{dana.body(), other.body()} {
		if rec := first.post("autoplay", body); decode[IngestResult](t, rec).Status != "accepted" {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	log.Close()

	log = openJournal(t, dir)
	out := &recordingOutbound{}
	second := newHarness(t, func(_ *config.Config, d *Deps) { d.Journal = log; d.Outbound = []Outbound{out} })
	for range 2 {
		rep, err := log.Replay(0, func(e *journal.Entry) error { return second.srv.Replay(context.Background(), e) })
		if err != nil || rep.Applied != 2 || rep.Failed != 0 {
			t.Fatalf("replay: %+v %v", rep, err)
		}
	}
	for _, sid := range []string{"ps_1", "ps_2"} {
		key := index.SessionKey{ProductID: "prod_demo", SessionID: sid}
		want, _, _ := first.act.Get(context.Background(), key)
		got, ok, _ := second.act.Get(context.Background(), key)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("session %s after replay:\n got %+v\nwant %+v", sid, got, want)
		}
	}
	want, _, _ := first.users.Lookup(context.Background(), "usr_48213", T0)
	if got, ok, _ := second.users.Lookup(context.Background(), "usr_48213", T0); !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("user link not replayed: %+v, want %+v", got, want)
	}
	if rec := second.post("autoplay", dana.body()); decode[IngestResult](t, rec).Status != "duplicate" {
		t.Fatalf("vendor retry after restart: %s", rec.Body)
	}
	// The stream and forwarding get the replayed payloads once, not once
	// per replay: their snapshot parts may be older than the journal.
	if len(out.got) != 2 || *out.got[0].SessionID != "ps_1" || *out.got[1].SessionID != "ps_2" {
		t.Fatalf("published on replay: %+v", out.got)
	}
}

// failingJournal refuses appends while fail is set.
type failingJournal struct {
	journal.Nop
	mu   sync.Mutex
	fail bool
}

func (f *failingJournal) Append(ctx context.Context, e *journal.Entry) (func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return nil, errors.New("no space left on device")
	}
	return f.Nop.Append(ctx, e)
}

// A delivery the journal cannot write is not acknowledged: 503 with
// Retry-After, nothing stored, and the retry is processed (not a
// "duplicate").
func TestJournalFailureIs503AndTheRetryIsStored(t *testing.T) {
	j := &failingJournal{fail: true}
	h := newHarness(t, func(_ *config.Config, d *Deps) { d.Journal = j })
	rec := h.post("autoplay", dana.body())
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || decode[map[string]any](t, rec)["error"] != CodeUnavailable {
		t.Fatalf("%d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	if _, ok, _ := h.act.Get(context.Background(), index.SessionKey{ProductID: "prod_demo", SessionID: "ps_1"}); ok {
		t.Fatal("a delivery answered 503 was stored")
	}
	j.mu.Lock()
	j.fail = false
	j.mu.Unlock()
	if rec := h.post("autoplay", dana.body()); decode[IngestResult](t, rec).Status != "accepted" {
		t.Fatalf("retry: %s", rec.Body)
	}
}

// Until the state is restored (the gate opens), deliveries get 503.
func TestDeliveriesWaitForTheRestore(t *testing.T) {
	gate := journal.NewGate(journal.Nop{})
	h := newHarness(t, func(_ *config.Config, d *Deps) { d.Journal = gate })
	if rec := h.post("autoplay", dana.body()); rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("before the restore: %d %s", rec.Code, rec.Body)
	}
	gate.Open()
	if rec := h.post("autoplay", dana.body()); decode[IngestResult](t, rec).Status != "accepted" {
		t.Fatalf("after: %s", rec.Body)
	}
}

// An erasure is journaled: replaying the journal erases the user again
// after their deliveries, never bringing them back.
func TestReplayedErasureStaysErased(t *testing.T) {
	dir := t.TempDir()
	log := openJournal(t, dir)
	first := newHarness(t, func(_ *config.Config, d *Deps) { d.Journal = log })
	if rec := first.post("autoplay", dana.body()); decode[IngestResult](t, rec).Status != "accepted" {
		t.Fatalf("%s", rec.Body)
	}
	if err := first.srv.EraseUser(context.Background(), "usr_48213"); err != nil {
		t.Fatal(err)
	}
	log.Close()

	log = openJournal(t, dir)
	out := &recordingOutbound{}
	second := newHarness(t, func(_ *config.Config, d *Deps) { d.Journal = log; d.Outbound = []Outbound{out} })
	rep, err := log.Replay(0, func(e *journal.Entry) error { return second.srv.Replay(context.Background(), e) })
	if err != nil || rep.Applied != 2 {
		t.Fatalf("replay: %+v %v", rep, err)
	}
	if _, ok, _ := second.users.Lookup(context.Background(), "usr_48213", T0); ok {
		t.Fatal("an erased user came back from the journal")
	}
	if again, _ := log.Replay(0, func(*journal.Entry) error { return nil }); again.Applied != 2 {
		t.Fatalf("replaying the erasure journaled it again: %+v", again)
	}
}

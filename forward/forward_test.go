package forward_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/forward"
	"github.com/replayhook/replayhook/forward/forwardtest"
	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/snapshot"
)

const secret = "test-forward-secret-0123"

var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// waits records the backoff waits a forwarder asked for and returns at once,
// so retries take no wall time.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.mu.Unlock()
	return ctx.Err()
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

func targetTo(name, url string) config.ForwardTarget {
	return config.ForwardTarget{Name: name, URL: url, Products: []string{"*"}, Secret: secret, Timeout: 2 * time.Second, MaxAttempts: 5}
}

type rig struct {
	f     *forward.Forwarder
	mem   *forward.Memory
	waits *waits
	stop  func()
}

// start runs a forwarder for targets on a memory outbox; Jitter returns
// the cap itself so the waits are the schedule.
func start(t *testing.T, targets ...config.ForwardTarget) *rig {
	t.Helper()
	r := &rig{waits: &waits{}}
	r.mem = forward.NewMemory(forward.Targets(targets))
	r.f = forward.New(targets, r.mem, forward.Options{
		Now: func() time.Time { return t0 }, Sleep: r.waits.sleep, Jitter: func(d time.Duration) time.Duration { return d },
	})
	r.stop = r.f.Start()
	t.Cleanup(r.stop)
	return r
}

func payload(product, session string, n int) normalize.ActionsPayload {
	s := session
	return normalize.ActionsPayload{
		Type: "actions", ProductID: product, SessionID: &s, Count: 1, ForwardedAt: 1773478800,
		Actions: []normalize.SlimAction{{Index: 0, Type: "click", Title: strconv.Itoa(n), Description: "step " + strconv.Itoa(n), CanonicalURL: "https://app.example/"}},
	}
}

func publish(t *testing.T, f *forward.Forwarder, ps ...normalize.ActionsPayload) {
	t.Helper()
	if err := f.Publish(context.Background(), ps, t0); err != nil {
		t.Fatal(err)
	}
}

// TestForwardsEveryPayloadSignedOnceInOrder: many sessions over several
// partitions; each payload arrives once (by delivery id), verified as the
// SDK verifies, in publish order within its session, with the wire headers.
func TestForwardsEveryPayloadSignedOnceInOrder(t *testing.T) {
	rcv := forwardtest.New(t, secret, nil)
	tgt := targetTo("chat", rcv.URL)
	tgt.Concurrency = 4
	tgt.Headers = map[string]string{"X-Team": "growth"}
	r := start(t, tgt)
	const sessions, per = 12, 5
	for i := range per {
		var batch []normalize.ActionsPayload
		for s := range sessions {
			batch = append(batch, payload("prod_demo", "s"+strconv.Itoa(s), i))
		}
		publish(t, r.f, batch...)
	}
	got := rcv.WaitAccepted(t, sessions*per, 10*time.Second)
	ids := map[string]bool{}
	next := map[string]int{}
	for _, q := range got {
		if !q.Verified || q.Seen != 1 || q.Attempt != 1 || ids[q.Delivery] || len(q.Delivery) != 32 {
			t.Fatalf("delivery %q: verified=%v seen=%d attempt=%d dup=%v", q.Delivery, q.Verified, q.Seen, q.Attempt, ids[q.Delivery])
		}
		ids[q.Delivery] = true
		s := normalize.Str(q.Payload.SessionID)
		if n, _ := strconv.Atoi(q.Payload.Actions[0].Title); n != next[s] {
			t.Fatalf("session %s: got payload %d, want %d (out of order)", s, n, next[s])
		}
		next[s]++
		if q.Header.Get("Content-Type") != "application/json" || q.Header.Get("Authorization") != "" || q.Header.Get("X-Team") != "growth" {
			t.Fatalf("headers: %v", q.Header)
		}
		if q.Payload.Type != "actions" || q.Payload.ProductID != "prod_demo" {
			t.Fatalf("payload: %+v", q.Payload)
		}
	}
}

func TestBearerOnlyWhenAsked(t *testing.T) {
	rcv := forwardtest.New(t, secret, nil)
	tgt := targetTo("chat", rcv.URL)
	tgt.Bearer = true
	r := start(t, tgt)
	publish(t, r.f, payload("p", "s", 0))
	if q := rcv.WaitAccepted(t, 1, 5*time.Second)[0]; q.Header.Get("Authorization") != "Bearer "+secret {
		t.Fatalf("Authorization = %q", q.Header.Get("Authorization"))
	}
}

// TestProductsChooseTargets: a target gets only its products' payloads.
func TestProductsChooseTargets(t *testing.T) {
	a := forwardtest.New(t, secret, nil)
	b := forwardtest.New(t, secret, nil)
	ta, tb := targetTo("a", a.URL), targetTo("b", b.URL)
	ta.Products = []string{"prod_a"}
	r := start(t, ta, tb)
	publish(t, r.f, payload("prod_a", "s1", 0), payload("prod_b", "s2", 0))
	b.WaitAccepted(t, 2, 5*time.Second)
	got := a.WaitAccepted(t, 1, 5*time.Second)
	if len(got) != 1 || got[0].Payload.ProductID != "prod_a" {
		t.Fatalf("target a got %d payloads", len(got))
	}
}

// TestFaults: how each kind of answer is retried, dead-lettered or
// delivered.
func TestFaults(t *testing.T) {
	tests := []struct {
		name string
		// answer scripts the receiver by how many times it saw the delivery.
		answer      func(seen int) forwardtest.Answer
		wantReqs    int // requests to wait for
		wantOK      bool
		wantDead    bool
		wantStatus  int
		wantWaits   []time.Duration
		wantErrLike string
	}{
		{
			name: "500 then 200: retried, delivered once",
			answer: func(seen int) forwardtest.Answer {
				if seen == 1 {
					return forwardtest.Answer{Status: 500}
				}
				return forwardtest.Answer{Status: 200}
			},
			wantReqs: 2, wantOK: true, wantWaits: []time.Duration{time.Second},
		},
		{
			name: "429 with Retry-After: the wait is the receiver's",
			answer: func(seen int) forwardtest.Answer {
				if seen == 1 {
					return forwardtest.Answer{Status: 429, Header: http.Header{"Retry-After": {"7"}}}
				}
				return forwardtest.Answer{Status: 204}
			},
			wantReqs: 2, wantOK: true, wantWaits: []time.Duration{7 * time.Second},
		},
		{
			name:     "400: dead-lettered, not retried",
			answer:   func(int) forwardtest.Answer { return forwardtest.Answer{Status: 400} },
			wantReqs: 1, wantDead: true, wantStatus: 400, wantErrLike: "HTTP 400 Bad Request",
		},
		{
			name: "hang: timeout, retried",
			answer: func(seen int) forwardtest.Answer {
				if seen == 1 {
					return forwardtest.Answer{Hang: true}
				}
				return forwardtest.Answer{Status: 200}
			},
			wantReqs: 2, wantOK: true, wantWaits: []time.Duration{time.Second},
		},
		{
			name:     "always 503: exponential backoff until max_attempts, then dead",
			answer:   func(int) forwardtest.Answer { return forwardtest.Answer{Status: 503} },
			wantReqs: 5, wantDead: true, wantStatus: 503,
			wantWaits: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := forwardtest.New(t, secret, func(q forwardtest.Request) forwardtest.Answer { return tt.answer(q.Seen) })
			tgt := targetTo("chat", rcv.URL)
			tgt.Timeout = 200 * time.Millisecond
			r := start(t, tgt)
			publish(t, r.f, payload("p", "s", 0))
			reqs := rcv.WaitRequests(t, tt.wantReqs, 10*time.Second)
			for i, q := range reqs {
				if q.Attempt != i+1 || q.Delivery != reqs[0].Delivery {
					t.Fatalf("request %d: attempt %d delivery %s (want %d, %s)", i, q.Attempt, q.Delivery, i+1, reqs[0].Delivery)
				}
			}
			waitQueue(t, r.mem, "chat", 0)
			r.stop()
			if n := len(rcv.Requests()); n != tt.wantReqs {
				t.Fatalf("%d requests, want %d", n, tt.wantReqs)
			}
			if got := len(rcv.Accepted()); (got == 1) != tt.wantOK {
				t.Fatalf("%d accepted, want ok=%v", got, tt.wantOK)
			}
			dead, _, _ := r.f.Dead(context.Background(), "chat", "", 10)
			if (len(dead) == 1) != tt.wantDead {
				t.Fatalf("dead letters %+v, want dead=%v", dead, tt.wantDead)
			}
			if tt.wantDead {
				d := dead[0]
				if d.ID != reqs[0].Delivery || d.Attempts != tt.wantReqs || d.LastStatus != tt.wantStatus || string(d.Payload) != string(reqs[0].Body) {
					t.Fatalf("dead letter %+v", d)
				}
				if tt.wantErrLike != "" && d.LastError != tt.wantErrLike {
					t.Fatalf("last_error %q", d.LastError)
				}
			}
			if w := r.waits.all(); !slices.Equal(w, tt.wantWaits) {
				t.Fatalf("waits %v, want %v", w, tt.wantWaits)
			}
		})
	}
}

// waitQueue waits until the target's queue holds n payloads.
func waitQueue(t *testing.T, s forward.Store, target string, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := s.Stats(context.Background(), target)
		if err == nil && st.Queued == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %s: %+v %v, want %d queued", target, st, err, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRedirectIsNotFollowed: a 3xx is a failed attempt; the Location is
// never requested.
func TestRedirectIsNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	rcv := forwardtest.New(t, secret, func(q forwardtest.Request) forwardtest.Answer {
		if q.Seen == 1 {
			return forwardtest.Answer{Status: http.StatusTemporaryRedirect, Header: http.Header{"Location": {other.URL}}}
		}
		return forwardtest.Answer{Status: 200}
	})
	r := start(t, targetTo("chat", rcv.URL))
	publish(t, r.f, payload("p", "s", 0))
	rcv.WaitAccepted(t, 1, 5*time.Second)
	if elsewhere.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
	if reqs := rcv.Requests(); len(reqs) != 2 || reqs[1].Attempt != 2 {
		t.Fatalf("requests %d", len(reqs))
	}
}

// TestSessionWaitsForItsRetry: a session's later payload is not sent while
// its earlier one is being retried; another target is not held up at all.
func TestSessionWaitsForItsRetry(t *testing.T) {
	release := make(chan struct{})
	var failing atomic.Bool
	failing.Store(true)
	slow := forwardtest.New(t, secret, func(q forwardtest.Request) forwardtest.Answer {
		if failing.Load() {
			return forwardtest.Answer{Status: 502}
		}
		return forwardtest.Answer{Status: 200}
	})
	fast := forwardtest.New(t, secret, nil)
	ts, tf := targetTo("slow", slow.URL), targetTo("fast", fast.URL)
	ts.MaxAttempts = 1000
	ts.Concurrency = 1
	r := &rig{waits: &waits{}}
	r.mem = forward.NewMemory(forward.Targets([]config.ForwardTarget{ts, tf}))
	var retries atomic.Int32
	r.f = forward.New([]config.ForwardTarget{ts, tf}, r.mem, forward.Options{
		Now: func() time.Time { return t0 },
		Sleep: func(ctx context.Context, d time.Duration) error {
			if retries.Add(1) == 3 {
				// Three failed tries of payload 0: the fast target has had
				// everything meanwhile; let the slow one recover.
				<-release
			}
			return ctx.Err()
		},
	})
	stop := r.f.Start()
	defer stop()
	publish(t, r.f, payload("p", "s", 0), payload("p", "s", 1), payload("p", "s", 2))
	fast.WaitAccepted(t, 3, 5*time.Second)
	slow.WaitRequests(t, 3, 5*time.Second)
	for _, q := range slow.Requests() {
		if q.Payload.Actions[0].Title != "0" {
			t.Fatalf("payload %s sent while payload 0 was being retried", q.Payload.Actions[0].Title)
		}
	}
	failing.Store(false)
	close(release)
	got := slow.WaitAccepted(t, 3, 5*time.Second)
	for i, q := range got {
		if q.Payload.Actions[0].Title != strconv.Itoa(i) {
			t.Fatalf("order: %d is payload %s", i, q.Payload.Actions[0].Title)
		}
	}
}

// TestQueueBoundRefusesWholeBatch: a target at max_queued refuses the
// batch (ingest answers 503); nothing of it is queued anywhere.
func TestQueueBoundRefusesWholeBatch(t *testing.T) {
	a, b := targetTo("a", "http://127.0.0.1:1/"), targetTo("b", "http://127.0.0.1:1/")
	a.MaxQueued, b.MaxQueued = 2, 100
	mem := forward.NewMemory(forward.Targets([]config.ForwardTarget{a, b}))
	f := forward.New([]config.ForwardTarget{a, b}, mem, forward.Options{})
	publish(t, f, payload("p", "s", 0), payload("p", "s", 1))
	err := f.Publish(context.Background(), []normalize.ActionsPayload{payload("p", "s", 2)}, t0)
	if !errors.Is(err, forward.ErrQueueFull) {
		t.Fatalf("err = %v, want ErrQueueFull", err)
	}
	for _, name := range []string{"a", "b"} {
		if st, _ := mem.Stats(context.Background(), name); st.Queued != 2 {
			t.Fatalf("%s queued %d, want 2", name, st.Queued)
		}
	}
}

// TestDeadLettersBoundedPagedRedeliveredDropped covers the dead-letter API.
func TestDeadLettersBoundedPagedRedeliveredDropped(t *testing.T) {
	var accept atomic.Bool
	rcv := forwardtest.New(t, secret, func(q forwardtest.Request) forwardtest.Answer {
		if accept.Load() {
			return forwardtest.Answer{Status: 200}
		}
		return forwardtest.Answer{Status: 422}
	})
	tgt := targetTo("chat", rcv.URL)
	tgt.MaxDead = 3
	r := start(t, tgt)
	ctx := context.Background()
	for i := range 5 {
		publish(t, r.f, payload("p", "s"+strconv.Itoa(i), i))
	}
	rcv.WaitRequests(t, 5, 5*time.Second)
	waitQueue(t, r.mem, "chat", 0)
	page1, next, err := r.f.Dead(ctx, "chat", "", 2)
	if err != nil || len(page1) != 2 || next == "" {
		t.Fatalf("page 1: %d %q %v", len(page1), next, err)
	}
	page2, next2, _ := r.f.Dead(ctx, "chat", next, 2)
	if len(page2) != 1 || next2 != "" {
		t.Fatalf("page 2: %d %q", len(page2), next2)
	}
	kept := slices.Concat(page1, page2)
	ids := map[string]bool{}
	for _, d := range kept {
		ids[d.ID] = true
	}
	if len(ids) != 3 {
		t.Fatalf("bound: kept %d distinct, want 3", len(ids))
	}
	if _, _, err := r.f.Dead(ctx, "chat", "nonsense", 2); !errors.Is(err, forward.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
	accept.Store(true)
	if n, err := r.f.Redeliver(ctx, "chat", []string{kept[0].ID}); n != 1 || err != nil {
		t.Fatalf("redeliver one: %d %v", n, err)
	}
	got := rcv.WaitAccepted(t, 1, 5*time.Second)
	if got[0].Delivery != kept[0].ID || got[0].Attempt != 1 {
		t.Fatalf("redelivered %s attempt %d, want %s attempt 1", got[0].Delivery, got[0].Attempt, kept[0].ID)
	}
	if n, _ := r.f.DropDead(ctx, "chat"); n != 2 {
		t.Fatalf("dropped %d, want 2", n)
	}
	if d, _, _ := r.f.Dead(ctx, "chat", "", 10); len(d) != 0 {
		t.Fatalf("left %d", len(d))
	}
	if _, err := r.f.Redeliver(ctx, "nope", nil); !errors.Is(err, forward.ErrUnknownTarget) {
		t.Fatalf("unknown target: %v", err)
	}
}

// TestSnapshotKeepsQueueAndDeadLetters: what a restart restores, in order
// with its attempt counts, even when the partition count changed.
func TestSnapshotKeepsQueueAndDeadLetters(t *testing.T) {
	ctx := context.Background()
	tgt := targetTo("chat", "http://127.0.0.1:1/")
	cfg := []config.ForwardTarget{tgt}
	mem := forward.NewMemory(forward.Targets(cfg))
	f := forward.New(cfg, mem, forward.Options{})
	for i := range 6 {
		publish(t, f, payload("p", "s"+strconv.Itoa(i%2), i))
	}
	// s0's first payload is dead-lettered; s1's first is mid-retry.
	h0, _ := mem.Next(ctx, "chat", forward.PartitionOf("p", "s0", 4))
	_ = mem.Bury(ctx, h0, forward.DeadLetter{ID: h0.ID, Payload: h0.Body, Attempts: 3})
	h1, _ := mem.Next(ctx, "chat", forward.PartitionOf("p", "s1", 4))
	h1.Attempts, h1.LastStatus = 2, 503
	_ = mem.Attempted(ctx, h1)
	path := filepath.Join(t.TempDir(), "state.snapshot")
	if err := snapshot.Write(path, []snapshot.Part{mem.SnapshotPart()}, 0, t0); err != nil {
		t.Fatal(err)
	}

	tgt.Concurrency = 2
	mem2 := forward.NewMemory(forward.Targets([]config.ForwardTarget{tgt}))
	if _, err := snapshot.Restore(path, []snapshot.Part{mem2.SnapshotPart()}, t0); err != nil {
		t.Fatal(err)
	}
	if st, _ := mem2.Stats(ctx, "chat"); st.Queued != 5 || st.Dead != 1 {
		t.Fatalf("restored %+v", st)
	}
	got := map[string][]string{}
	for p := range 2 {
		for {
			qctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
			e, err := mem2.Next(qctx, "chat", p)
			cancel()
			if err != nil {
				break
			}
			var pl normalize.ActionsPayload
			_ = json.Unmarshal(e.Body, &pl)
			got[e.SessionID] = append(got[e.SessionID], pl.Actions[0].Title+"/"+strconv.Itoa(e.Attempts))
			_ = mem2.Done(ctx, e)
		}
	}
	if fmt.Sprint(got["s0"]) != "[2/0 4/0]" || fmt.Sprint(got["s1"]) != "[1/2 3/0 5/0]" {
		t.Fatalf("restored (title/attempts) %v", got)
	}
}

// TestLogsNeverCarryTheSecretOrSignature: a failing target, a dead letter
// and a recovery are logged by target, delivery id and status only.
func TestLogsNeverCarryTheSecretOrSignature(t *testing.T) {
	rcv := forwardtest.New(t, secret, func(q forwardtest.Request) forwardtest.Answer {
		if q.Payload.Actions[0].Title == "0" {
			return forwardtest.Answer{Status: 400}
		}
		if q.Seen == 1 {
			return forwardtest.Answer{Status: 500}
		}
		return forwardtest.Answer{Status: 200}
	})
	var logs bytes.Buffer
	log := logrus.New()
	log.SetOutput(&syncBuffer{b: &logs})
	tgt := targetTo("chat", rcv.URL)
	tgt.Bearer = true
	tgt.Concurrency = 1
	mem := forward.NewMemory(forward.Targets([]config.ForwardTarget{tgt}))
	w := &waits{}
	f := forward.New([]config.ForwardTarget{tgt}, mem, forward.Options{Now: func() time.Time { return t0 }, Sleep: w.sleep, Log: log})
	stop := f.Start()
	publish(t, f, payload("p", "s", 0), payload("p", "s", 1))
	reqs := rcv.WaitAccepted(t, 1, 5*time.Second)
	waitQueue(t, mem, "chat", 0)
	stop()
	out := (&syncBuffer{b: &logs}).String()
	for _, want := range []string{"payload dead-lettered", "target failing", "delivering again"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, secret) || strings.Contains(out, "sha256=") || strings.Contains(out, reqs[0].Header.Get(forward.SignatureHeader)[7:]) || strings.Contains(out, "step 0") {
		t.Fatalf("log carries a secret, a signature or a body:\n%s", out)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replayhook/replayhook/forward/forwardtest"
	"github.com/replayhook/replayhook/internal/redistest"
	"github.com/replayhook/replayhook/normalize"
)

const forwardSecret = "test-forward-secret-0123456789"

// shippedConfigWithForward is the shipped config.yaml plus a forward target
// to url whose secret comes from the environment.
func shippedConfigWithForward(t *testing.T, url string) string {
	t.Helper()
	doc, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc = append(doc, fmt.Sprintf(`
forward:
  - name: chat-layer
    url: %s
    products: ["*"]
    secret: ${CHAT_FORWARD_SECRET}
    concurrency: 4
`, url)...)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestForwardEveryVendorEndToEnd runs the real program with the shipped
// config and a forward target: deliveries signed by five vendors' own
// signers (`replayhook send`) reach a receiver that checks them exactly as
// the Autoplay SDK's WebhookReceiver does, each once (by delivery id), and
// one session's payloads in ingest order.
func TestForwardEveryVendorEndToEnd(t *testing.T) {
	rcv := forwardtest.New(t, forwardSecret, nil)
	cfgPath := shippedConfigWithForward(t, rcv.URL)
	env := map[string]string{"REPLAYHOOK_ADDR": "127.0.0.1:0", "REPLAYHOOK_SNAPSHOT": filepath.Join(t.TempDir(), "s"), "CHAT_FORWARD_SECRET": forwardSecret, "AUTOPLAY_CONNECTOR_SECRET": "test-connector-secret"}
	getenv := func(k string) string { return env[k] }
	base := startWithEnv(t, cfgPath, getenv)

	vendors := []struct{ source, file string }{
		{"posthog", "providers/posthog/testdata/webhook-destination-autocapture.json"},
		{"segment", "providers/segment/testdata/track.json"},
		{"sentry", "providers/sentry/testdata/error-created.json"},
		{"rrweb", "providers/standard/testdata/rrweb-batch-identified.json"},
	}
	for _, v := range vendors {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"send", "--config", cfgPath, "--url", base, "--source", v.source, v.file}, getenv, &out, io.Discard); err != nil || !strings.Contains(out.String(), `"status":"accepted"`) {
			t.Fatalf("send %s: %v %s", v.source, err, out.String())
		}
	}
	// One autoplay session in several deliveries: forwarded in ingest order.
	const steps = 6
	for i := range steps {
		body := fmt.Sprintf(`{"type":"actions","product_id":"prod_demo","session_id":"ps_order","user_id":"usr_1","actions":[{"index":0,"type":"click","title":"%d","description":"step %d","canonical_url":"https://app.example/"}]}`, i, i)
		if code, out := postSigned(t, base, []byte(body)); code != 200 {
			t.Fatalf("autoplay %d: %d %s", i, code, out)
		}
	}
	got := rcv.WaitAccepted(t, len(vendors)+steps, 20*time.Second)
	ids := map[string]bool{}
	providers := map[string]bool{}
	step := 0
	for _, q := range got {
		if !q.Verified || ids[q.Delivery] || q.Header.Get("Content-Type") != "application/json" || q.Header.Get("Authorization") != "" {
			t.Fatalf("delivery %s: verified=%v repeat=%v headers=%v", q.Delivery, q.Verified, ids[q.Delivery], q.Header)
		}
		ids[q.Delivery] = true
		providers[q.Payload.Provider] = true
		if q.Payload.Type != "actions" || q.Payload.ProductID != "prod_demo" {
			t.Fatalf("payload %s", q.Body)
		}
		if normalize.Str(q.Payload.SessionID) == "ps_order" {
			if q.Payload.Actions[0].Title != strconv.Itoa(step) {
				t.Fatalf("ps_order: step %s arrived, want %d", q.Payload.Actions[0].Title, step)
			}
			step++
		}
	}
	if len(providers) < 4 {
		t.Fatalf("providers forwarded: %v", providers)
	}
	var st struct {
		Targets []struct {
			Name          string
			Queued        int
			LastSuccessAt *time.Time `json:"last_success_at"`
		}
	}
	if code := getJSON(t, base+"/v1/forwards", "dev-token", &st); code != 200 || len(st.Targets) != 1 || st.Targets[0].LastSuccessAt == nil {
		t.Fatalf("GET /v1/forwards: %d %+v", code, st)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`replayhook_forward_attempts_total{outcome="2xx",target="chat-layer"}`,
		`replayhook_forward_queue_depth{target="chat-layer"}`,
		`replayhook_forward_lag_seconds_count{target="chat-layer"}`,
		`replayhook_forward_dead_letters{target="chat-layer"} 0`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// startWithEnv runs serve with getenv and returns its base URL; the server
// stops when the test ends.
func startWithEnv(t *testing.T, cfgPath string, getenv func(string) string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{addr: make(chan string, 1)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--config", cfgPath}, getenv, out, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	select {
	case addr := <-out.addr:
		return "http://" + addr
	case err := <-done:
		t.Fatalf("server exited: %v\n%s", err, out)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	return ""
}

// TestForwardTargetDownAcrossRestart: the target is down while deliveries
// are acknowledged; replayhook stops (SIGTERM) and starts again on its
// snapshot; once the target is back every payload arrives, in order.
func TestForwardTargetDownAcrossRestart(t *testing.T) {
	var up atomic.Bool
	rcv := forwardtest.New(t, forwardSecret, func(forwardtest.Request) forwardtest.Answer {
		if up.Load() {
			return forwardtest.Answer{Status: 200}
		}
		return forwardtest.Answer{Status: 503}
	})
	snap := filepath.Join(t.TempDir(), "state", "replayhook.snapshot")
	cfg := testConfig(t, fmt.Sprintf(`
forward:
  - name: chat
    url: %s
    products: [prod_demo]
    secret: %s
    concurrency: 2
`, rcv.URL, forwardSecret))
	doc, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(doc), `path: ""`, "path: "+snap, 1)), 0o600); err != nil {
		t.Fatal(err)
	}

	base, _, stop := startServer(t, cfg)
	const n = 8
	for i := range n {
		body := fmt.Sprintf(`{"type":"actions","product_id":"prod_demo","session_id":"down-%d","user_id":"u","actions":[{"index":0,"type":"click","title":"%d","description":"d","canonical_url":"https://x.example/"}]}`, i%2, i)
		if code, out := postSigned(t, base, []byte(body)); code != 200 {
			t.Fatalf("delivery %d: %d %s", i, code, out)
		}
	}
	rcv.WaitRequests(t, 1, 10*time.Second) // tried, refused
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if len(rcv.Accepted()) != 0 {
		t.Fatal("accepted while down")
	}
	up.Store(true)
	_, out, _ := startServer(t, cfg)
	if !strings.Contains(out.String(), "snapshot restored") {
		t.Fatalf("snapshot not restored:\n%s", out)
	}
	got := rcv.WaitAccepted(t, n, 20*time.Second)
	next := map[string]int{"down-0": 0, "down-1": 1}
	ids := map[string]bool{}
	for _, q := range got {
		s := normalize.Str(q.Payload.SessionID)
		if ids[q.Delivery] || q.Payload.Actions[0].Title != strconv.Itoa(next[s]) {
			t.Fatalf("%s: got %s (repeat=%v), want %d", s, q.Payload.Actions[0].Title, ids[q.Delivery], next[s])
		}
		ids[q.Delivery] = true
		next[s] += 2
	}
}

// TestForwardTestCommand: forward-test sends one signed sample and prints
// the answer; a receiver with another secret refuses it, with a hint.
func TestForwardTestCommand(t *testing.T) {
	good := forwardtest.New(t, forwardSecret, nil)
	wrong := forwardtest.New(t, "another-secret-entirely", nil)
	cfg := testConfig(t, fmt.Sprintf(`
forward:
  - {name: good, url: %q, products: ["*"], secret: %s}
  - {name: wrong, url: %q, products: [prod_demo], secret: %s}
`, good.URL, forwardSecret, wrong.URL, forwardSecret))
	var out bytes.Buffer
	if err := run(context.Background(), []string{"forward-test", "--config", cfg, "--target", "good"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatalf("forward-test good: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "-> 200 in ") || len(good.Accepted()) != 1 || !good.Accepted()[0].Verified {
		t.Fatalf("output: %s", out.String())
	}
	out.Reset()
	err := run(context.Background(), []string{"forward-test", "--config", cfg, "--target", "wrong"}, func(string) string { return "" }, &out, io.Discard)
	if err == nil || !strings.Contains(out.String(), "HTTP 401") || !strings.Contains(out.String(), "hint:") {
		t.Fatalf("forward-test wrong: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), forwardSecret) {
		t.Fatal("forward-test printed the secret")
	}
	if err := run(context.Background(), []string{"forward-test", "--config", cfg, "--target", "nope"}, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
		t.Fatal("unknown target accepted")
	}
}

// TestCheckConfigMasksForwardSecrets: check-config lists the targets with
// secrets and header values masked, and warns on plain http.
func TestCheckConfigMasksForwardSecrets(t *testing.T) {
	cfg := testConfig(t, `
forward:
  - name: chat
    url: http://127.0.0.1:9/events
    products: ["*"]
    secret: ${FWD_SECRET}
    headers: {X-Api-Key: key-that-is-secret}
`)
	var out bytes.Buffer
	getenv := func(k string) string {
		if k == "FWD_SECRET" {
			return "forward-secret-from-env-42"
		}
		return ""
	}
	if err := run(context.Background(), []string{"check-config", "--config", cfg}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	if strings.Contains(s, "forward-secret-from-env-42") || strings.Contains(s, "key-that-is-secret") {
		t.Fatalf("a secret was printed:\n%s", s)
	}
	for _, want := range []string{"name: chat", "secret: '****'", "timeout: 5s", "max_age: 24h0m0s", "forward[0].url (chat) is plain http"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

// TestForwardTwoReplicasOnRedis runs the real program twice on one real
// redis-server with a forward target: deliveries sent to either replica
// reach the receiver once each, in order per session; after replica A
// stops, B takes over A's partitions and delivers what follows.
func TestForwardTwoReplicasOnRedis(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rcv := forwardtest.New(t, forwardSecret, nil)
	cfg := testConfig(t, fmt.Sprintf(`store:
  backend: redis
  redis: {addr: %q, key_prefix: "fwd-test:"}
forward:
  - {name: chat, url: %q, products: ["*"], secret: %s, concurrency: 3}
`, srv.Addr(), rcv.URL, forwardSecret))
	a, _, stopA := startServer(t, cfg)
	b, _, _ := startServer(t, cfg)
	send := func(base string, session string, step int) {
		t.Helper()
		body := fmt.Sprintf(`{"type":"actions","product_id":"prod_demo","session_id":%q,"user_id":"u","actions":[{"index":0,"type":"click","title":"%d","description":"d","canonical_url":"https://x.example/"}]}`, session, step)
		if code, out := postSigned(t, base, []byte(body)); code != 200 {
			t.Fatalf("delivery %s/%d: %d %s", session, step, code, out)
		}
	}
	const sessions = 4
	for step := range 3 {
		for s := range sessions {
			base := a
			if (s+step)%2 == 1 {
				base = b
			}
			send(base, "r-"+strconv.Itoa(s), step)
		}
	}
	rcv.WaitAccepted(t, 3*sessions, 20*time.Second)
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	for step := 3; step < 5; step++ {
		for s := range sessions {
			send(b, "r-"+strconv.Itoa(s), step)
		}
	}
	got := rcv.WaitAccepted(t, 5*sessions, 30*time.Second)
	ids := map[string]bool{}
	next := map[string]int{}
	for _, q := range got {
		s := normalize.Str(q.Payload.SessionID)
		if !q.Verified || ids[q.Delivery] || q.Payload.Actions[0].Title != strconv.Itoa(next[s]) {
			t.Fatalf("%s: step %s (verified=%v repeat=%v), want %d", s, q.Payload.Actions[0].Title, q.Verified, ids[q.Delivery], next[s])
		}
		ids[q.Delivery] = true
		next[s]++
	}
}

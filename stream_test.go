package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/internal/redistest"
	"github.com/replayhook/replayhook/internal/sse"
)

// eventSource starts scripts/interop/stream.mjs (the npm eventsource
// client) on url and returns its output lines. Without node or the package
// the test fails under CI and is skipped elsewhere.
func eventSource(t *testing.T, url, token string, count int) (lines <-chan map[string]any, exited <-chan error) {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("scripts", "interop"))
	missing := func(what string) {
		msg := what + "; run: npm ci --prefix scripts/interop (node and npm from Debian: apt-get install nodejs npm)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "eventsource", "package.json")); err != nil {
		missing("scripts/interop/node_modules/eventsource is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "stream.mjs"), url, token, fmt.Sprint(count))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out, done, finished := make(chan map[string]any, 1000), make(chan error, 1), make(chan struct{})
	go func() {
		defer close(finished)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err == nil {
				out <- m
			}
		}
		close(out)
		done <- cmd.Wait()
	}()
	t.Cleanup(func() { cancel(); <-finished })
	return out, done
}

// expect reads the client's lines until one has key (failing on the end
// of its output), and returns it.
func expect(t *testing.T, lines <-chan map[string]any, key string) map[string]any {
	t.Helper()
	for m := range lines {
		if _, ok := m[key]; ok {
			return m
		}
		if _, ok := m["error"]; ok {
			t.Fatalf("client gave up: %v", m)
		}
	}
	t.Fatalf("client output ended before a %q line", key)
	return nil
}

// sendFixture sends one vendor fixture with `replayhook send` and returns
// how many payloads it stored.
func sendFixture(t *testing.T, base, source, file string, getenv func(string) string) int {
	t.Helper()
	var out strings.Builder
	if err := run(context.Background(), []string{"send", "--config", "config.yaml", "--url", base, "--source", source, file}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("send %s: %v\n%s", source, err, out.String())
	}
	_, body, _ := strings.Cut(out.String(), "\n")
	var res struct {
		Status   string
		Payloads int
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil || res.Status != "accepted" || res.Payloads < 1 {
		t.Fatalf("send %s: %s", source, out.String())
	}
	return res.Payloads
}

// TestStreamToEventSource runs the shipped config.yaml and reads
// /stream/prod_demo with the npm eventsource client: deliveries of eight
// vendors arrive in order; the server then stops (as on SIGTERM: the
// stream ends cleanly and the snapshot keeps the replay buffer) and starts
// again on the same address while more deliveries arrive; the client
// reconnects by itself with Last-Event-ID and gets exactly the rest.
func TestStreamToEventSource(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := map[string]string{"REPLAYHOOK_ADDR": addr, "REPLAYHOOK_SNAPSHOT": filepath.Join(t.TempDir(), "s")}
	getenv := func(k string) string { return env[k] }
	start := func() (stop func() error, out *lineWriter) {
		ctx, cancel := context.WithCancel(context.Background())
		out = &lineWriter{addr: make(chan string, 1)}
		done := make(chan error, 1)
		go func() { done <- run(ctx, []string{"serve", "--config", "config.yaml"}, getenv, out, io.Discard) }()
		select {
		case <-out.addr:
		case err := <-done:
			t.Fatalf("server exited: %v\n%s", err, out)
		case <-time.After(10 * time.Second):
			t.Fatal("server did not start")
		}
		stopped := false
		stop = func() error {
			if stopped {
				return nil
			}
			stopped = true
			cancel()
			return <-done
		}
		t.Cleanup(func() { _ = stop() })
		return stop, out
	}
	base := "http://" + addr
	stop, out := start()

	fixtures := []struct{ source, file, session string }{
		{"autoplay", "providers/autoplay/testdata/actions-identified.json", "ps_01959380"},
		{"posthog", "providers/posthog/testdata/webhook-destination-autocapture.json", "01959380-9f2b-7c11-8a40-6d2e9b3f1a07"},
		{"fullstory", "providers/fullstory/testdata/v1-recording.event.custom.json", "5208840365768704:6473931853987840"},
		{"sentry", "providers/sentry/testdata/error-created.json", "0d4e8a2c7b1f4e9aa3c56d7e8f901b2c"},
		{"segment", "providers/segment/testdata/track.json", "1741944978000"},
		{"amplitude", "providers/amplitude/testdata/element-clicked.json", "1741944978000"},
		{"highlight", "providers/highlight/testdata/new-session-alert.json", "Lq3vTz9YbH2kXw7RmN4cPd8sJf0a"},
		{"rrweb", "providers/standard/testdata/rrweb-batch-identified.json", "sess_2mQ1vWbqk7TzHn4cX9aLrE"},
	}
	var want []string // the session id of each expected event, in order
	var seen []map[string]any
	half := len(fixtures) / 2
	sendHalf := func(fs []struct{ source, file, session string }) {
		for _, f := range fs {
			for n := sendFixture(t, base, f.source, f.file, getenv); n > 0; n-- {
				want = append(want, f.session)
			}
		}
	}
	// The client is told to stop after more events than will come: the
	// test checks the exact sequence, and that nothing follows it.
	lines, _ := eventSource(t, base+"/stream/prod_demo", "dev-token", 1000)
	expect(t, lines, "open")
	sendHalf(fixtures[:half])
	for len(seen) < len(want) {
		seen = append(seen, expect(t, lines, "id"))
	}

	if err := stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	if strings.Contains(out.String(), "shutdown did not finish") {
		t.Fatalf("the open stream held the shutdown up:\n%s", out)
	}
	expect(t, lines, "reconnecting") // the stream ended cleanly; the client retries
	start()
	sendHalf(fixtures[half:]) // while the client waits to reconnect
	for len(seen) < len(want) {
		seen = append(seen, expect(t, lines, "id"))
	}
	vendors := map[string]bool{}
	prev := ""
	for i, m := range seen {
		var p struct {
			Type      string `json:"type"`
			SessionID string `json:"session_id"`
			ProductID string `json:"product_id"`
			Provider  string `json:"provider"`
		}
		data, _ := m["data"].(string)
		id, _ := m["id"].(string)
		if err := json.Unmarshal([]byte(data), &p); err != nil {
			t.Fatalf("event %d: %v: %s", i, err, data)
		}
		if p.Type != "actions" || p.ProductID != "prod_demo" || p.SessionID != want[i] {
			t.Fatalf("event %d: %+v, want session %s (all: %v)", i, p, want[i], seen)
		}
		if id == "" || id == prev {
			t.Fatalf("event %d: id %q after %q (a repeat)", i, id, prev)
		}
		vendors[p.Provider] = true
		prev = id
	}
	if len(vendors) < 3 {
		t.Fatalf("events from %d vendors only: %v", len(vendors), vendors)
	}
	// Nothing more: no event was sent twice.
	select {
	case m, ok := <-lines:
		if _, isEvent := m["id"]; ok && isEvent {
			t.Fatalf("an extra event after all were received: %v", m)
		}
	default:
	}
}

// TestStreamEventSourceStopsOnRefusal: 401, 403 and 404 end the client
// for good, as they end the SDK's.
func TestStreamEventSourceStopsOnRefusal(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	doc := `
server:
  addr: 127.0.0.1:0
auth:
  tokens:
    - {name: chat, token: test-token-0123456789, products: ["*"]}
    - {name: other, token: other-token-0123456789, products: [prod_other]}
snapshot:
  path: ""
sources:
  - name: autoplay
    provider: autoplay
    product_id: prod_demo
    secrets: [test-connector-secret]
`
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	base, _, _ := startServer(t, cfg)
	tests := []struct {
		name, path, token string
		status            float64
	}{
		{"bad token", "/stream/prod_demo", "not-a-token-0123456789", 401},
		{"product outside the token", "/stream/prod_demo", "other-token-0123456789", 403},
		{"unknown product", "/stream/prod_nobody", "test-token-0123456789", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, exited := eventSource(t, base+tt.path, tt.token, 1)
			var all []map[string]any
			for m := range lines {
				all = append(all, m)
			}
			if err := <-exited; err == nil || len(all) != 1 || all[0]["error"] != tt.status {
				t.Fatalf("client output %v, exit %v; want one error %v and no retry", all, err, tt.status)
			}
		})
	}
}

// openSSE opens base's stream for product (after lastID when set).
func openSSE(t *testing.T, base, product, lastID string) (*http.Response, *sse.Reader) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/stream/"+product, nil)
	req.Header.Set("Authorization", "Bearer test-token-0123456789")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		t.Fatalf("GET /stream/%s = %d", product, resp.StatusCode)
	}
	return resp, sse.NewReader(resp.Body)
}

func nextSSE(t *testing.T, r *sse.Reader) (id, session string) {
	t.Helper()
	for {
		m, err := r.Next()
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		if m.Event == "heartbeat" {
			continue
		}
		var p struct {
			SessionID string `json:"session_id"`
		}
		if m.Event != "" || json.Unmarshal([]byte(m.Data), &p) != nil {
			t.Fatalf("unexpected message %+v", m)
		}
		return m.ID, p.SessionID
	}
}

// TestStreamAcrossRedisReplicas: with store.backend redis, a delivery
// ingested on replica A reaches a stream on replica B with A's id, and a
// client resumes on B with an id it got from A. Stopping a replica (as
// SIGTERM does) ends its open streams at once.
func TestStreamAcrossRedisReplicas(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	cfg := testConfig(t, "store:\n  backend: redis\n  redis:\n    addr: "+srv.Addr()+"\n    key_prefix: \"stream-test:\"\n")
	a, aOut, stopA := startServer(t, cfg)
	b, _, _ := startServer(t, cfg)
	_, onA := openSSE(t, a, "prod_demo", "")
	respB, onB := openSSE(t, b, "prod_demo", "")
	for _, s := range []string{"s-1", "s-2"} {
		if code, status := postSigned(t, a, redisDelivery("u-1", s)); code != 200 || status != "accepted" {
			t.Fatalf("delivery to A: %d %s", code, status)
		}
	}
	idA1, sA1 := nextSSE(t, onA)
	idA2, _ := nextSSE(t, onA)
	idB1, sB1 := nextSSE(t, onB)
	if idA1 != idB1 || sA1 != "s-1" || sB1 != "s-1" {
		t.Fatalf("A got %s %s, B got %s %s", idA1, sA1, idB1, sB1)
	}
	respB.Body.Close()
	if code, status := postSigned(t, a, redisDelivery("u-1", "s-3")); code != 200 || status != "accepted" {
		t.Fatalf("delivery to A: %d %s", code, status)
	}
	// The client saw s-1 on A only, and resumes on B.
	_, onB = openSSE(t, b, "prod_demo", idA1)
	for _, want := range []string{"s-2", "s-3"} {
		id, s := nextSSE(t, onB)
		if s != want || (want == "s-2" && id != idA2) {
			t.Fatalf("resumed on B: %s %s, want %s", id, s, want)
		}
	}
	if err := stopA(); err != nil {
		t.Fatalf("stopping A: %v", err)
	}
	nextSSE(t, onA) // s-3, then the end
	if _, err := onA.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("A's stream after A stopped: %v", err)
	}
	if strings.Contains(aOut.String(), "shutdown did not finish") {
		t.Fatalf("the open stream held A's shutdown up:\n%s", aOut)
	}
}

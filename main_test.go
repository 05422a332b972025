package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replayhook/replayhook/internal/redistest"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/autoplay"
)

// testConfig writes a config that listens on a random loopback port.
func testConfig(t *testing.T, extra string) string {
	t.Helper()
	doc := `
server:
  addr: 127.0.0.1:0
auth:
  tokens:
    - {name: chat, token: test-token-0123456789, products: ["*"]}
snapshot:
  path: ""
sources:
  - name: autoplay
    provider: autoplay
    product_id: prod_demo
    secrets: [test-connector-secret]
` + extra
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// lineWriter collects output and finds the "listening" line.
type lineWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "listening" {
			select {
			case w.addr <- m["addr"].(string):
			default:
			}
		}
	}
	return len(p), nil
}

func (w *lineWriter) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.buf.String() }

// startServer runs the real program on a random loopback port and waits
// until /readyz answers. The returned stop ends it the way SIGTERM does.
func startServer(t *testing.T, cfgPath string) (base string, out *lineWriter, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &lineWriter{addr: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", cfgPath}, func(string) string { return "" }, out, io.Discard)
	}()
	select {
	case addr := <-out.addr:
		base = "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("server exited: %v\n%s", err, out)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("server did not start:\n%s", out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	return base, out, stop
}

func getJSON(t *testing.T, url, token string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("decode %s: %v", url, err)
		}
	}
	return resp.StatusCode
}

// TestWalkthrough is the README's two-minute walkthrough, verbatim in spirit:
// send a sample delivery with `replayhook send`, then read it back.
func TestWalkthrough(t *testing.T) {
	cfg := testConfig(t, "  - {name: posthog, provider: posthog, product_id: prod_demo, secrets: [test-posthog-secret-0123]}\n")
	base, _, stop := startServer(t, cfg)

	sample := filepath.Join("testdata", "autoplay-actions.json")
	var sendOut bytes.Buffer
	err := run(context.Background(), []string{"send", "--source", "autoplay", sample, "--config", cfg, "--url", base}, func(string) string { return "" }, &sendOut, io.Discard)
	if err != nil {
		t.Fatalf("send: %v\n%s", err, sendOut.String())
	}
	if !strings.Contains(sendOut.String(), `"status":"accepted"`) {
		t.Fatalf("send output: %s", sendOut.String())
	}
	// Sending the same file again is answered as a duplicate.
	sendOut.Reset()
	if err := run(context.Background(), []string{"send", "--config", cfg, "--url", base, "--source", "autoplay", sample}, func(string) string { return "" }, &sendOut, io.Discard); err != nil || !strings.Contains(sendOut.String(), `"status":"duplicate"`) {
		t.Fatalf("second send: %v %s", err, sendOut.String())
	}

	var user struct {
		UserID   string  `json:"user_id"`
		Email    *string `json:"email"`
		Sessions []struct {
			SessionID string `json:"session_id"`
			ProductID string `json:"product_id"`
		} `json:"sessions"`
	}
	if code := getJSON(t, base+"/v1/users/usr_48213", "test-token-0123456789", &user); code != 200 {
		t.Fatalf("lookup: %d", code)
	}
	if len(user.Sessions) != 1 || user.Sessions[0].SessionID != "ps_01959380" || user.Sessions[0].ProductID != "prod_demo" || user.Email == nil {
		t.Fatalf("lookup: %+v", user)
	}
	var act struct{ Activity string }
	getJSON(t, base+"/v1/users/usr_48213/activity", "test-token-0123456789", &act)
	if !strings.HasPrefix(act.Activity, "Session ps_01959380 (prod_demo):\nRecent activity:\n1. [0] pageview: ") || !strings.Contains(act.Activity, " \u2014 https://shop.example.com/checkout") {
		t.Fatalf("activity: %q", act.Activity)
	}

	// A vendor's event, fresh: `send --now` restamps the 2025 sample, so it
	// is linked to its user, and renews its ids, so it is never duplicate.
	posthog := filepath.Join("providers", "posthog", "testdata", "webhook-destination-autocapture.json")
	for range 2 {
		sendOut.Reset()
		if err := run(context.Background(), []string{"send", "--source", "posthog", "--now", posthog, "--config", cfg, "--url", base}, func(string) string { return "" }, &sendOut, io.Discard); err != nil || !strings.Contains(sendOut.String(), `"status":"accepted"`) {
			t.Fatalf("send --now: %v %s", err, sendOut.String())
		}
	}
	if code := getJSON(t, base+"/v1/users/usr_48213", "test-token-0123456789", &user); code != 200 {
		t.Fatalf("lookup: %d", code)
	}
	if len(user.Sessions) != 2 || user.Sessions[0].SessionID == "ps_01959380" || user.Sessions[1].SessionID != "ps_01959380" {
		t.Fatalf("after the PostHog event the lookup lists its session first, then the Autoplay one: %+v", user)
	}
	if err := stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
}

// TestStartOver is the README's "start over": the snapshot in data/ brings
// the dedupe record back after a restart (the sample is then duplicate);
// deleting data/ starts from nothing.
func TestStartOver(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile(testConfig(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yaml")
	doc := strings.Replace(string(raw), `path: ""`, "path: "+filepath.Join(dir, "data", "replayhook.snapshot"), 1)
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	sendSample := func(want string) {
		t.Helper()
		base, _, stop := startServer(t, cfg)
		var out bytes.Buffer
		if err := run(context.Background(), []string{"send", "--source", "autoplay", "testdata/autoplay-actions.json", "--config", cfg, "--url", base}, func(string) string { return "" }, &out, io.Discard); err != nil {
			t.Fatalf("send: %v %s", err, out.String())
		}
		if !strings.Contains(out.String(), `"status":"`+want+`"`) {
			t.Fatalf("want %s, got %s", want, out.String())
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
	sendSample("accepted")
	sendSample("duplicate") // restored from data/replayhook.snapshot
	if err := os.RemoveAll(filepath.Join(dir, "data")); err != nil {
		t.Fatal(err)
	}
	sendSample("accepted")
}

func TestCheckConfigMasksSecrets(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check-config", "--config", "config.yaml"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatalf("check-config on the shipped config: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, secret := range []string{"dev-secret\"", "dev-token\n", "dev-posthog-secret"} {
		if strings.Contains(s, secret) {
			t.Fatalf("check-config printed a secret (%s):\n%s", secret, s)
		}
	}
	if !strings.Contains(s, "dev-****") || !strings.Contains(s, "# warning: development secrets in use") || !strings.Contains(s, "# ok") {
		t.Fatalf("output:\n%s", s)
	}
}

// TestCheckConfigShowsEffectiveTolerance: tolerance_seconds: 0 prints the
// window that applies, and the vendors without a signed timestamp say so.
func TestCheckConfigShowsEffectiveTolerance(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	doc := `sources:
  - {name: fs, provider: fullstory, secrets: [fs-secret-0123456789]}
  - {name: fs-short, provider: fullstory, secrets: [fs-secret-0123456789abc], tolerance_seconds: 30}
  - {name: ph, provider: posthog, secrets: [ph-secret-0123456789]}
`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check-config", "--config", path}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatalf("check-config: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"tolerance_seconds: 300 # 0 in the file: the provider's default\n",
		"tolerance_seconds: 30\n",
		"tolerance_seconds: 0 # not used: posthog deliveries carry no signed timestamp\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check-config output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestServeRefusesBadStarts(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("server:\n  adress: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown key", []string{"serve", "--config", bad}, nil, `server.adress: unknown key (known keys: addr,`},
		{"dev secrets off loopback", []string{"serve", "--config", "config.yaml"}, map[string]string{"REPLAYHOOK_ADDR": "0.0.0.0:0"}, "development secrets"},
		{"config from the environment", []string{}, map[string]string{"REPLAYHOOK_CONFIG": bad}, "server.adress"},
		{"unknown command", []string{"frobnicate"}, nil, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// TestDrainDelayKeepsServingWhileReadyzFails: after SIGTERM /readyz answers
// 503 while requests are still served, for server.drain_delay.
func TestDrainDelayKeepsServingWhileReadyzFails(t *testing.T) {
	cfg := testConfig(t, "")
	doc, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(doc), "  addr: 127.0.0.1:0\n", "  addr: 127.0.0.1:0\n  drain_delay: 700ms\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	base, _, stop := startServer(t, cfg)
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	deadline := time.Now().Add(2 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatalf("listener closed before the drain delay: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode == 503 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("readyz never failed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code := getJSON(t, base+"/livez", "", nil); code != 200 {
		t.Fatalf("not serving during the drain delay: %d", code)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	cfg := testConfig(t, "")
	base, out, stop := startServer(t, cfg)
	// A slow client: headers sent, body trickles in while we stop the server.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/autoplay", pr)
	// Expect: 100-continue makes the server say when its handler starts
	// reading the body: from then on the request is in flight.
	req.Header.Set("Expect", "100-continue")
	reading := make(chan struct{})
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		Got100Continue: func() { close(reading) },
	}))
	respc := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			respc <- nil
			return
		}
		respc <- resp
	}()
	select {
	case <-reading:
	case <-time.After(20 * time.Second):
		t.Fatal("the server never started reading the body")
	}
	if _, err := pw.Write([]byte(`{"type":"heartbeat"`)); err != nil { // the body stays unfinished
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// The shutdown has begun once the listener is closed: new connections
	// are refused while the one in flight is still open.
	addr := strings.TrimPrefix(base, "http://")
	waitUntil(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	if _, err := pw.Write([]byte(`}`)); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	resp := <-respc
	if resp == nil {
		t.Fatal("in-flight request was cut off")
	}
	resp.Body.Close()
	if resp.StatusCode != 401 { // unsigned: answered, not dropped
		t.Fatalf("in-flight status %d", resp.StatusCode)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"msg":"draining"`) || !strings.Contains(out.String(), `"msg":"stopped"`) {
		t.Fatalf("shutdown not logged:\n%s", out)
	}
}

// TestRestartKeepsAcknowledgedSessions: send, stop gracefully (SIGTERM
// path), start again on the same snapshot: every acknowledged session is
// still there. Then a corrupt snapshot makes the next start empty, not crash.
func TestRestartKeepsAcknowledgedSessions(t *testing.T) {
	snap := filepath.Join(t.TempDir(), "state", "replayhook.snapshot")
	cfg := testConfig(t, "")
	doc, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(doc), `path: ""`, "path: "+snap, 1)), 0o600); err != nil {
		t.Fatal(err)
	}

	base, _, stop := startServer(t, cfg)
	var acked []string
	for i := 0; i < 20; i++ {
		body := fmt.Sprintf(`{"type":"actions","product_id":"prod_demo","session_id":"restart-%d","user_id":"u-%d","actions":[{"index":0,"type":"click","description":"d","canonical_url":"https://x.example/a"}]}`, i, i)
		var out bytes.Buffer
		file := filepath.Join(t.TempDir(), "b.json")
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := run(context.Background(), []string{"send", "--config", cfg, "--url", base, "--source", "autoplay", file}, func(string) string { return "" }, &out, io.Discard); err != nil {
			t.Fatalf("send %d: %v %s", i, err, out.String())
		}
		acked = append(acked, fmt.Sprint(i))
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(snap); err != nil {
		t.Fatalf("no snapshot written at shutdown: %v", err)
	}

	base, out, stop := startServer(t, cfg)
	if !strings.Contains(out.String(), "snapshot restored") {
		t.Fatalf("snapshot not restored:\n%s", out)
	}
	var drift struct {
		Totals struct{ Deliveries, Payloads int }
	}
	getJSON(t, base+"/v1/drift", "test-token-0123456789", &drift)
	if drift.Totals.Deliveries != len(acked) || drift.Totals.Payloads != len(acked) {
		t.Fatalf("drift counters lost across restart: %+v", drift.Totals)
	}
	for _, i := range acked {
		var u struct {
			Sessions []struct {
				SessionID string `json:"session_id"`
			}
		}
		getJSON(t, base+"/v1/users/u-"+i, "test-token-0123456789", &u)
		if len(u.Sessions) != 1 || u.Sessions[0].SessionID != "restart-"+i {
			t.Fatalf("user u-%s lost across restart: %+v", i, u)
		}
		if code := getJSON(t, base+"/v1/sessions/restart-"+i+"?product_id=prod_demo", "test-token-0123456789", nil); code != 200 {
			t.Fatalf("session restart-%s lost: %d", i, code)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// A damaged newest snapshot: the previous one is restored whole (the
	// journal holds what came after it) and the damaged file moved aside.
	if err := os.WriteFile(snap, []byte("{definitely not a snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	base, out, stop = startServer(t, cfg)
	if !strings.Contains(out.String(), "SNAPSHOT DAMAGED") || !strings.Contains(out.String(), "snapshot restored") {
		t.Fatalf("damaged snapshot not reported loudly, or the previous one not restored:\n%s", out)
	}
	var u struct{ Sessions []any }
	getJSON(t, base+"/v1/users/u-1", "test-token-0123456789", &u)
	if len(u.Sessions) != 1 {
		t.Fatalf("state lost with a damaged newest snapshot: %+v", u)
	}
	if aside, _ := filepath.Glob(snap + ".corrupt-*"); len(aside) != 1 {
		t.Fatalf("damaged snapshot not moved aside: %v", aside)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// Both files damaged (and the journal already truncated past them):
	// nothing to restore, said loudly, and the server starts empty.
	if err := os.WriteFile(snap, []byte("{definitely not a snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(snap+".1", []byte(`{"version":2,"parts":[{"name":"users","records":[`), 0o600); err != nil {
		t.Fatal(err)
	}
	base, out, _ = startServer(t, cfg)
	if !strings.Contains(out.String(), "SNAPSHOT NOT RESTORED") {
		t.Fatalf("damaged snapshots not reported loudly:\n%s", out)
	}
	u.Sessions = nil
	getJSON(t, base+"/v1/users/u-1", "test-token-0123456789", &u)
	if len(u.Sessions) != 0 {
		t.Fatal("state from a damaged snapshot")
	}
}

// TestMetricsAreWired: the real program serves /metrics with the pipeline's
// counters, the ingest latency and the stores' gauges.
func TestMetricsAreWired(t *testing.T) {
	cfg := testConfig(t, "")
	base, _, _ := startServer(t, cfg)
	sample := filepath.Join("testdata", "autoplay-actions.json")
	if err := run(context.Background(), []string{"send", "--source", "autoplay", sample, "--config", cfg, "--url", base}, func(string) string { return "" }, io.Discard, io.Discard); err != nil {
		t.Fatalf("send: %v", err)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`replayhook_deliveries_total{outcome="accepted",source="autoplay"} 1`,
		`replayhook_payloads_total{source="autoplay"} 1`,
		`replayhook_ingest_duration_seconds_count{source="autoplay"} 1`,
		`replayhook_index_entries{store="users"} 1`,
		`replayhook_index_max_entries{store="users"} 100000`,
		`replayhook_index_entries{store="sessions"} 1`,
		`process_start_time_seconds `,
	} {
		if !strings.Contains(string(body), "\n"+want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestEveryVendorEndToEnd runs the shipped config.yaml on a random loopback
// port, sends one real-looking delivery per vendor with `replayhook send`
// (signed exactly as that vendor signs), and reads each normalized session
// back through the lookup API. The samples are from 2025, so they are late:
// stored for the session path (which needs no user id) and counted in the
// drift report.
func TestEveryVendorEndToEnd(t *testing.T) {
	env := map[string]string{"REPLAYHOOK_ADDR": "127.0.0.1:0", "REPLAYHOOK_SNAPSHOT": filepath.Join(t.TempDir(), "s")}
	getenv := func(k string) string { return env[k] }
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{addr: make(chan string, 1)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--config", "config.yaml"}, getenv, out, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	var base string
	select {
	case addr := <-out.addr:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("server exited: %v\n%s", err, out)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	tests := []struct{ source, file, session, wantKind string }{
		{"autoplay", "providers/autoplay/testdata/actions-identified.json", "ps_01959380", "click"},
		{"posthog", "providers/posthog/testdata/webhook-destination-autocapture.json", "01959380-9f2b-7c11-8a40-6d2e9b3f1a07", "click"},
		{"fullstory", "providers/fullstory/testdata/v1-recording.event.custom.json", "5208840365768704:6473931853987840", "custom"},
		{"sentry", "providers/sentry/testdata/error-created.json", "0d4e8a2c7b1f4e9aa3c56d7e8f901b2c", "error"},
		{"segment", "providers/segment/testdata/track.json", "1741944978000", "custom"},
		{"amplitude", "providers/amplitude/testdata/element-clicked.json", "1741944978000", "click"},
		{"highlight", "providers/highlight/testdata/new-session-alert.json", "Lq3vTz9YbH2kXw7RmN4cPd8sJf0a", "session"},
		{"rrweb", "providers/standard/testdata/rrweb-batch-identified.json", "sess_2mQ1vWbqk7TzHn4cX9aLrE", "custom"},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			var sendOut bytes.Buffer
			if err := run(context.Background(), []string{"send", "--config", "config.yaml", "--url", base, "--source", tt.source, tt.file}, getenv, &sendOut, io.Discard); err != nil {
				t.Fatalf("send: %v\n%s", err, sendOut.String())
			}
			if !strings.Contains(sendOut.String(), `"status":"accepted"`) {
				t.Fatalf("not accepted: %s", sendOut.String())
			}
			var s struct {
				SessionID string `json:"session_id"`
				ProductID string `json:"product_id"`
				Activity  string `json:"activity"`
				Actions   []struct{ Type, Description, CanonicalURL string }
			}
			url := base + "/v1/sessions/" + strings.ReplaceAll(tt.session, ":", "%3A") + "?product_id=prod_demo"
			if code := getJSON(t, url, "dev-token", &s); code != 200 {
				t.Fatalf("session lookup: %d", code)
			}
			// The newest action is this vendor's (segment and amplitude share
			// one session id, so their actions meet in one session).
			if s.SessionID != tt.session || s.ProductID != "prod_demo" || len(s.Actions) == 0 || s.Actions[len(s.Actions)-1].Type != tt.wantKind {
				t.Fatalf("normalized session: %+v", s)
			}
			if !strings.HasPrefix(s.Activity, "Recent activity:\n1. [0] ") || !strings.Contains(s.Activity, "] "+tt.wantKind+": ") {
				t.Fatalf("activity text: %q", s.Activity)
			}
		})
	}
	var drift struct {
		Totals struct{ Deliveries, Payloads int }
	}
	if code := getJSON(t, base+"/v1/drift", "dev-token", &drift); code != 200 || drift.Totals.Deliveries < len(tests) {
		t.Fatalf("drift report: %d %+v", code, drift)
	}
}

// redisDelivery is an autoplay actions delivery for one user and session.
func redisDelivery(user, session string) []byte {
	now := float64(time.Now().UnixMilli()) / 1000
	return []byte(fmt.Sprintf(`{"type":"actions","product_id":"prod_demo","session_id":%q,"user_id":%q,"count":1,"forwarded_at":%v,`+
		`"actions":[{"index":0,"type":"click","title":"Save","description":"clicked Save","timestamp_start":%v,"timestamp_end":%v,"canonical_url":"https://app.example.com/save"}]}`,
		session, user, now, now, now))
}

// postSigned sends body to base's autoplay source signed with the test
// config's connector secret; it returns the status and the body's "status"
// or "error" field.
func postSigned(t *testing.T, base string, body []byte) (int, string) {
	t.Helper()
	ap, err := autoplay.New(providers.Settings{Secrets: []string{"test-connector-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, base+"/webhooks/autoplay", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = ap.(providers.Signer).Sign(body, "test-connector-secret", time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Status, Error string }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.Status + out.Error
}

// userSessions lists the session ids base's lookup API answers for user.
func userSessions(t *testing.T, base, user string) (int, []string) {
	t.Helper()
	var u struct {
		Sessions []struct {
			SessionID string `json:"session_id"`
		}
	}
	code := getJSON(t, base+"/v1/users/"+user, "test-token-0123456789", &u)
	ids := []string{}
	for _, s := range u.Sessions {
		ids = append(ids, s.SessionID)
	}
	return code, ids
}

// statusOf is the status base answers a GET of path with the chat token.
func statusOf(t *testing.T, base, path string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Authorization", "Bearer test-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestTwoReplicasShareRedis runs the real program twice with
// store.backend: redis on one real redis-server: a signed delivery sent to
// replica A over HTTP is read back from replica B (and B takes A's
// delivery for a duplicate); with Redis killed both answer 503 on ingest
// and lookups and /readyz fails; with Redis back (same port, append-only
// file) both recover by themselves and keep what they acknowledged.
func TestTwoReplicasShareRedis(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Persist: true})
	cfg := testConfig(t, "store:\n  backend: redis\n  redis:\n    addr: "+srv.Addr()+"\n    key_prefix: \"main-test:\"\n    dial_timeout: 500ms\n")
	a, _, _ := startServer(t, cfg)
	b, _, _ := startServer(t, cfg)
	if a == b {
		t.Fatal("both replicas listen on one address")
	}

	before := redisDelivery("u-shared", "sess-before")
	if code, status := postSigned(t, a, before); code != http.StatusOK || status != "accepted" {
		t.Fatalf("delivery to A = %d %s, want 200 accepted", code, status)
	}
	if code, ids := userSessions(t, b, "u-shared"); code != http.StatusOK || len(ids) != 1 || ids[0] != "sess-before" {
		t.Fatalf("B's lookup of A's delivery = %d %v, want [sess-before]", code, ids)
	}
	var s struct{ Actions []struct{ Title string } }
	if code := getJSON(t, b+"/v1/sessions/sess-before?product_id=prod_demo", "test-token-0123456789", &s); code != http.StatusOK || len(s.Actions) != 1 || s.Actions[0].Title != "Save" {
		t.Fatalf("B's session lookup = %d %+v, want the one Save action", code, s)
	}
	if code, status := postSigned(t, b, before); code != http.StatusOK || status != "duplicate" {
		t.Fatalf("the same delivery to B = %d %s, want 200 duplicate", code, status)
	}
	// One drift window for both: a lookup that misses on A is in B's
	// report (observations reach Redis asynchronously: poll briefly).
	if code := statusOf(t, a, "/v1/users/u_shared"); code != http.StatusOK {
		t.Fatalf("A's lookup of an unknown id = %d, want 200 (no sessions)", code)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var rep struct {
			LookupMisses []struct {
				UserID     string `json:"user_id"`
				Candidates []struct {
					UserID string `json:"user_id"`
				} `json:"candidates"`
			} `json:"lookup_misses"`
		}
		if code := getJSON(t, b+"/v1/drift", "test-token-0123456789", &rep); code != http.StatusOK {
			t.Fatalf("B's drift report = %d", code)
		}
		if len(rep.LookupMisses) == 1 && rep.LookupMisses[0].UserID == "u_shared" &&
			len(rep.LookupMisses[0].Candidates) == 1 && rep.LookupMisses[0].Candidates[0].UserID == "u-shared" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B's drift report does not show A's miss with its candidate: %+v", rep)
		}
		time.Sleep(25 * time.Millisecond)
	}

	srv.Kill()
	during := redisDelivery("u-shared", "sess-during")
	for name, base := range map[string]string{"A": a, "B": b} {
		if code, errCode := postSigned(t, base, during); code != http.StatusServiceUnavailable || errCode != "unavailable" {
			t.Errorf("%s: ingest with Redis down = %d %s, want 503 unavailable", name, code, errCode)
		}
		if code := statusOf(t, base, "/v1/users/u-shared"); code != http.StatusServiceUnavailable {
			t.Errorf("%s: user lookup with Redis down = %d, want 503", name, code)
		}
		if code := statusOf(t, base, "/v1/sessions/sess-before?product_id=prod_demo"); code != http.StatusServiceUnavailable {
			t.Errorf("%s: session lookup with Redis down = %d, want 503", name, code)
		}
		if code := statusOf(t, base, "/readyz"); code != http.StatusServiceUnavailable {
			t.Errorf("%s: /readyz with Redis down = %d, want 503", name, code)
		}
		if code := statusOf(t, base, "/v1/drift"); code != http.StatusServiceUnavailable {
			t.Errorf("%s: drift report with Redis down = %d, want 503", name, code)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	srv.Restart()
	for name, base := range map[string]string{"A": a, "B": b} {
		deadline := time.Now().Add(20 * time.Second)
		for statusOf(t, base, "/readyz") != http.StatusOK {
			if time.Now().After(deadline) {
				t.Fatalf("%s: /readyz did not recover after Redis came back", name)
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
	// The vendor's retry of the delivery refused during the outage is
	// stored, not taken for a duplicate, and every replica sees both.
	if code, status := postSigned(t, b, during); code != http.StatusOK || status != "accepted" {
		t.Fatalf("retry to B after the outage = %d %s, want 200 accepted", code, status)
	}
	for name, base := range map[string]string{"A": a, "B": b} {
		code, ids := userSessions(t, base, "u-shared")
		if code != http.StatusOK || len(ids) != 2 {
			t.Fatalf("%s: sessions after the outage = %d %v, want sess-during and sess-before", name, code, ids)
		}
	}
}

// waitUntil polls cond until it holds (or fails the test after 20 s): how a
// test waits for a state it cannot be told about, never a timing assertion.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replayhook/replayhook/providers/vendorjson"
)

// TestRestamp: --now moves every event time by the same amount, so the
// newest is now, in each value's own format, renews the delivery ids, and
// keeps every other byte.
func TestRestamp(t *testing.T) {
	now := time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC)
	in := `{"messageId": "ajs-1", "uuid":"01959383-4c1e-7d2a-9b6f-3e8a51c07d42", "event_id":"5f2c8e1a9b7d4c3e8a6f0b1d2e3c4a5b",
  "timestamp": "2025-03-14T09:41:07.571Z", "sentAt":"2025-03-14T09:41:06.571Z",
  "nested": {"event_time": "2025-03-14 09:41:05.000000", "time": 1741945266571, "datetime": "2025-03-14T09:41:04+00:00"},
  "data": [{"timestamp": 1741945263.5}, {"keep": "2025-03-14T09:41:07.571Z", "properties": {"title": "x"}}], "name": "as is"}`
	out := restamp([]byte(in), now)
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	want := map[string]string{
		`"timestamp": "2026-12-04T16:00:00.000Z"`:    "newest is now, same precision",
		`"sentAt":"2026-12-04T15:59:59.000Z"`:        "one second before, as in the sample",
		`"event_time": "2026-12-04 15:59:57.429000"`: "Amplitude's layout",
		`"time": 1796399999000`:                      "milliseconds stay milliseconds",
		`"datetime": "2026-12-04T15:59:56Z"`:         "a zone stays a zone",
		`{"timestamp": 1796399995.9}`:                "seconds keep their decimals",
		`"keep": "2025-03-14T09:41:07.571Z"`:         "other keys are kept",
		`"name": "as is"`:                            "other values are kept",
	}
	for frag, why := range want {
		if !bytes.Contains(out, []byte(frag)) {
			t.Errorf("%s: %s missing in\n%s", why, frag, out)
		}
	}
	for _, old := range []string{`"ajs-1"`, `01959383-4c1e-7d2a-9b6f-3e8a51c07d42`, `5f2c8e1a9b7d4c3e8a6f0b1d2e3c4a5b`} {
		if bytes.Contains(out, []byte(old)) {
			t.Errorf("id %s not renewed:\n%s", old, out)
		}
	}
	ids := got
	if s, _ := ids["uuid"].(string); len(s) != 36 || s[14] != '7' {
		t.Errorf("a UUIDv7 stays a UUIDv7: %q", s)
	}
	if s, _ := ids["event_id"].(string); len(s) != 32 {
		t.Errorf("32 hex digits stay 32 hex digits: %q", s)
	}
	if s, _ := ids["messageId"].(string); !strings.HasPrefix(s, "ajs-1-") {
		t.Errorf("another id gets a suffix: %q", s)
	}
	if string(restamp([]byte("not json"), now)) != "not json" {
		t.Error("a body that is not JSON is sent as is")
	}
	if !vendorjson.ParseTime("2026-12-04T16:00:00.000Z").Equal(now) {
		t.Fatal("sanity")
	}
}

// sendServer records the requests it gets and answers 200.
func sendServer(t *testing.T) (string, func() []*http.Request, func() [][]byte) {
	var mu sync.Mutex
	var reqs []*http.Request
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs, bodies = append(reqs, r), append(bodies, b)
		mu.Unlock()
		if _, err := w.Write([]byte(`{"status":"accepted"}`)); err != nil {
			t.Error(err)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []*http.Request { mu.Lock(); defer mu.Unlock(); return reqs }, func() [][]byte { mu.Lock(); defer mu.Unlock(); return bodies }
}

const sendConfig = `
server: {addr: "127.0.0.1:0"}
auth: {tokens: [{name: chat, token: dev-token, products: ["*"]}]}
sources:
  - {name: posthog, provider: posthog, secrets: [dev-posthog-secret]}
  - {name: highlight, provider: highlight, secrets: [dev-highlight-secret], url_token: true}
  - {name: segment, provider: segment, secrets: [dev-segment-secret]}
`

// TestSendReproducesTheVendorsRequest: each vendor's real request, the
// flags of `send`, and its errors.
func TestSendReproducesTheVendorsRequest(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(sendConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	base, reqs, bodies := sendServer(t)
	getenv := func(string) string { return "" }
	run := func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		err := send(context.Background(), append([]string{"--config", cfg, "--url", base}, args...), getenv, strings.NewReader(stdin), &out)
		return out.String(), err
	}

	// PostHog: the literal secret in X-PostHog-Secret, never an HMAC.
	if _, err := run("", "--source", "posthog", "providers/posthog/testdata/webhook-destination-autocapture.json"); err != nil {
		t.Fatal(err)
	}
	r := reqs()[0]
	if r.Header.Get("X-Posthog-Secret") != "dev-posthog-secret" || r.URL.Path != "/webhooks/posthog" || r.URL.RawQuery != "" {
		t.Fatalf("posthog request: %s %v", r.URL, r.Header)
	}

	// Highlight with url_token: no header but Content-Type, the token in the URL.
	if _, err := run("", "--source", "highlight", "providers/highlight/testdata/new-session-alert.json"); err != nil {
		t.Fatal(err)
	}
	r = reqs()[1]
	if r.URL.Query().Get("token") != "dev-highlight-secret" || r.Header.Get("Authorization") != "" {
		t.Fatalf("highlight request: %s %v", r.URL, r.Header)
	}
	for k := range r.Header {
		if k != "Content-Type" && k != "Content-Length" && k != "Accept-Encoding" && k != "User-Agent" {
			t.Errorf("highlight request carries header %s", k)
		}
	}

	// "-" reads standard input; -v prints the exact request first.
	out, err := run(`{"type":"track","event":"x","messageId":"m-1"}`, "--source", "segment", "-v", "-")
	if err != nil {
		t.Fatal(err)
	}
	r = reqs()[2]
	if string(bodies()[2]) != `{"type":"track","event":"x","messageId":"m-1"}` || r.Header.Get("X-Signature") == "" {
		t.Fatalf("stdin body %q, headers %v", bodies()[2], r.Header)
	}
	for _, want := range []string{"> POST " + base + "/webhooks/segment\n", "> X-Signature: " + r.Header.Get("X-Signature") + "\n", `{"type":"track","event":"x","messageId":"m-1"}`, `{"status":"accepted"}`} {
		if !strings.Contains(out, want) {
			t.Errorf("-v output lacks %q:\n%s", want, out)
		}
	}

	// --now restamps before signing.
	if _, err := run(`{"type":"track","event":"x","messageId":"m-1","timestamp":"2025-03-14T09:41:07.571Z"}`, "--source", "segment", "--now", "-"); err != nil {
		t.Fatal(err)
	}
	if b := bodies()[3]; bytes.Contains(b, []byte("2025-03-14")) || bytes.Contains(b, []byte(`"m-1"`)) {
		t.Fatalf("--now body: %s", b)
	}

	// Errors name what is configured; --help is exit 0 with the usage.
	if _, err := run("", "--source", "nosuch", "x.json"); err == nil || !strings.Contains(err.Error(), "configured: highlight, posthog, segment") {
		t.Fatalf("unknown source: %v", err)
	}
	for _, flag := range []string{"--help", "-h"} {
		out, err := run("", flag)
		if err != nil || !strings.Contains(out, "usage: replayhook send") || !strings.Contains(out, "examples:") || !strings.Contains(out, "arguments:") {
			t.Fatalf("%s: %v\n%s", flag, err, out)
		}
	}
	if _, err := run("", "--source", "segment"); err == nil || !strings.Contains(err.Error(), "send --help") {
		t.Fatalf("no file: %v", err)
	}
}

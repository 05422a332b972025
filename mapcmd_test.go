package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/app"
	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/all"
)

const customSources = `
  - name: tracker
    provider: custom
    product_id: prod_demo
    secrets: [test-tracker-old, test-tracker-new]
    tolerance_seconds: 300
    custom:
      verify: {scheme: hmac, header: X-Tracker-Signature, prefix: "v1=", message: "{header:X-Tracker-Time}.{body}", timestamp: "header:X-Tracker-Time"}
      events: batch
      fields:
        session_id: [session.id, ^session]
        user_id: user.id
        anonymous_id: device
        timestamp: {paths: [at], format: ms}
        type: {paths: [kind], map: {view: pageview, tap: click}}
        label: {template: "{target.text}"}
        raw_url: page
      filters:
        - {path: kind, equals: [heartbeat], action: skip, reason: heartbeats are not user actions}
      dedupe_key: id
  - name: pixel
    provider: custom
    product_id: prod_demo
    secrets: [test-pixel-token]
    custom:
      verify: {scheme: url_token}
      fields:
        session_id: sid
        type: {const: note}
        label: msg
`

const trackerDelivery = `{"session":"sess_tracker_1","batch":[
 {"id":"e1","kind":"view","at":1741945440000,"page":"https://shop.example/checkout?step=2","device":"dev_9","target":{"text":"Checkout"}},
 {"id":"e2","kind":"tap","at":1741945441000,"user":{"id":"usr_7"},"device":"dev_9","page":"https://shop.example/checkout","target":{"text":"Pay now"}},
 {"id":"e3","kind":"heartbeat","at":1741945442000}]}`

// map prints each field with the path it came from, skipped events with
// the reason, the payloads as SDK text and JSON, and flags; it verifies
// nothing (no secret needed).
func TestMapCommand(t *testing.T) {
	cfg := testConfig(t, customSources)
	run := func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		err := mapCommand(append([]string{"--config", cfg}, args...), func(string) string { return "" }, strings.NewReader(stdin), &out)
		return out.String(), err
	}
	out, err := run(trackerDelivery, "--source", "tracker", "-")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"session_id     sess_tracker_1                           <- path ^session",
		"user_id        usr_7                                    <- path user.id",
		"user_id        (blank)                                  <- nothing found",
		"type           pageview                                 <- path kind (mapped)",
		"label          Pay now                                  <- template",
		"timestamp      1741945440000                            <- path at; read as 2025-03-14T09:44:00Z",
		"skipped: heartbeats are not user actions",
		"identity: anonymous_id dev_9 -> user_id usr_7",
		"delivery id: batch:",
		"  1. [0] pageview: User viewed Checkout (/checkout) \u2014 https://shop.example/checkout",
		"  2. [1] click: User clicked Pay now on /checkout \u2014 https://shop.example/checkout",
		`"session_id": "sess_tracker_1"`,
		"stored: 1 payloads",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	out, err = run(`{"msg":"hello"}`, "--source", "pixel", "-")
	if err != nil || !strings.Contains(out, "flags: missing_user_id") || !strings.Contains(out, "ignored: no payload carries a session_id") {
		t.Fatalf("session-less: %v\n%s", err, out)
	}
	out, err = run(`{"batch":{}}`, "--source", "tracker", "-")
	if err == nil || !strings.Contains(out, "rejected (replayhook would answer 422): ") || !strings.Contains(out, "batch") {
		t.Fatalf("wrong events: %v\n%s", err, out)
	}
	out, err = run(`{"batch":[`, "--source", "tracker", "-")
	if err == nil || !strings.Contains(out, "would answer 400") {
		t.Fatalf("broken json: %v\n%s", err, out)
	}
	if _, err := run(`{}`, "--source", "nope", "-"); err == nil || !strings.Contains(err.Error(), "no source \"nope\"") {
		t.Fatalf("unknown source: %v", err)
	}
	// A built-in source maps too (without per-field provenance).
	out, err = run("", "--source", "autoplay", "providers/autoplay/testdata/actions-identified.json")
	if err != nil || !strings.Contains(out, "stored: 1 payloads") {
		t.Fatalf("built-in: %v\n%s", err, out)
	}
}

// send signs a custom source by its verify options, and the server
// verifies, maps and stores it like a built-in vendor; whatever the body,
// a verified delivery is answered 2xx or 4xx, never 5xx.
func TestCustomSourceEndToEnd(t *testing.T) {
	cfg := testConfig(t, customSources)
	base, _, _ := startServer(t, cfg)
	sample := filepath.Join(t.TempDir(), "tracker.json")
	if err := os.WriteFile(sample, []byte(trackerDelivery), 0o600); err != nil {
		t.Fatal(err)
	}
	send := func(source, file string) string {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"send", "--config", cfg, "--url", base, "--source", source, file}, func(string) string { return "" }, &out, io.Discard); err != nil {
			t.Fatalf("send %s: %v\n%s", source, err, out.String())
		}
		return out.String()
	}
	if out := send("tracker", sample); !strings.Contains(out, `"status":"accepted"`) {
		t.Fatalf("tracker: %s", out)
	}
	if out := send("tracker", sample); !strings.Contains(out, `"status":"duplicate"`) {
		t.Fatalf("resend is not a duplicate: %s", out)
	}
	var s struct {
		UserID  string `json:"user_id"`
		Actions []struct{ Type string }
	}
	if code := getJSON(t, base+"/v1/sessions/sess_tracker_1?product_id=prod_demo", "test-token-0123456789", &s); code != 200 || s.UserID != "usr_7" || len(s.Actions) != 2 {
		t.Fatalf("stored session: %d %+v", code, s)
	}

	// Verified but hostile bodies: signed with the source's own signer.
	c, err := config.Load(cfg, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := app.BuildSources(c, all.Registry())
	if err != nil {
		t.Fatal(err)
	}
	signer := srcs["tracker"].Provider.(providers.Signer)
	deep := strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200)
	huge := `{"batch":[` + strings.TrimSuffix(strings.Repeat(`{"kind":"tap"},`, 1001), ",") + `]}`
	for name, body := range map[string]string{
		"broken": `{"batch":[`, "scalar": `42`, "deep": deep, "huge": huge, "batch object": `{"batch":{"a":1}}`,
		"event not object": `{"batch":["x"]}`, "wrong types": `{"session":{},"batch":[{"id":[],"kind":{},"at":"x","user":{"id":[1]},"page":7,"target":{"text":{}}}]}`,
		"all skipped": `{"session":"s","batch":[{"kind":"heartbeat"}]}`, "unknown kind": `{"session":"s","batch":[{"kind":"launch"}]}`,
	} {
		req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/tracker", strings.NewReader(body))
		req.Header = signer.Sign([]byte(body), "test-tracker-new", time.Now())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 || (resp.StatusCode >= 300 && resp.StatusCode < 400) {
			t.Errorf("%s: %d %s", name, resp.StatusCode, msg)
		}
		if resp.StatusCode == 200 && !strings.Contains(string(msg), `"ignored"`) {
			t.Errorf("%s: stored: %s", name, msg)
		}
	}
	// A tampered body is refused.
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/tracker", strings.NewReader(trackerDelivery+" "))
	req.Header = signer.Sign([]byte(trackerDelivery), "test-tracker-new", time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("tampered: %d", resp.StatusCode)
	}
}

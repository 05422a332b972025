package sentry

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/providertest"
	"github.com/replayhook/replayhook/providers/vendorjson"
)

// now is the Sentry-Hook-Timestamp of the shared fixture's delivery.
var now = time.Unix(1741945268, 0).UTC()

const (
	replay    = "0d4e8a2c7b1f4e9aa3c56d7e8f901b2c"
	testTitle = "TypeError: Cannot read properties of undefined (reading 'token')"
)

func TestConformance(t *testing.T) {
	settings := providers.Settings{Secrets: []string{"old-client-secret", "new-client-secret"}}
	providertest.Run(t, providertest.Case{
		Factory:  New,
		Settings: settings,
		Signer:   providertest.New[*Provider](t, New, settings),
		Fixtures: providertest.Fixtures(t, "*.json"),
		Now:      now,
		// Sentry signs only the body: a wrong resource, timestamp or
		// Request-ID header does not make a delivery forged.
		AuthHeaders: []string{SignatureHeader},
	})
}

// The vendor's published known-answer vector, over the exact bytes of
// the vendor sample it was computed on (testdata/error-created.json).
func TestKnownAnswer(t *testing.T) {
	const (
		secret = "sentry_test_client_secret_0123456789abcdef"
		sig    = "3492a50dd2f08aa430170aa7cacb89ef145f1f09e596a77e7796a64e1bdbff21"
	)
	body := providertest.Fixtures(t, "error-created.json")["error-created.json"]
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(RequestIDHeader, "3f6b0c2a9e5d4b7c8a1f2e3d4c5b6a79")
	h.Set(ResourceHeader, "error")
	h.Set(TimestampHeader, "1741945268")
	h.Set(SignatureHeader, sig)
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{secret}})
	if err := p.Verify(&providers.Request{Header: h, Body: body, Now: now}); err != nil {
		t.Fatalf("known vector rejected: %v", err)
	}
	got := p.Sign(body, secret, now)
	for _, name := range []string{SignatureHeader, ResourceHeader, TimestampHeader} {
		if got.Get(name) != h.Get(name) {
			t.Errorf("Sign %s = %q, want %q", name, got.Get(name), h.Get(name))
		}
	}
	// Sentry does not sign its timestamp: a delivery a year late still
	// verifies (the event id dedupes replays).
	if err := p.Verify(&providers.Request{Header: h, Body: body, Now: now.AddDate(1, 0, 0)}); err != nil {
		t.Fatalf("unsigned timestamp must not be checked: %v", err)
	}
	if err := p.Verify(&providers.Request{Header: h, Body: body[:len(body)-1], Now: now}); !errors.Is(err, providers.ErrInvalidSignature) {
		t.Fatalf("body without its trailing newline must not verify: %v", err)
	}
	d, err := p.Parse(&providers.Request{Header: h, Body: body, Now: now})
	if err != nil || d.ID != "5f2c8e1a9b7d4c3e8a6f0b1d2e3c4a5b" {
		t.Fatalf("parse: %+v, %v", d, err)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"action":"created","data":{"error":{"event_id":"e1"}}}`)
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s1", "s2"}})
	mac := func(secret string) string { return sign(secret, body) }
	tests := []struct {
		name   string
		header http.Header
		want   error // nil or ErrInvalidSignature
	}{
		{"first secret", http.Header{SignatureHeader: {mac("s1")}}, nil},
		{"second secret (rotation)", http.Header{SignatureHeader: {mac("s2")}}, nil},
		{"upper-case hex", http.Header{SignatureHeader: {strings.ToUpper(mac("s1"))}}, nil},
		{"surrounding spaces", http.Header{SignatureHeader: {" " + mac("s1") + " "}}, nil},
		{"no timestamp, resource or request id needed", http.Header{SignatureHeader: {mac("s1")}, TimestampHeader: {"not a time"}}, nil},
		{"wrong secret", http.Header{SignatureHeader: {mac("s3")}}, providers.ErrInvalidSignature},
		{"truncated", http.Header{SignatureHeader: {mac("s1")[:62]}}, providers.ErrInvalidSignature},
		{"sha256= prefix is not Sentry's format", http.Header{SignatureHeader: {"sha256=" + mac("s1")}}, providers.ErrInvalidSignature},
		{"not hex", http.Header{SignatureHeader: {"zz"}}, providers.ErrInvalidSignature},
		{"empty", http.Header{SignatureHeader: {""}}, providers.ErrInvalidSignature},
		{"two headers", http.Header{SignatureHeader: {mac("s1"), mac("s1")}}, providers.ErrInvalidSignature},
		{"over 4 KiB", http.Header{SignatureHeader: {mac("s1") + strings.Repeat(" ", providers.MaxHeaderBytes)}}, providers.ErrInvalidSignature},
		{"bearer is not accepted", http.Header{"Authorization": {"Bearer s1"}}, providers.ErrInvalidSignature},
		{"nothing", http.Header{}, providers.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Verify(&providers.Request{Header: tt.header, Body: body, Now: now})
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if err != nil && (strings.Contains(err.Error(), "s1") || strings.Contains(err.Error(), mac("s1")) || strings.Contains(err.Error(), mac("s2"))) {
				t.Fatalf("reason leaks a secret or an expected signature: %v", err)
			}
		})
	}
}

func sign(secret string, body []byte) string {
	p, _ := New(providers.Settings{Secrets: []string{secret}})
	return p.(*Provider).Sign(body, secret, now).Get(SignatureHeader)
}

func TestNew(t *testing.T) {
	if _, err := New(providers.Settings{}); err == nil {
		t.Fatal("a source with no secret must not start")
	}
	if _, err := New(providers.Settings{SecretHeader: "X-Token"}); err == nil {
		t.Fatal("a secret header is no substitute for the client secret")
	}
	p := providertest.New[*Provider](t, New, providers.Settings{Unsigned: true})
	if err := p.Verify(&providers.Request{Header: http.Header{}, Body: []byte(`{}`)}); err != nil {
		t.Fatalf("unsigned source must accept: %v", err)
	}
}

func TestSign(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"x"}})
	for body, resource := range map[string]string{
		`{"data":{"error":{}}}`:         "error",
		`{"data":{"event":{}}}`:         "event_alert",
		`{"data":{"issue":{"id":"1"}}}`: "issue",
		`{"data":{"installation":{}}}`:  "installation",
		`{"data":{}}`:                   "error",
		`not json`:                      "error",
	} {
		if got := p.Sign([]byte(body), "x", now).Get(ResourceHeader); got != resource {
			t.Errorf("%s: resource %q, want %q", body, got, resource)
		}
	}
	a, b := p.Sign([]byte(`{}`), "x", now), p.Sign([]byte(`{}`), "x", now)
	if len(a.Get(RequestIDHeader)) != 32 || a.Get(RequestIDHeader) == b.Get(RequestIDHeader) {
		t.Fatalf("Request-ID must be a fresh uuid4-like hex per attempt: %q, %q", a.Get(RequestIDHeader), b.Get(RequestIDHeader))
	}
	if a.Get(TimestampHeader) != "1741945268" {
		t.Fatalf("timestamp %q", a.Get(TimestampHeader))
	}
}

func TestParseFixtures(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	longCulprit := "CheckoutPage › PaymentStep › PaymentForm › ActionsRow › PrimaryButton › RetryPaymentButtonWithSpinnerAndTooltipAndAnalyticsWrapper.onClick(app/checkout/components/payment/retry-payment-button-with-spinner-and-tooltip.tsx)"
	dana := normalize.Event{
		Kind: "error", Label: testTitle, Description: testTitle + " in submitPayment(app/checkout/payment)",
		URL: "https://shop.example.com/checkout", Time: providertest.At("2025-03-14T09:41:07.977Z"),
		SessionID: replay, UserID: "usr_48213", Email: "dana.whitfield@example.com",
	}
	tests := []struct {
		file     string
		resource string // the Sentry-Hook-Resource header Sentry sends
		id       string
		ignored  string
		events   []normalize.Event
	}{
		{file: "error-created.json", resource: "error", id: "5f2c8e1a9b7d4c3e8a6f0b1d2e3c4a5b", events: []normalize.Event{dana}},
		// The same event as an issue alert: same events, same dedupe id.
		{file: "event-alert-triggered.json", resource: "event_alert", id: "8b3e1f7c2a9d4e6b9f0c1a2b3d4e5f60", events: []normalize.Event{dana}},
		{file: "error-created-anonymous.json", resource: "error", id: "b71e04c39d2a4f6e8c5a1d0e9f3b2c47", events: []normalize.Event{{
			Kind: "error", Label: "ChunkLoadError: Loading chunk 412 failed.",
			Description: "ChunkLoadError: Loading chunk 412 failed. in app/products/[slug]/page",
			URL:         "https://shop.example.com/products/trail-runner-2", Time: providertest.At("2025-03-14T09:38:22.31Z"),
			SessionID: replay,
		}}},
		{file: "error-created-odd.json", resource: "error", id: "e09a7c1b5d3f4e2a9b8c7d6e5f4a3b21", events: []normalize.Event{{
			Kind: "error", Label: "Error: Zahlung fehlgeschlagen — 支払い失敗 ✗",
			Description: "Error: Zahlung fehlgeschlagen — 支払い失敗 ✗ in " + longCulprit,
			URL:         "https://shop.example.com/checkout?step=payment&retry=2", Time: providertest.At("2025-03-14T09:41:08.5Z"),
			SessionID: replay, UserID: "usr_48213",
		}}},
		{file: "issue-created.json", resource: "issue", id: "6043517281", ignored: "sentry resource issue is not session activity"},
		{file: "metric-alert-critical.json", resource: "metric_alert", ignored: "sentry resource metric_alert is not session activity"},
	}
	fx := providertest.Fixtures(t, "*.json")
	if len(tests) != len(fx) {
		t.Fatalf("%d fixtures but %d table rows: map every fixture", len(fx), len(tests))
	}
	for _, tt := range tests {
		body, ok := fx[tt.file]
		if !ok {
			t.Fatalf("missing fixture %s", tt.file)
		}
		for _, header := range []string{tt.resource, ""} {
			t.Run(tt.file+"/resource="+header, func(t *testing.T) {
				h := http.Header{}
				if header != "" {
					h.Set(ResourceHeader, header)
				}
				d, err := p.Parse(&providers.Request{Header: h, Body: body, Now: now})
				if err != nil {
					t.Fatal(err)
				}
				if d.ID != tt.id || d.Ignored != tt.ignored {
					t.Fatalf("id %q ignored %q, want %q %q", d.ID, d.Ignored, tt.id, tt.ignored)
				}
				if !reflect.DeepEqual(d.Events, tt.events) {
					t.Fatalf("events\n got %+v\nwant %+v", d.Events, tt.events)
				}
				if len(d.Identities)+len(d.Payloads)+len(d.Summaries) != 0 {
					t.Fatalf("unexpected extras: %+v", d)
				}
			})
		}
	}
}

// The normalized activity vendorjson.Text of the shared fixture, as the chat layer
// will read it.
func TestDescribe(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	d, err := p.Parse(&providers.Request{Body: providertest.Fixtures(t, "error-created.json")["error-created.json"]})
	if err != nil {
		t.Fatal(err)
	}
	title, desc := normalize.Describe(d.Events[0])
	if title != testTitle || desc != testTitle+" in submitPayment(app/checkout/payment)" {
		t.Fatalf("title %q, description %q", title, desc)
	}
}

func TestParseResource(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	errBody := `{"action":"created","data":{"error":{"event_id":"e1","title":"Boom"}}}`
	tests := []struct {
		name, resource, body string
		ignored              string // "" → one error event
	}{
		{"header wins over the body", "issue", errBody, "sentry resource issue is not session activity"},
		{"header is case-insensitive", " Error ", errBody, ""},
		{"installation", "installation", `{"action":"created","data":{"installation":{"uuid":"u"}}}`, "sentry resource installation is not session activity"},
		{"comment", "comment", `{"action":"created","data":{"comment":"hi","issue_id":1}}`, "sentry resource comment is not session activity"},
		{"unknown resource", "seer", `{"action":"root_cause_completed","data":{}}`, "sentry resource seer is not session activity"},
		{"hostile resource is quoted and bounded", "x\"y" + strings.Repeat("z", 100), errBody, `sentry resource "x\"y` + strings.Repeat("z", 61) + `…" is not session activity`},
		{"inferred comment", "", `{"action":"created","data":{"comment":"hi"}}`, "sentry resource comment is not session activity"},
		{"inferred metric alert", "", `{"action":"warning","data":{"metric_alert":{}}}`, "sentry resource metric_alert is not session activity"},
		{"null error is not an error", "", `{"action":"created","data":{"error":null,"issue":{"id":"1"}}}`, "sentry resource issue is not session activity"},
		{"other error action", "error", `{"action":"updated","data":{"error":{"event_id":"e1"}}}`, "sentry error action updated is not stored"},
		{"other alert action", "event_alert", `{"action":"resolved","data":{"event":{"event_id":"e1"}}}`, "sentry event_alert action resolved is not stored"},
		{"no action is read as created", "error", `{"data":{"error":{"event_id":"e1"}}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.resource != "" {
				h.Set(ResourceHeader, tt.resource)
			}
			d, err := p.Parse(&providers.Request{Header: h, Body: []byte(tt.body)})
			if err != nil {
				t.Fatal(err)
			}
			if d.Ignored != tt.ignored {
				t.Fatalf("ignored %q, want %q", d.Ignored, tt.ignored)
			}
			if tt.ignored == "" && (len(d.Events) != 1 || d.Events[0].Kind != "error") {
				t.Fatalf("want one error event, got %+v", d.Events)
			}
			if tt.ignored != "" && len(d.Events) != 0 {
				t.Fatalf("ignored delivery has events: %+v", d.Events)
			}
		})
	}
}

func TestParseLeniency(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	tests := []struct {
		name string
		data string // the data.error object
		want normalize.Event
		id   string
	}{
		{"numbers where strings are expected", `{"event_id":12345,"title":404,"user":{"id":48213,"email":null},"contexts":{"replay":{"replay_id":1.741944978e12}}}`,
			normalize.Event{Kind: "error", Label: "404", UserID: "48213", SessionID: "1741944978000"}, "12345"},
		{"replay id from a tag when contexts have none", `{"title":"T","contexts":{"replay":null},"tags":[["replayId","r1"]]}`,
			normalize.Event{Kind: "error", Label: "T", SessionID: "r1"}, ""},
		{"contexts win over the tag", `{"title":"T","contexts":{"replay":{"replay_id":"r1"}},"tags":[["replayId","r2"]]}`,
			normalize.Event{Kind: "error", Label: "T", SessionID: "r1"}, ""},
		{"API-style tags", `{"title":"T","tags":[{"key":"replayId","value":"r1"},{"key":"url","value":"https://x/y"}]}`,
			normalize.Event{Kind: "error", Label: "T", SessionID: "r1", URL: "https://x/y"}, ""},
		{"tags as an object", `{"title":"T","tags":{"replayId":"r1"}}`,
			normalize.Event{Kind: "error", Label: "T", SessionID: "r1"}, ""},
		{"unreadable tags are skipped", `{"title":"T","tags":"replayId=r1"}`,
			normalize.Event{Kind: "error", Label: "T"}, ""},
		{"request url wins over the url tag", `{"title":"T","request":{"url":"https://a/"},"tags":[["url","https://b/"]]}`,
			normalize.Event{Kind: "error", Label: "T", URL: "https://a/"}, ""},
		{"title from metadata", `{"title":" ","metadata":{"type":"TypeError","value":"x is undefined"}}`,
			normalize.Event{Kind: "error", Label: "TypeError: x is undefined"}, ""},
		{"title from metadata value alone", `{"metadata":{"value":"x is undefined","type":{"odd":1}}}`,
			normalize.Event{Kind: "error", Label: "x is undefined"}, ""},
		{"title from message", `{"message":"Payment gateway timed out"}`,
			normalize.Event{Kind: "error", Label: "Payment gateway timed out"}, ""},
		{"culprit without a title", `{"culprit":"pay()"}`,
			normalize.Event{Kind: "error", Description: "Error in pay()"}, ""},
		{"id when event_id is missing", `{"id":"abc","title":"T"}`,
			normalize.Event{Kind: "error", Label: "T"}, "abc"},
		{"datetime with an offset", `{"datetime":"2025-03-14T10:41:07.977+01:00"}`,
			normalize.Event{Kind: "error", Time: providertest.At("2025-03-14T09:41:07.977Z")}, ""},
		{"datetime without a zone is UTC", `{"datetime":"2025-03-14T09:41:07.977000"}`,
			normalize.Event{Kind: "error", Time: providertest.At("2025-03-14T09:41:07.977Z")}, ""},
		{"float timestamp when datetime is unusable", `{"datetime":"soon","timestamp":1741945267.977}`,
			normalize.Event{Kind: "error", Time: providertest.At("2025-03-14T09:41:07.977Z")}, ""},
		{"implausible times are unknown", `{"datetime":"1969-12-31T23:59:59Z","timestamp":-5}`,
			normalize.Event{Kind: "error"}, ""},
		{"huge event id is hashed", `{"event_id":"` + strings.Repeat("e", 300) + `"}`,
			normalize.Event{Kind: "error"}, "sha256:" + "a5d39ce9f9d94f230e9a442bdf53e694cee094ed4e89ccd23b4dac9bb25df354"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := p.Parse(&providers.Request{Body: []byte(`{"action":"created","data":{"error":` + tt.data + `}}`)})
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Events) != 1 || !reflect.DeepEqual(d.Events[0], tt.want) {
				t.Fatalf("got %+v, want %+v", d.Events, tt.want)
			}
			if tt.id != "" && d.ID != tt.id {
				t.Fatalf("id %q, want %q", d.ID, tt.id)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	tests := []struct {
		resource, body string
		want           error
		field          string // for ErrInvalidPayload: the field named in the 422
	}{
		{"", `{"data":`, providers.ErrMalformedJSON, ""},
		{"", `not json`, providers.ErrMalformedJSON, ""},
		{"", `[{"data":{}}]`, providers.ErrMalformedJSON, ""},
		{"", `"error"`, providers.ErrMalformedJSON, ""},
		{"", `null`, providers.ErrMalformedJSON, ""},
		{"", ``, providers.ErrMalformedJSON, ""},
		{"", `{}`, providers.ErrInvalidPayload, "data"},
		{"", `{"data":{"something":"else"}}`, providers.ErrInvalidPayload, "data"},
		{"", `{"action":["created"],"data":{"error":{}}}`, providers.ErrInvalidPayload, "action"},
		{"error", `{"action":"created"}`, providers.ErrInvalidPayload, "data"},
		{"error", `{"action":"created","data":[]}`, providers.ErrInvalidPayload, "data"},
		{"error", `{"action":"created","data":{}}`, providers.ErrInvalidPayload, "data.error"},
		{"error", `{"action":"created","data":{"error":"boom"}}`, providers.ErrInvalidPayload, "data.error"},
		{"event_alert", `{"action":"triggered","data":{"error":{}}}`, providers.ErrInvalidPayload, "data.event"},
		{"", `{"data":{"error":{"title":{"text":"x"}}}}`, providers.ErrInvalidPayload, "data.error.title"},
		{"", `{"data":{"error":{"user":"usr_48213"}}}`, providers.ErrInvalidPayload, "data.error.user"},
		{"", `{"data":{"error":{"user":{"email":["a@b"]}}}}`, providers.ErrInvalidPayload, "data.error.user.email"},
		{"", `{"data":{"error":{"contexts":{"replay":"r1"}}}}`, providers.ErrInvalidPayload, "data.error.contexts.replay"},
		{"", `{"data":{"event":{"request":{"url":{}}}}}`, providers.ErrInvalidPayload, "data.event.request.url"},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.resource != "" {
			h.Set(ResourceHeader, tt.resource)
		}
		_, err := p.Parse(&providers.Request{Header: h, Body: []byte(tt.body)})
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.body, err, tt.want)
			continue
		}
		if tt.field != "" {
			var fe *providers.FieldsError
			if !errors.As(err, &fe) || len(fe.Fields) != 1 || fe.Fields[0].Field != tt.field {
				t.Errorf("%s: want field %q named, got %v", tt.body, tt.field, err)
			}
		}
	}
}

func TestNumber(t *testing.T) {
	for lit, want := range map[string]string{
		"1741944978000":       "1741944978000",
		"1741944978000.0":     "1741944978000",
		"1.741944978e12":      "1741944978000",
		"1.741944978E+12":     "1741944978000",
		"12.5":                "12.5",
		"-3":                  "-3",
		"1e300":               "1e300",
		"123456789012345678":  "123456789012345678",
		"1.23456789012345e20": "1.23456789012345e20",
	} {
		if got := vendorjson.Number(lit); got != want {
			t.Errorf("vendorjson.Number(%s) = %s, want %s", lit, got, want)
		}
	}
}

func FuzzVerify(f *testing.F) {
	for _, b := range providertest.Fixtures(f, "*.json") {
		f.Add(b, sign("sentry_test_client_secret_0123456789abcdef", b))
	}
	f.Add([]byte(`{}`), "3492a50dd2f08aa430170aa7cacb89ef145f1f09e596a77e7796a64e1bdbff21")
	p := providertest.New[*Provider](f, New, providers.Settings{Secrets: []string{"sentry_test_client_secret_0123456789abcdef", "b"}})
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		h := http.Header{}
		h.Set(SignatureHeader, sig)
		err := p.Verify(&providers.Request{Header: h, Body: body, Now: now})
		if err != nil && !errors.Is(err, providers.ErrInvalidSignature) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		if err == nil && !providers.EqualHex(sig, providers.HMACSHA256([]byte("sentry_test_client_secret_0123456789abcdef"), body)) &&
			!providers.EqualHex(sig, providers.HMACSHA256([]byte("b"), body)) {
			t.Fatalf("accepted a signature that matches no secret: %q", sig)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, b := range providertest.Fixtures(f, "*.json") {
		f.Add(b, "")
		f.Add(b, "error")
	}
	f.Add([]byte(`{"data":{"event":{"tags":[[1,2],{"key":null}]}}}`), "event_alert")
	p := providertest.New[*Provider](f, New, providers.Settings{Secrets: []string{"a"}})
	f.Fuzz(func(t *testing.T, body []byte, resource string) {
		h := http.Header{}
		h.Set(ResourceHeader, resource)
		d, err := p.Parse(&providers.Request{Header: h, Body: body, Now: now})
		if err != nil {
			if !errors.Is(err, providers.ErrMalformedJSON) && !errors.Is(err, providers.ErrInvalidPayload) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if d == nil || d.Ignored == "" && len(d.Events) == 0 {
			t.Fatalf("parsed into nothing and not ignored: %+v", d)
		}
		if len(d.ID) > vendorjson.MaxIDBytes+len("sha256:")+64 {
			t.Fatalf("unbounded id of %d bytes", len(d.ID))
		}
	})
}

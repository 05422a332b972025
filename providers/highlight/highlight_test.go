package highlight

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/providertest"
)

var now = time.Date(2025, 3, 14, 9, 41, 9, 0, time.UTC)

const (
	session = "Lq3vTz9YbH2kXw7RmN4cPd8sJf0a"
	email   = "dana.whitfield@example.com"
)

// testdata/new-session-alert.json is a byte-for-byte copy of Highlight's
// sample new-session alert; its SHA-256 pins that, so an edit to the
// sample shows up here.
func TestSharedFixtureIsVerbatim(t *testing.T) {
	const want = "d177a15b75b24131c100fee1032e49c0d68106166d2199b145c6347f27e78566"
	sum := sha256.Sum256(providertest.Fixtures(t, "")["new-session-alert.json"])
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("testdata/new-session-alert.json is not the shared vendor sample (sha256 %s)", got)
	}
}

// Highlight does not sign, and its static secret does not cover the body,
// so providertest.Run's "tampered body" and "appended byte" cases cannot
// pass (see TestSecretDoesNotCoverBody). Until the suite can skip those for
// static-secret schemes, this runs every other case of the suite.
func TestConformance(t *testing.T) {
	for _, header := range []string{"", "X-Highlight-Token"} {
		t.Run("header="+header, func(t *testing.T) {
			staticConformance(t, providers.Settings{Secrets: []string{"old-hl-secret", "new-hl-secret"}, SecretHeader: header}, providertest.Fixtures(t, ""))
		})
	}
}

// staticConformance runs the shared conformance suite for a static-secret
// scheme: every case but body tampering, which a static secret cannot catch.
func staticConformance(t *testing.T, settings providers.Settings, fx map[string][]byte) {
	t.Helper()
	authHeader := settings.SecretHeader
	if authHeader == "" {
		authHeader = "Authorization"
	}
	p, err := New(settings)
	if err != nil {
		t.Fatal(err)
	}
	providertest.Run(t, providertest.Case{
		Factory: New, Settings: settings, Signer: p.(providers.Signer), Fixtures: fx, Now: now,
		StaticSecret: true, AuthHeaders: []string{authHeader},
	})
}

// A documented limit: the static secret authenticates the sender but does
// not cover the body.
func TestSecretDoesNotCoverBody(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"tok"}})
	h := p.Sign([]byte(`{"Event":"A"}`), "tok", now)
	if err := p.Verify(&providers.Request{Header: h, Body: []byte(`{"Event":"B"}`), Now: now}); err != nil {
		t.Fatalf("static secret check unexpectedly depends on the body: %v", err)
	}
}

func TestVerify(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s1", "s2"}})
	custom := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s1"}, SecretHeader: "X-Highlight-Token"})
	tests := []struct {
		name   string
		p      *Provider
		header http.Header
		ok     bool
	}{
		{"bearer, first secret", p, http.Header{"Authorization": {"Bearer s1"}}, true},
		{"bearer, rotated secret", p, http.Header{"Authorization": {"Bearer s2"}}, true},
		{"bearer scheme in any case", p, http.Header{"Authorization": {"bearer s2"}}, true},
		{"wrong secret", p, http.Header{"Authorization": {"Bearer s3"}}, false},
		{"secret prefix only", p, http.Header{"Authorization": {"Bearer s"}}, false},
		{"plain secret without Bearer", p, http.Header{"Authorization": {"s1"}}, false},
		{"over 4 KiB", p, http.Header{"Authorization": {"Bearer " + strings.Repeat("s", providers.MaxHeaderBytes)}}, false},
		{"custom header", custom, http.Header{"X-Highlight-Token": {"s1"}}, true},
		{"custom header ignores Authorization", custom, http.Header{"Authorization": {"Bearer s1"}}, false},
		{"custom header over 4 KiB", custom, http.Header{"X-Highlight-Token": {strings.Repeat("s", providers.MaxHeaderBytes+1)}}, false},
		{"nothing", p, http.Header{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Verify(&providers.Request{Header: tt.header, Body: []byte(`{}`), Now: now})
			if tt.ok && err != nil || !tt.ok && !errors.Is(err, providers.ErrInvalidSignature) {
				t.Fatalf("got %v, want ok=%v", err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), "s1") {
				t.Fatalf("reason leaks the secret: %v", err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	if _, err := New(providers.Settings{}); err == nil {
		t.Fatal("a source with no secret must not start")
	}
	p := providertest.New[*Provider](t, New, providers.Settings{Unsigned: true})
	if err := p.Verify(&providers.Request{Header: http.Header{}, Body: []byte(`{}`)}); err != nil {
		t.Fatalf("an unsigned source accepts everything: %v", err)
	}
}

func TestParseFixtures(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	longTitle := "TypeError: Cannot read properties of undefined (reading 'last4')\n    at PaymentForm.render (checkout.js:212:31)\n    at renderWithHooks (react-dom.production.min.js:160:137) — Zahlungsformular «kaputt» 支払いフォーム"
	tests := []struct {
		file    string
		ignored string
		event   *normalize.Event
	}{
		{file: "new-session-alert.json", event: &normalize.Event{Kind: "session", Label: "New session",
			URL: "https://shop.example.com/checkout?step=payment", Time: now, SessionID: session, UserID: email, Email: email}},
		{file: "new-session-anonymous.json", event: &normalize.Event{Kind: "session", Label: "New session",
			URL: "https://shop.example.com/products/trail-runner-2", Time: now, SessionID: "Vb7nQ2xLm9KcRt4WpZ8sHd3Ga1e"}},
		{file: "new-user-alert.json", event: &normalize.Event{Kind: "session", Label: "New user",
			Time: now, SessionID: session, UserID: "usr_48213", Email: email}},
		{file: "error-alert.json", event: &normalize.Event{Kind: "error", Label: "PaymentDeclinedError: card_declined",
			URL: "https://shop.example.com/checkout?step=payment", Time: now, SessionID: session, UserID: email, Email: email}},
		{file: "error-alert-v2-odd.json", event: &normalize.Event{Kind: "error", Label: longTitle,
			Time: now, SessionID: session, UserID: "usr_48213"}},
		{file: "rage-click-alert.json", event: &normalize.Event{Kind: "click", Label: "Rage click (7 clicks)",
			Title: "Rage click (7 clicks)", Description: "User rage-clicked 7 times", Time: now, SessionID: session, UserID: email, Email: email}},
		{file: "session-feedback-alert.json", event: &normalize.Event{Kind: "note",
			Label: "Le paiement ne passe pas 😕 — carte refusée deux fois.\nJ'abandonne.",
			Time:  now, SessionID: session, UserID: email, Email: email}},
		{file: "user-properties-alert.json", event: &normalize.Event{Kind: "custom", Label: "User properties matched: plan=pro",
			Time: now, SessionID: session, UserID: email, Email: email}},
		{file: "session-alert-v2.json", event: &normalize.Event{Kind: "session", Label: "Session alert: Checkout visitors",
			Time: now, SessionID: session, UserID: email, Email: email}},
		{file: "track-properties-alert.json", ignored: `highlight track properties alert ("NEW_USER_ALERT") names no session`},
		{file: "metric-monitor-alert.json", ignored: `highlight metric/log/trace alert ("NEW_USER_ALERT") names no session`},
	}
	fx := providertest.Fixtures(t, "")
	if len(tests) != len(fx) {
		t.Fatalf("%d fixtures but %d table rows: map every fixture", len(fx), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, ok := fx[tt.file]
			if !ok {
				t.Fatalf("missing fixture %s", tt.file)
			}
			d, err := p.Parse(&providers.Request{Body: body, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if d.ID == "" && d.Ignored == "" {
				t.Fatal("no delivery id")
			}
			if d.Ignored != tt.ignored {
				t.Fatalf("ignored %q, want %q", d.Ignored, tt.ignored)
			}
			var want []normalize.Event
			if tt.event != nil {
				want = []normalize.Event{*tt.event}
			}
			if !reflect.DeepEqual(d.Events, want) {
				t.Fatalf("events\n got %+v\nwant %+v", d.Events, want)
			}
		})
	}
}

// The sender labels most alert kinds NEW_USER_ALERT; the kind must follow
// the fields, whatever Event says.
func TestKindIgnoresEventLabel(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	for _, label := range []string{"NEW_USER_ALERT", "ERROR_ALERT", "NEW_SESSION_ALERT", "", "anything"} {
		body := `{"Event":"` + label + `","RageClicksCount":3,"SessionURL":"https://app.highlight.io/1/sessions/abc"}`
		d, err := p.Parse(&providers.Request{Body: []byte(body), Now: now})
		if err != nil || len(d.Events) != 1 || d.Events[0].Kind != "click" || d.Events[0].Label != "Rage click (3 clicks)" {
			t.Errorf("Event=%q: %+v, %v", label, d, err)
		}
	}
}

func TestParseDetails(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	tests := []struct {
		name string
		body string
		want normalize.Event
	}{
		{"session id from a URL with a query and a fragment", `{"SessionURL":"https://h/1/sessions/abc?page=1#x","VisitedURL":null}`,
			normalize.Event{Kind: "session", Label: "New session", SessionID: "abc", Time: now}},
		{"explicit secure id wins over the URL", `{"SecureID":"fromid","SessionURL":"https://h/1/sessions/fromurl"}`,
			normalize.Event{Kind: "session", Label: "Session alert", SessionID: "fromid", Time: now}},
		{"feedback by name: not a user id", `{"SessionCommentURL":"https://h/1/sessions/abc/commentId=3","UserIdentifier":"Dana Whitfield","CommentText":"hi"}`,
			normalize.Event{Kind: "note", Label: "hi", SessionID: "abc", Time: now}},
		{"feedback placeholder Someone: not a user id", `{"SessionCommentURL":"https://h/1/sessions/abc?commentId=3","UserIdentifier":"Someone","CommentText":"hi"}`,
			normalize.Event{Kind: "note", Label: "hi", SessionID: "abc", Time: now}},
		{"UserProperties.email wins as the email", `{"SessionURL":"https://h/1/sessions/abc","UserIdentifier":"a@b.co","UserProperties":{"Email":"c@d.co","n":5}}`,
			normalize.Event{Kind: "session", Label: "New user", SessionID: "abc", UserID: "a@b.co", Email: "c@d.co", Time: now}},
		{"rage count as a string", `{"SessionURL":"https://h/1/sessions/abc","RageClicksCount":"1"}`,
			normalize.Event{Kind: "click", Label: "Rage click (1 click)", Title: "Rage click (1 click)", Description: "User rage-clicked once", SessionID: "abc", Time: now}},
		{"rage count unusable", `{"SessionURL":"https://h/1/sessions/abc","RageClicksCount":"many"}`,
			normalize.Event{Kind: "click", Label: "Rage click", Title: "Rage click", Description: "User rage-clicked", SessionID: "abc", Time: now}},
		{"URL-encoded secure id", `{"SessionURL":"https://h/1/sessions/a%2Db","ErrorTitle":"E"}`,
			normalize.Event{Kind: "error", Label: "E", SessionID: "a-b", Time: now}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := p.Parse(&providers.Request{Body: []byte(tt.body), Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Events) != 1 || !reflect.DeepEqual(d.Events[0], tt.want) {
				t.Fatalf("got %+v (ignored %q), want %+v", d.Events, d.Ignored, tt.want)
			}
		})
	}
}

func TestParseIgnored(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	for _, body := range []string{
		`{"Event":"LOG","Name":"Payment errors","Query":"level=error","Count":12,"Threshold":10,"BelowThreshold":false,"AlertURL":"https://h/1/alerts/logs/4"}`,
		`{"Event":"ERROR_ALERT","ErrorTitle":"E","SessionURL":"","SessionExcluded":true}`,
		`{"Event":"ALERT_CREATED","AlertUrl":"https://h/1/alerts/9","AlertName":"x","AdminName":"Ops"}`,
		`{"Event":"NEW_USER_ALERT"}`,
	} {
		d, err := p.Parse(&providers.Request{Body: []byte(body), Now: now})
		if err != nil || d.Ignored == "" || len(d.Events) != 0 {
			t.Errorf("%s: want ignored, got %+v, %v", body, d, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	tests := []struct {
		body, field string
		want        error
	}{
		{`{"Event":`, "", providers.ErrMalformedJSON},
		{`[{"Event":"NEW_USER_ALERT"}]`, "", providers.ErrMalformedJSON},
		{`"NEW_USER_ALERT"`, "", providers.ErrMalformedJSON},
		{``, "", providers.ErrMalformedJSON},
		{`{}`, "body", providers.ErrInvalidPayload},
		{`{"event_name":"x"}`, "body", providers.ErrInvalidPayload},
		{`{"SessionURL":{"href":"x"}}`, "SessionURL", providers.ErrInvalidPayload},
		{`{"SessionURL":"https://h/1/sessions/a","UserProperties":"email=x"}`, "UserProperties", providers.ErrInvalidPayload},
		{`{"SessionURL":"https://h/1/sessions/a","MatchedProperties":{"Key":"k"}}`, "MatchedProperties", providers.ErrInvalidPayload},
		{`{"SessionURL":"https://h/1/sessions/a","MatchedProperties":[{"Key":["k"]}]}`, "MatchedProperties.Key", providers.ErrInvalidPayload},
	}
	for _, tt := range tests {
		_, err := p.Parse(&providers.Request{Body: []byte(tt.body), Now: now})
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

func TestLooksLikeEmail(t *testing.T) {
	for s, want := range map[string]bool{
		"dana.whitfield@example.com": true,
		"a@b.co":                     true,
		"usr_48213":                  false,
		"Someone":                    false,
		"a@b":                        false,
		"@example.com":               false,
		"a@@b.co":                    false,
		"a b@c.co":                   false,
		"a@.co":                      false,
		"a@co.":                      false,
	} {
		if got := looksLikeEmail(s); got != want {
			t.Errorf("looksLikeEmail(%q) = %v", s, got)
		}
	}
}

func FuzzVerify(f *testing.F) {
	for _, b := range providertest.Fixtures(f, "") {
		f.Add(b, "Bearer a")
	}
	f.Add([]byte("{}"), "Bearer "+strings.Repeat("x", 5000))
	p := providertest.New[*Provider](f, New, providers.Settings{Secrets: []string{"a", "b"}})
	f.Fuzz(func(t *testing.T, body []byte, auth string) {
		err := p.Verify(&providers.Request{Header: http.Header{"Authorization": {auth}}, Body: body, Now: now})
		if err != nil && !errors.Is(err, providers.ErrInvalidSignature) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, b := range providertest.Fixtures(f, "") {
		f.Add(b)
	}
	p := providertest.New[*Provider](f, New, providers.Settings{Secrets: []string{"a"}})
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := p.Parse(&providers.Request{Body: body, Now: now})
		if err != nil {
			if !errors.Is(err, providers.ErrMalformedJSON) && !errors.Is(err, providers.ErrInvalidPayload) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if d == nil || d.Ignored == "" && len(d.Events) != 1 {
			t.Fatalf("want one event or an ignore reason, got %+v", d)
		}
	})
}

// Highlight sends no id and no time: an error instance is one occurrence;
// other identical alerts count once within RepeatWindow (a retry), and are
// stored again after it (a genuine repeat).
func TestDeliveryIDSeparatesRepeats(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	fx := providertest.Fixtures(t, "")
	id := func(file string, at time.Time) string {
		d, err := p.Parse(&providers.Request{Body: fx[file], Now: at})
		if err != nil {
			t.Fatal(err)
		}
		return d.ID
	}
	start := now.Truncate(RepeatWindow)
	if a, b := id("new-session-alert.json", start), id("new-session-alert.json", start.Add(RepeatWindow-time.Second)); a != b {
		t.Fatalf("a retry inside the window is the same delivery: %q vs %q", a, b)
	}
	if a, b := id("new-session-alert.json", start), id("new-session-alert.json", start.Add(RepeatWindow)); a == b {
		t.Fatalf("a repeat after the window is a new delivery: %q", a)
	}
	if a, b := id("error-alert-v2-odd.json", start), id("error-alert-v2-odd.json", start.Add(time.Hour)); a != b || !strings.HasPrefix(a, "instance:") {
		t.Fatalf("an error instance is one occurrence whenever it comes: %q vs %q", a, b)
	}
}

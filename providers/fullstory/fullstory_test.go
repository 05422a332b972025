package fullstory

import (
	"encoding/base64"
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

// now is the signed timestamp of the shared fixture's known-answer header.
var now = time.Unix(1741945270, 0).UTC()

const (
	session = "5208840365768704:6473931853987840"
	device  = "5208840365768704"
)

func TestConformanceV1Webhooks(t *testing.T) {
	settings := providers.Settings{Secrets: []string{"old-fs-secret", "new-fs-secret"}, Tolerance: 5 * time.Minute}
	providertest.Run(t, providertest.Case{
		Factory:        New,
		Settings:       settings,
		Signer:         providertest.New[*Provider](t, New, settings),
		Fixtures:       providertest.Fixtures(t, "v1-*.json"),
		Now:            now,
		SignsTimestamp: true,
		AuthHeaders:    []string{SignatureHeader},
	})
}

// Streams authenticate with a static bearer token that does not cover the
// body, so providertest.Run's "tampered body" and "appended byte" cases
// cannot pass for them (see TestStreamsTokenDoesNotCoverBody). Until the
// suite can skip those for static-secret schemes, staticConformance runs
// every other case of the suite against the Streams fixtures.
func TestConformanceStreams(t *testing.T) {
	settings := providers.Settings{Secrets: []string{"old-stream-token", "new-stream-token"}, Tolerance: 5 * time.Minute}
	staticConformance(t, settings, providertest.Fixtures(t, "streams-*.json"), "Authorization")
}

func TestConformanceStreamsCustomHeader(t *testing.T) {
	settings := providers.Settings{Secrets: []string{"old-stream-token", "new-stream-token"}, SecretHeader: "X-Replayhook-Token"}
	staticConformance(t, settings, providertest.Fixtures(t, "streams-*.json"), "X-Replayhook-Token")
}

// staticConformance mirrors providertest.Run minus the body-tampering cases.
// staticConformance runs the shared conformance suite for a static-secret
// scheme: every case but body tampering, which a static secret cannot catch.
func staticConformance(t *testing.T, settings providers.Settings, fx map[string][]byte, authHeader string) {
	t.Helper()
	p, err := New(settings)
	if err != nil {
		t.Fatal(err)
	}
	providertest.Run(t, providertest.Case{
		Factory: New, Settings: settings, Signer: p.(providers.Signer), Fixtures: fx, Now: now,
		StaticSecret: true, AuthHeaders: []string{authHeader},
	})
}

// A documented limit of the Streams scheme: the bearer token authenticates
// the sender but does not cover the body. If this test starts failing,
// Streams gained a body signature and the suite's tamper cases apply.
func TestStreamsTokenDoesNotCoverBody(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"tok"}})
	body := []byte(`{"target_text":"Place order"}`)
	h := p.Sign(body, "tok", now)
	if err := p.Verify(&providers.Request{Header: h, Body: []byte(`{"target_text":"Other"}`), Now: now}); err != nil {
		t.Fatalf("bearer token check unexpectedly depends on the body: %v", err)
	}
}

// The vendor's published known-answer vector, over the exact bytes of
// the vendor sample it was computed on (testdata/v1-recording.event.custom.json).
func TestKnownAnswer(t *testing.T) {
	const header = "o:o-1A2B3C-na1,t:1741945270,v:QvuVQluSCKOpMrZfkJSSUb24NCcas7hZ4nSJgpVfI2s="
	body := providertest.Fixtures(t, "v1-recording.event.custom.json")["v1-recording.event.custom.json"]
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"fs_test_secret_do_not_use"}, Tolerance: 5 * time.Minute})
	h := http.Header{}
	h.Set(SignatureHeader, header)
	if err := p.Verify(&providers.Request{Header: h, Body: body, Now: now}); err != nil {
		t.Fatalf("known vector rejected: %v", err)
	}
	if got := p.Sign(body, "fs_test_secret_do_not_use", now).Get(SignatureHeader); got != header {
		t.Fatalf("Sign does not reproduce the vendor header:\n got %s\nwant %s", got, header)
	}
	for _, at := range []time.Time{now.Add(5*time.Minute + time.Second), now.Add(-5*time.Minute - time.Second)} {
		if err := p.Verify(&providers.Request{Header: h, Body: body, Now: at}); !errors.Is(err, providers.ErrStaleTimestamp) {
			t.Fatalf("at %s: want ErrStaleTimestamp, got %v", at, err)
		}
	}
	if err := p.Verify(&providers.Request{Header: h, Body: body[:len(body)-1], Now: now}); !errors.Is(err, providers.ErrInvalidSignature) {
		t.Fatalf("body without its trailing newline must not verify: %v", err)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"eventName":"recording.event.custom","version":1,"data":{}}`)
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s1", "s2"}, Tolerance: time.Minute})
	mac := func(secret, org, ts string) string {
		return base64.StdEncoding.EncodeToString(providers.HMACSHA256([]byte(secret), body, []byte(":"+org+":"+ts)))
	}
	ts := "1741945270"
	good := "o:o-1,t:" + ts + ",v:" + mac("s2", "o-1", ts)
	tests := []struct {
		name   string
		header http.Header
		want   error // nil, ErrInvalidSignature or ErrStaleTimestamp
	}{
		{"good", http.Header{SignatureHeader: {good}}, nil},
		{"spaces after commas", http.Header{SignatureHeader: {"o:o-1, t:" + ts + ", v:" + mac("s1", "o-1", ts)}}, nil},
		{"fields in another order", http.Header{SignatureHeader: {"v:" + mac("s1", "o-1", ts) + ",t:" + ts + ",o:o-1"}}, nil},
		{"several v entries, one good", http.Header{SignatureHeader: {"o:o-1,t:" + ts + ",v:" + mac("old", "o-1", ts) + ",v:" + mac("s1", "o-1", ts)}}, nil},
		{"unpadded base64", http.Header{SignatureHeader: {"o:o-1,t:" + ts + ",v:" + strings.TrimRight(mac("s1", "o-1", ts), "=")}}, nil},
		{"unknown extra key tolerated", http.Header{SignatureHeader: {good + ",x:future"}}, nil},
		{"org is signed", http.Header{SignatureHeader: {"o:o-2,t:" + ts + ",v:" + mac("s2", "o-1", ts)}}, providers.ErrInvalidSignature},
		{"the right MAC, non-canonical base64", http.Header{SignatureHeader: {"o:o-1,t:" + ts + ",v:" + providertest.NonCanonicalBase64(mac("s2", "o-1", ts))}}, providers.ErrInvalidSignature},
		{"the right MAC, non-canonical unpadded base64", http.Header{SignatureHeader: {"o:o-1,t:" + ts + ",v:" + strings.TrimRight(providertest.NonCanonicalBase64(mac("s2", "o-1", ts)), "=")}}, providers.ErrInvalidSignature},
		{"timestamp is signed", http.Header{SignatureHeader: {"o:o-1,t:1741945271,v:" + mac("s2", "o-1", ts)}}, providers.ErrInvalidSignature},
		{"timestamp text is signed as sent", http.Header{SignatureHeader: {"o:o-1,t:0" + ts + ",v:" + mac("s2", "o-1", ts)}}, providers.ErrInvalidSignature},
		{"wrong secret", http.Header{SignatureHeader: {"o:o-1,t:" + ts + ",v:" + mac("nope", "o-1", ts)}}, providers.ErrInvalidSignature},
		{"hex instead of base64", http.Header{SignatureHeader: {"o:o-1,t:" + ts + ",v:0a1b"}}, providers.ErrInvalidSignature},
		{"negative timestamp", http.Header{SignatureHeader: {"o:o-1,t:-5,v:" + mac("s1", "o-1", "-5")}}, providers.ErrInvalidSignature},
		{"huge timestamp", http.Header{SignatureHeader: {"o:o-1,t:99999999999999999999,v:" + mac("s1", "o-1", "99999999999999999999")}}, providers.ErrInvalidSignature},
		{"two timestamps", http.Header{SignatureHeader: {good + ",t:" + ts}}, providers.ErrInvalidSignature},
		{"no org", http.Header{SignatureHeader: {"t:" + ts + ",v:" + mac("s1", "", ts)}}, providers.ErrInvalidSignature},
		{"no v", http.Header{SignatureHeader: {"o:o-1,t:" + ts}}, providers.ErrInvalidSignature},
		{"empty", http.Header{SignatureHeader: {""}}, providers.ErrInvalidSignature},
		{"two headers", http.Header{SignatureHeader: {good, good}}, providers.ErrInvalidSignature},
		{"too long", http.Header{SignatureHeader: {good + ",x:" + strings.Repeat("a", providers.MaxHeaderBytes)}}, providers.ErrInvalidSignature},
		{"signed but late", http.Header{SignatureHeader: {"o:o-1,t:1741945000,v:" + mac("s1", "o-1", "1741945000")}}, providers.ErrStaleTimestamp},
		{"bearer secret without signature header (Streams)", http.Header{"Authorization": {"Bearer s1"}}, nil},
		{"bearer does not rescue a bad signature", http.Header{"Authorization": {"Bearer s1"}, SignatureHeader: {"o:o-1,t:" + ts + ",v:AAAA"}}, providers.ErrInvalidSignature},
		{"wrong bearer", http.Header{"Authorization": {"Bearer s3"}}, providers.ErrInvalidSignature},
		{"bearer over 4 KiB", http.Header{"Authorization": {"Bearer s1" + strings.Repeat(" ", providers.MaxHeaderBytes)}}, providers.ErrInvalidSignature},
		{"nothing", http.Header{}, providers.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Verify(&providers.Request{Header: tt.header, Body: body, Now: now})
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if err != nil && (strings.Contains(err.Error(), "s1") || strings.Contains(err.Error(), mac("s2", "o-1", ts))) {
				t.Fatalf("reason leaks a secret or an expected signature: %v", err)
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
		t.Fatalf("unsigned source must accept: %v", err)
	}
	// A zero tolerance means providers.DefaultTolerance.
	p = providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"x"}})
	body := []byte(`{"eventName":"recording.event.custom","version":1,"data":{}}`)
	signed := p.Sign(body, "x", now)
	for skew, want := range map[time.Duration]error{providers.DefaultTolerance - time.Second: nil, providers.DefaultTolerance + time.Second: providers.ErrStaleTimestamp} {
		if err := p.Verify(&providers.Request{Header: signed, Body: body, Now: now.Add(skew)}); !errors.Is(err, want) {
			t.Fatalf("skew %s: got %v, want %v", skew, err, want)
		}
	}
}

func TestSignChoosesScheme(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"x"}})
	for body, want := range map[string]string{
		`{"eventName":"note.created","data":{}}`: SignatureHeader,
		`{"target_text":"eventName"}`:            "Authorization",
		`[{"target_text":"x"}]`:                  "Authorization",
	} {
		h := p.Sign([]byte(body), "x", now)
		if h.Get(want) == "" {
			t.Errorf("%s: want a %s header, got %v", body, want, h)
		}
	}
}

func TestParseFixtures(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	longLabel := "Retry payment — a very long element name that a customer's design system generated from nested component names: CheckoutPage › PaymentStep › PaymentForm › ActionsRow › PrimaryButton › RetryPaymentButtonWithSpinnerAndTooltipAndAnalyticsWrapper"
	tests := []struct {
		file       string
		ignored    string
		events     []normalize.Event
		identities []normalize.Identity
	}{
		{file: "v1-recording.event.custom.json", events: []normalize.Event{{
			Kind: "custom", Label: "Checkout Failed", URL: "https://shop.example.com/checkout?step=payment",
			Time: providertest.At("2025-03-14T09:41:07.412Z"), SessionID: session, AnonymousID: device,
		}}},
		{file: "v1-note.created.json", events: []normalize.Event{{
			Kind: "note", Label: `Card declined twice on the payment step, then the user gave up. Same "card_declined" loop as ticket #4411.`,
			URL: "https://shop.example.com/checkout?step=payment", Time: providertest.At("2025-03-14T09:41:07.412Z"),
			SessionID: session, AnonymousID: device,
		}}},
		{file: "v1-custom-odd.json", events: []normalize.Event{{
			Kind: "custom", Label: "Zahlung fehlgeschlagen — 支払い失敗 ✗",
			URL:  "https://shop.example.com/checkout?step=payment&utm_source=n%C3%BCtzlich",
			Time: providertest.At("2025-03-14T09:41:07.412Z"), SessionID: session, AnonymousID: device,
		}}},
		{file: "v1-segment.created.json", ignored: `fullstory event type "segment.created" is not stored`},
		// The Webhooks destination's v2 event: the user is user.uid.
		{file: "v2-webhooks-destination-event.json", events: []normalize.Event{{
			Kind: "custom", Label: "Checkout Failed", URL: "https://shop.example.com/checkout?step=payment",
			Time: providertest.At("2025-03-14T09:41:07.412Z"), SessionID: session, AnonymousID: device,
			UserID: "usr_48213", Email: "dana.whitfield@example.com",
		}}, identities: []normalize.Identity{{AnonymousID: device, UserID: "usr_48213", Email: "dana.whitfield@example.com"}}},
		{file: "streams-click.json", events: []normalize.Event{{
			Kind: "click", Label: "Place order", URL: "https://shop.example.com/checkout?step=payment",
			Time: providertest.At("2025-03-14T09:41:05.118Z"), SessionID: session, AnonymousID: device,
			UserID: "usr_48213", Email: "dana.whitfield@example.com",
		}}, identities: []normalize.Identity{{AnonymousID: device, UserID: "usr_48213", Email: "dana.whitfield@example.com"}}},
		{file: "streams-anonymous.json", events: []normalize.Event{{
			Kind: "click", Label: "Add to cart", URL: "https://shop.example.com/products/trail-runner-2",
			Time: providertest.At("2025-03-14T09:38:21Z"), SessionID: session, AnonymousID: device,
		}}},
		{file: "streams-batch-odd.json", events: []normalize.Event{{
			Kind: "click", Label: "Zahlung\n bestätigen ✓", URL: "https://shop.example.com/checkout?step=payment",
			Time: providertest.At("2025-03-14T09:41:06.25Z"), SessionID: session, AnonymousID: device,
			UserID: "usr_48213", Email: "dana.whitfield@example.com",
		}, {
			Kind: "click", Label: longLabel, URL: "https://shop.example.com/checkout?step=payment",
			Time: providertest.At("2025-03-14T09:41:08.5Z"), SessionID: session, AnonymousID: device,
		}}, identities: []normalize.Identity{{AnonymousID: device, UserID: "usr_48213", Email: "dana.whitfield@example.com"}}},
	}
	fx := providertest.Fixtures(t, "*.json")
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
			// A note is its id; everything else the body hash (its own
			// event timestamps tell genuine repeats apart).
			wantID := ""
			if tt.file == "v1-note.created.json" {
				wantID = "note:8214kq55031977"
			}
			if d.ID != wantID {
				t.Fatalf("delivery id %q, want %q", d.ID, wantID)
			}
			if d.Ignored != tt.ignored {
				t.Fatalf("ignored %q, want %q", d.Ignored, tt.ignored)
			}
			if !reflect.DeepEqual(d.Events, tt.events) {
				t.Fatalf("events\n got %+v\nwant %+v", d.Events, tt.events)
			}
			if !reflect.DeepEqual(d.Identities, tt.identities) {
				t.Fatalf("identities\n got %+v\nwant %+v", d.Identities, tt.identities)
			}
		})
	}
}

// The v1 webhook and a Streams row of the same FullStory session must land
// in the same replayhook session, or one person's activity splits in two.
func TestV1AndStreamsAgreeOnSession(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	fx := providertest.Fixtures(t, "*.json")
	v1, err := p.Parse(&providers.Request{Body: fx["v1-recording.event.custom.json"]})
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Parse(&providers.Request{Body: fx["streams-click.json"]})
	if err != nil {
		t.Fatal(err)
	}
	if v1.Events[0].SessionID != st.Events[0].SessionID || v1.Events[0].AnonymousID != st.Events[0].AnonymousID {
		t.Fatalf("v1 %q/%q vs Streams %q/%q", v1.Events[0].SessionID, v1.Events[0].AnonymousID, st.Events[0].SessionID, st.Events[0].AnonymousID)
	}
}

func TestSessionFromURL(t *testing.T) {
	tests := []struct{ in, session, device string }{
		{"https://app.fullstory.com/ui/o-1/session/520:647", "520:647", "520"},
		{"https://app.fullstory.com/ui/o-1/session/520%3A647", "520:647", "520"},
		{"https://app.fullstory.com/ui/o-1/session/520%3a647?x=1#t", "520:647", "520"},
		{"https://app.fullstory.com/ui/o-1/discover/session/520:647/", "520:647", "520"},
		{"https://app.fullstory.com/ui/TN1/session/6915774531905556:5557778531805533!1110765439578976", "6915774531905556:5557778531805533", "6915774531905556"},
		{"https://app.eu1.fullstory.com/ui/o-1/session/520:", "520:", ""},
		{"https://app.fullstory.com/ui/o-1/session/%zz", "%zz", ""},
		{"https://app.fullstory.com/ui/o-1/segments/everyone", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		s, d := sessionFromURL(tt.in)
		if s != tt.session || d != tt.device {
			t.Errorf("%q → %q, %q; want %q, %q", tt.in, s, d, tt.session, tt.device)
		}
	}
}

func TestStreamTime(t *testing.T) {
	tests := []struct {
		name, unix, iso string
		want            time.Time
	}{
		{"seconds refined by the ISO time of the same second", "1741945265", "2025-03-14T09:41:05.118Z", providertest.At("2025-03-14T09:41:05.118Z")},
		{"milliseconds win over a disagreeing ISO time", "1741945265118", "2025-03-14T10:00:00Z", providertest.At("2025-03-14T09:41:05.118Z")},
		{"seconds alone", "1741945265", "", providertest.At("2025-03-14T09:41:05Z")},
		{"ISO alone", "", "2025-03-14T09:41:05.118Z", providertest.At("2025-03-14T09:41:05.118Z")},
		{"unusable unix time falls back to ISO", "later", "2025-03-14T09:41:05.118Z", providertest.At("2025-03-14T09:41:05.118Z")},
		{"neither", "", "", time.Time{}},
	}
	for _, tt := range tests {
		if got := streamTime(tt.unix, tt.iso); !got.Equal(tt.want) {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestParseLeniency(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	tests := []struct {
		name string
		body string
		want normalize.Event
	}{
		{"numbers where strings are expected", `{"target_text":42,"session_id":520,"user_id":48213,"timestamp_unix":"1741945267"}`,
			normalize.Event{Kind: "click", Label: "42", SessionID: "520", UserID: "48213", Time: providertest.At("2025-03-14T09:41:07Z")}},
		{"element_name when target_text is blank", `{"target_text":"   ","element_name":"Pay","session_id":"1%3A2"}`,
			normalize.Event{Kind: "click", Label: "Pay", SessionID: "1:2", AnonymousID: "1"}},
		{"timestamp when timestamp_unix is unusable", `{"timestamp_unix":"soon","timestamp":"2025-03-14T09:41:07Z","page_url":"https://x"}`,
			normalize.Event{Kind: "click", URL: "https://x", Time: providertest.At("2025-03-14T09:41:07Z")}},
		{"note body field and created time", `{"eventName":"note.created","data":{"body":"  hi  ","created":"2025-03-14T09:41:07Z","pageUrl":"https://x"}}`,
			normalize.Event{Kind: "note", Label: "hi", URL: "https://x", Time: providertest.At("2025-03-14T09:41:07Z")}},
		{"note noteText field", `{"eventName":"note.created","data":{"noteText":"n","sessionUrl":"https://a/session/1:2"}}`,
			normalize.Event{Kind: "note", Label: "n", SessionID: "1:2", AnonymousID: "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := p.Parse(&providers.Request{Body: []byte(tt.body)})
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Events) != 1 || !reflect.DeepEqual(d.Events[0], tt.want) {
				t.Fatalf("got %+v, want %+v", d.Events, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	tests := []struct {
		body  string
		want  error
		field string // for ErrInvalidPayload: the field named in the 422
	}{
		{`{"eventName":`, providers.ErrMalformedJSON, ""},
		{`not json`, providers.ErrMalformedJSON, ""},
		{`"a string"`, providers.ErrMalformedJSON, ""},
		{`42`, providers.ErrMalformedJSON, ""},
		{`null`, providers.ErrMalformedJSON, ""},
		{``, providers.ErrMalformedJSON, ""},
		{`{"eventName":{"x":1}}`, providers.ErrInvalidPayload, "eventName"},
		{`{"eventName":"recording.event.custom"}`, providers.ErrInvalidPayload, "data"},
		{`{"eventName":"recording.event.custom","data":[1]}`, providers.ErrInvalidPayload, "data"},
		{`{"eventName":"recording.event.custom","data":{"name":["a"]}}`, providers.ErrInvalidPayload, "data.name"},
		{`{"eventName":"note.created","data":{"pageInfo":"x"}}`, providers.ErrInvalidPayload, "data.pageInfo"},
		{`{}`, providers.ErrInvalidPayload, "body"},
		{`{"type":"actions"}`, providers.ErrInvalidPayload, "body"},
		{`{"page_url":{"href":"x"}}`, providers.ErrInvalidPayload, "page_url"},
		{`[1,2]`, providers.ErrInvalidPayload, "[0]"},
		{`[{"target_text":"a"},{"session_id":[]}]`, providers.ErrInvalidPayload, "[1].session_id"},
		{`[{"target_text":"a"},{"nothing":"known"}]`, providers.ErrInvalidPayload, "[1]"},
	}
	for _, tt := range tests {
		_, err := p.Parse(&providers.Request{Body: []byte(tt.body)})
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
	d, err := p.Parse(&providers.Request{Body: []byte(`[]`)})
	if err != nil || d.Ignored == "" {
		t.Fatalf("an empty batch is acknowledged and ignored: %+v, %v", d, err)
	}
}

func FuzzVerify(f *testing.F) {
	for _, b := range providertest.Fixtures(f, "*.json") {
		f.Add(b, "o:o-1A2B3C-na1,t:1741945270,v:QvuVQluSCKOpMrZfkJSSUb24NCcas7hZ4nSJgpVfI2s=", "")
		f.Add(b, "", "Bearer fs_test_secret_do_not_use")
	}
	p := providertest.New[*Provider](f, New, providers.Settings{Secrets: []string{"fs_test_secret_do_not_use", "b"}, Tolerance: time.Minute})
	f.Fuzz(func(t *testing.T, body []byte, sig, auth string) {
		h := http.Header{}
		if sig != "" {
			h.Set(SignatureHeader, sig)
		}
		h.Set("Authorization", auth)
		err := p.Verify(&providers.Request{Header: h, Body: body, Now: now})
		if err != nil && !errors.Is(err, providers.ErrInvalidSignature) && !errors.Is(err, providers.ErrStaleTimestamp) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, b := range providertest.Fixtures(f, "*.json") {
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
		if d == nil || d.Ignored == "" && len(d.Events) == 0 {
			t.Fatalf("parsed into nothing and not ignored: %+v", d)
		}
	})
}

package autoplay

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/providertest"
)

var now = time.Date(2025, 3, 14, 9, 45, 0, 0, time.UTC)

func TestConformance(t *testing.T) {
	p, _ := New(providers.Settings{Secrets: []string{"x"}})
	providertest.Run(t, providertest.Case{
		Factory:     New,
		Settings:    providers.Settings{Secrets: []string{"old-connector-secret", "new-connector-secret"}},
		Signer:      p.(providers.Signer),
		Fixtures:    providertest.Fixtures(t, ""),
		Now:         now,
		AuthHeaders: []string{SignatureHeader},
	})
}

func TestKnownSignature(t *testing.T) {
	// Computed independently: printf '%s' '{"type":"actions"}' | openssl dgst -sha256 -hmac dev-secret
	body := []byte(`{"type":"actions"}`)
	p, _ := New(providers.Settings{Secrets: []string{"dev-secret"}})
	h := http.Header{}
	h.Set(SignatureHeader, "sha256=10ecd7bf9d3c0f09bbdc8d71a31ea4346768254e831ec77032840f277a22414b")
	err := p.Verify(&providers.Request{Header: h, Body: body, Now: now})
	want := p.(providers.Signer).Sign(body, "dev-secret", now).Get(SignatureHeader)
	if err != nil {
		t.Fatalf("known vector rejected: %v (we sign %s)", err, want)
	}
	h.Set(SignatureHeader, "SHA256=abc")
	if err := p.Verify(&providers.Request{Header: h, Body: body}); !errors.Is(err, providers.ErrInvalidSignature) {
		t.Fatalf("wrong prefix: %v", err)
	}
	bearerOnly := http.Header{"Authorization": {"Bearer dev-secret"}}
	if err := p.Verify(&providers.Request{Header: bearerOnly, Body: body}); !errors.Is(err, providers.ErrInvalidSignature) {
		t.Fatalf("a bearer token alone must not do: the signature covers the body (%v)", err)
	}
}

func TestParse(t *testing.T) {
	p, _ := New(providers.Settings{Secrets: []string{"s"}})
	fx := providertest.Fixtures(t, "")
	tests := []struct {
		file        string
		ignored     bool
		payloads    int
		summaries   int
		session     string
		user        string
		actions     int
		firstAction string
	}{
		{file: "actions-identified.json", payloads: 1, session: "ps_01959380", user: "usr_48213", actions: 2, firstAction: "pageview"},
		{file: "actions-anonymous.json", payloads: 1, session: "ps_anon_7c2e9d4a", user: "", actions: 1, firstAction: "pageview"},
		{file: "actions-odd.json", payloads: 1, session: "  ps_01959380  ", user: "usr_48213", actions: 2, firstAction: "click"},
		{file: "summary.json", summaries: 1},
		{file: "heartbeat.json", ignored: true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			d, err := p.Parse(&providers.Request{Body: fx[tt.file], Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if (d.Ignored != "") != tt.ignored || len(d.Payloads) != tt.payloads || len(d.Summaries) != tt.summaries {
				t.Fatalf("delivery %+v", d)
			}
			if d.ID != "" {
				t.Fatalf("autoplay has no delivery id; got %q", d.ID)
			}
			if tt.payloads == 0 {
				return
			}
			a := d.Payloads[0]
			if normalize.Str(a.SessionID) != tt.session || normalize.Str(a.UserID) != tt.user || len(a.Actions) != tt.actions || a.Count != tt.actions {
				t.Fatalf("payload %+v", a)
			}
			if a.Actions[0].Type != tt.firstAction {
				t.Fatalf("first action %q", a.Actions[0].Type)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	p, _ := New(providers.Settings{Secrets: []string{"s"}})
	for body, want := range map[string]error{
		`[{"type":"actions"}]`:              providers.ErrMalformedJSON,
		`{"type":"actions"`:                 providers.ErrMalformedJSON,
		`{"type":5}`:                        providers.ErrInvalidPayload,
		`{"type":"actions","actions":"no"}`: providers.ErrInvalidPayload,
		`{"type":"summary","replaces":"x"}`: providers.ErrInvalidPayload,
	} {
		_, err := p.Parse(&providers.Request{Body: []byte(body)})
		if !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", body, err, want)
		}
	}
	var fe *providers.FieldsError
	_, err := p.Parse(&providers.Request{Body: []byte(`{"type":"actions","actions":[1]}`)})
	if !errors.As(err, &fe) || fe.Fields[0].Field != "actions[0]" {
		t.Fatalf("field errors not carried: %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	for _, b := range providertest.Fixtures(f, "") {
		f.Add(b, "sha256=00")
	}
	p, _ := New(providers.Settings{Secrets: []string{"a", "b"}})
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		h := http.Header{}
		h.Set(SignatureHeader, sig)
		err := p.Verify(&providers.Request{Header: h, Body: body})
		if err != nil && !errors.Is(err, providers.ErrInvalidSignature) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, b := range providertest.Fixtures(f, "") {
		f.Add(b)
	}
	p, _ := New(providers.Settings{Secrets: []string{"a"}})
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := p.Parse(&providers.Request{Body: body})
		if err != nil {
			if !errors.Is(err, providers.ErrMalformedJSON) && !errors.Is(err, providers.ErrInvalidPayload) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if d == nil {
			t.Fatal("nil delivery without error")
		}
	})
}

package amplitude

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/providertest"
)

var now = time.Date(2025, 3, 14, 9, 41, 9, 0, time.UTC)

// Amplitude does not sign, and its static secret does not cover the body,
// so providertest.Run's "tampered body" and "appended byte" cases cannot
// pass (see TestSecretDoesNotCoverBody). Until the suite can skip those for
// static-secret schemes, staticConformance runs every other case of it,
// for the default Authorization: Bearer and for a custom header.
func TestConformance(t *testing.T) {
	for _, header := range []string{"", "X-Replayhook-Token"} {
		t.Run("secret_header="+header, func(t *testing.T) {
			staticConformance(t, providers.Settings{Secrets: []string{"old-amp-secret", "new-amp-secret"}, SecretHeader: header}, providertest.Fixtures(t, ""))
		})
	}
}

// staticConformance mirrors providertest.Run minus the body-tampering cases.
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
	h := p.Sign([]byte(`{"event_type":"A"}`), "tok", now)
	if err := p.Verify(&providers.Request{Header: h, Body: []byte(`{"event_type":"B"}`), Now: now}); err != nil {
		t.Fatalf("static secret check unexpectedly depends on the body: %v", err)
	}
}

func TestVerify(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s1", "s2"}})
	custom := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s1"}, SecretHeader: "X-Replayhook-Token"})
	tests := []struct {
		name   string
		p      *Provider
		header http.Header
		ok     bool
	}{
		{"bearer, first secret", p, providertest.Header("Authorization", "Bearer s1"), true},
		{"bearer, rotated secret", p, providertest.Header("Authorization", "Bearer s2"), true},
		{"bearer scheme in any case", p, providertest.Header("Authorization", "BEARER s2"), true},
		{"wrong secret", p, providertest.Header("Authorization", "Bearer s3"), false},
		{"secret prefix only", p, providertest.Header("Authorization", "Bearer s"), false},
		{"plain secret without Bearer", p, providertest.Header("Authorization", "s1"), false},
		{"over 4 KiB", p, providertest.Header("Authorization", "Bearer "+strings.Repeat("s", providers.MaxHeaderBytes)), false},
		{"custom header", custom, providertest.Header("X-Replayhook-Token", "s1"), true},
		{"custom header ignores Authorization", custom, providertest.Header("Authorization", "Bearer s1"), false},
		{"custom header over 4 KiB", custom, providertest.Header("X-Replayhook-Token", strings.Repeat("s", providers.MaxHeaderBytes+1)), false},
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

func TestSign(t *testing.T) {
	h := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}}).Sign(nil, "s", now)
	if h.Get("Authorization") != "Bearer s" || h.Get("User-Agent") != "Amplitude/Webhook/1.0" || h.Get("Content-Type") != "application/json" {
		t.Fatalf("default Sign = %v", h)
	}
	h = providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}, SecretHeader: "X-Replayhook-Token"}).Sign(nil, "s", now)
	if h.Get("X-Replayhook-Token") != "s" || h.Get("Authorization") != "" {
		t.Fatalf("custom-header Sign = %v", h)
	}
}

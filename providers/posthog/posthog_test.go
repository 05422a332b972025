package posthog

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/providertest"
)

// now is shortly after the shared sample's event.
var now = time.Date(2025, 3, 14, 9, 41, 9, 0, time.UTC)

// testSecret signs the known-answer vectors below.
const testSecret = "posthog_test_secret_do_not_use"

// testdata/webhook-destination-autocapture.json is a byte-for-byte copy of
// PostHog's sample webhook-destination autocapture event; its SHA-256 pins
// that, so an edit to the sample shows up here.
func TestSharedFixtureIsVerbatim(t *testing.T) {
	const want = "64e904b3ed9b46353cf23d93f9f8f876f2a1e168d2791d032cf02bf82e291d80"
	sum := sha256.Sum256(providertest.Fixtures(t, "")["webhook-destination-autocapture.json"])
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("testdata/webhook-destination-autocapture.json is not the shared vendor sample (sha256 %s)", got)
	}
}

// The Signer's sha256= form covers the body, so the whole suite applies,
// including the tampering cases.
func TestConformance(t *testing.T) {
	for _, header := range []string{"", "X-Webhook-Token"} {
		t.Run("secret_header="+header, func(t *testing.T) {
			settings := providers.Settings{Secrets: []string{"old-ph-secret", "new-ph-secret"}, SecretHeader: header}
			providertest.Run(t, providertest.Case{
				Factory:     New,
				Settings:    settings,
				Signer:      providertest.New[*Provider](t, New, settings),
				Fixtures:    providertest.Fixtures(t, ""),
				Now:         now,
				AuthHeaders: []string{SecretHeader},
				// PostHog sends the literal secret, which does not cover
				// the body (the sha256= form is tested in TestVerify).
				StaticSecret: true,
			})
		})
	}
}

// Known answers: HMAC-SHA256 computed independently with
// `openssl dgst -sha256 -hmac posthog_test_secret_do_not_use <file>` over
// the fixtures' exact bytes (trailing newline included). PostHog itself
// publishes no signature vector because it does not sign.
func TestKnownAnswer(t *testing.T) {
	fx := providertest.Fixtures(t, "")
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"rotated-away", testSecret}})
	for file, sig := range map[string]string{
		"webhook-destination-autocapture.json": "840db3ff778784775a46f7fee727d94e9604ada23d3dac507ea6e3d235ea6785",
		"hog-flat-click.json":                  "ef9216a8126ffadc91ea081c1b92437b89301ae1e2ac5ab19b057b436e52ef3a",
	} {
		t.Run(file, func(t *testing.T) {
			body := fx[file]
			for _, h := range []string{"sha256=" + sig, "sha256=" + strings.ToUpper(sig), "SHA256=" + sig, testSecret} {
				r := &providers.Request{Header: providertest.Header(SecretHeader, h), Body: body, Now: now}
				if err := p.Verify(r); err != nil {
					t.Fatalf("%s: %v", h, err)
				}
			}
		})
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"event":"$pageview","distinct_id":"usr_48213"}`)
	mac := "sha256=" + hex.EncodeToString(providers.HMACSHA256([]byte("s2"), body))
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s1", "s2"}})
	custom := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s1"}, SecretHeader: "X-Webhook-Token"})
	long := strings.Repeat("s", providers.MaxHeaderBytes+1)
	tests := []struct {
		name   string
		p      *Provider
		header http.Header
		ok     bool
		reason string // part of the error text
	}{
		{"plain secret", p, providertest.Header(SecretHeader, "s1"), true, ""},
		{"plain rotated secret", p, providertest.Header(SecretHeader, "s2"), true, ""},
		{"plain secret with spaces", p, providertest.Header(SecretHeader, "  s1 "), true, ""},
		{"hmac", p, providertest.Header(SecretHeader, mac), true, ""},
		{"hmac of another body", p, providertest.Header(SecretHeader, "sha256="+hex.EncodeToString(providers.HMACSHA256([]byte("s2"), []byte("{}")))), false, "does not match"},
		{"hmac with a short hex", p, providertest.Header(SecretHeader, mac[:40]), false, "does not match"},
		{"bearer", p, providertest.Header("Authorization", "Bearer s2"), true, ""},
		{"bearer in lower case", p, providertest.Header("Authorization", "bearer s1"), true, ""},
		{"wrong secret, right bearer: any match is enough", p, providertest.Header(SecretHeader, "nope", "Authorization", "Bearer s1"), true, ""},
		{"wrong secret", p, providertest.Header(SecretHeader, "s3"), false, "does not match"},
		{"secret prefix", p, providertest.Header(SecretHeader, "s"), false, "does not match"},
		{"authorization without Bearer", p, providertest.Header("Authorization", "s1"), false, "missing"},
		{"empty secret header", p, providertest.Header(SecretHeader, ""), false, "missing"},
		{"nothing", p, http.Header{}, false, "missing"},
		{"over 4 KiB", p, providertest.Header(SecretHeader, long), false, "too long"},
		{"bearer over 4 KiB", p, providertest.Header("Authorization", "Bearer "+long), false, "too long"},
		{"custom header", custom, providertest.Header("X-Webhook-Token", "s1"), true, ""},
		{"custom header keeps X-PostHog-Secret", custom, providertest.Header(SecretHeader, "s1"), true, ""},
		{"custom header keeps Bearer", custom, providertest.Header("Authorization", "Bearer s1"), true, ""},
		{"custom header, wrong secret", custom, providertest.Header("X-Webhook-Token", "s2"), false, "X-Webhook-Token"},
		{"custom header over 4 KiB", custom, providertest.Header("X-Webhook-Token", long), false, "too long"},
		{"another header is not looked at", p, providertest.Header("X-Webhook-Token", "s1"), false, "missing"},
		{"several values, one matches", p, providertest.Header(SecretHeader, "nope", SecretHeader, mac), true, ""},
		{"too many values", p, providertest.Header(SecretHeader, mac, SecretHeader, mac, SecretHeader, mac, SecretHeader, mac,
			SecretHeader, mac, SecretHeader, mac, SecretHeader, mac, SecretHeader, mac, SecretHeader, mac), false, "too many"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Verify(&providers.Request{Header: tt.header, Body: body, Now: now})
			if tt.ok {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if !errors.Is(err, providers.ErrInvalidSignature) {
				t.Fatalf("got %v, want ErrInvalidSignature", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("reason %q does not say %q", err, tt.reason)
			}
			if strings.Contains(err.Error(), "s1") || strings.Contains(err.Error(), "s2") || strings.Contains(err.Error(), mac[7:]) {
				t.Fatalf("reason leaks a secret or signature: %v", err)
			}
		})
	}
}

// The plain-secret forms authenticate the sender but do not cover the body;
// only the sha256= form does. This pins the documented difference.
func TestOnlyHMACCoversTheBody(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"tok"}})
	signed := providertest.Header(SecretHeader, "sha256="+hex.EncodeToString(providers.HMACSHA256([]byte("tok"), []byte(`{"event":"A"}`))))
	if err := p.Verify(&providers.Request{Header: signed, Body: []byte(`{"event":"B"}`)}); !errors.Is(err, providers.ErrInvalidSignature) {
		t.Fatalf("sha256= form accepted another body: %v", err)
	}
	plain := providertest.Header(SecretHeader, "tok")
	if err := p.Verify(&providers.Request{Header: plain, Body: []byte(`{"event":"B"}`)}); err != nil {
		t.Fatalf("plain secret unexpectedly depends on the body: %v", err)
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
	for _, h := range []string{"", "Authorization", "authorization", "X-PostHog-Secret", "x-posthog-secret"} {
		p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}, SecretHeader: h})
		err := p.Verify(&providers.Request{Header: providertest.Header("X-Other", "s"), Body: []byte(`{}`)})
		if err == nil || strings.Count(err.Error(), "Authorization") != 1 || strings.Count(err.Error(), SecretHeader+" secret") != 1 {
			t.Fatalf("secret_header %q is already accepted and must not be named twice: %v", h, err)
		}
	}
}

func TestSign(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}, SecretHeader: "X-Webhook-Token"})
	// PostHog sends the literal value the customer typed into the
	// destination's headers, never an HMAC.
	h := p.Sign([]byte(`{}`), "s", now)
	if h.Get(SecretHeader) != "s" || h.Get("Content-Type") != "application/json" || len(h) != 2 {
		t.Fatalf("Sign = %v", h)
	}
}

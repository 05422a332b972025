// Package providertest is the conformance suite every provider must pass:
// the fixture verifies and parses, tampering and missing or malformed
// headers are rejected, a rotated second secret is accepted, stale signed
// timestamps are rejected, and the delivery id is stable across retries.
package providertest

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/replayhook/replayhook/providers"
)

// Case describes one provider under test.
type Case struct {
	Factory providers.Factory
	// Settings must hold two secrets: the "old" one first and the "new" one
	// second. Unsigned must be false.
	Settings providers.Settings
	// Signer produces the vendor's headers for a body.
	Signer providers.Signer
	// Fixtures are real-looking deliveries that must verify and parse.
	Fixtures map[string][]byte
	// Now is the fixed clock for signing and verifying.
	Now time.Time
	// SignsTimestamp says the scheme signs a timestamp checked against
	// Settings.Tolerance.
	SignsTimestamp bool
	// AuthHeaders are the headers whose corruption must be rejected; empty
	// means every header the Signer sets.
	AuthHeaders []string
	// StaticSecret says the scheme is a static secret header that
	// authenticates the sender but does not cover the body (PostHog's plain
	// secret, Amplitude, Highlight, FullStory Streams): the body-tampering
	// cases are skipped, every other case runs.
	StaticSecret bool
}

// Run runs the suite.
func Run(t *testing.T, c Case) {
	t.Helper()
	if len(c.Settings.Secrets) < 2 {
		t.Fatal("providertest: Settings needs two secrets (old, new)")
	}
	if len(c.Fixtures) == 0 {
		t.Fatal("providertest: no fixtures")
	}
	p, err := c.Factory(c.Settings)
	if err != nil {
		t.Fatalf("factory: %v", err)
	}
	t.Run("URL token when the source opts in", func(t *testing.T) {
		s := c.Settings
		s.URLToken = true
		withToken, err := c.Factory(s)
		if err != nil {
			t.Fatalf("factory with url_token: %v", err)
		}
		for name, body := range c.Fixtures {
			bare := http.Header{"Content-Type": {"application/json"}}
			for _, q := range []url.Values{{"token": {s.Secrets[0]}}, {"token": {s.Secrets[1]}}} {
				if err := withToken.Verify(&providers.Request{Header: bare, Query: q, Body: body, Now: c.Now}); err != nil {
					t.Fatalf("%s: ?token= refused: %v", name, err)
				}
				if err := p.Verify(&providers.Request{Header: bare, Query: q, Body: body, Now: c.Now}); !errors.Is(err, providers.ErrInvalidSignature) {
					t.Fatalf("%s: ?token= accepted by a source that did not opt in: %v", name, err)
				}
			}
			if err := withToken.Verify(&providers.Request{Header: bare, Query: url.Values{"token": {"not-" + s.Secrets[1]}}, Body: body, Now: c.Now}); !errors.Is(err, providers.ErrInvalidSignature) {
				t.Fatalf("%s: a wrong ?token= gave %v", name, err)
			}
			break
		}
	})
	t.Run("no secret does not start", func(t *testing.T) {
		s := c.Settings
		s.Secrets = nil
		s.Unsigned = false
		if _, err := c.Factory(s); err == nil {
			t.Fatal("factory accepted a source with no secret")
		}
	})
	for name, body := range c.Fixtures {
		t.Run(name, func(t *testing.T) {
			req := func(b []byte, secret string, now time.Time) *providers.Request {
				return &providers.Request{Header: c.Signer.Sign(b, secret, now), Body: b, Now: c.Now}
			}
			for i, secret := range c.Settings.Secrets {
				if err := p.Verify(req(body, secret, c.Now)); err != nil {
					t.Fatalf("secret #%d (rotation) rejected: %v", i, err)
				}
			}
			good := req(body, c.Settings.Secrets[1], c.Now)
			d, err := p.Parse(good)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if d.Ignored == "" && len(d.Payloads)+len(d.Events)+len(d.Summaries)+len(d.Identities)+len(d.Links)+len(d.Erase) == 0 {
				t.Fatal("fixture parsed into nothing and was not ignored")
			}
			d2, err := p.Parse(req(body, c.Settings.Secrets[0], c.Now))
			if err != nil || d2.ID != d.ID {
				t.Fatalf("delivery id not stable across retries: %q vs %q (%v)", d.ID, d2.ID, err)
			}

			wantSig := func(t *testing.T, r *providers.Request) {
				t.Helper()
				if err := p.Verify(r); !errors.Is(err, providers.ErrInvalidSignature) {
					t.Fatalf("want ErrInvalidSignature, got %v", err)
				}
			}
			if c.StaticSecret {
				t.Run("body is not covered (static secret)", func(t *testing.T) {
					r := req(body, c.Settings.Secrets[1], c.Now)
					r.Body = append(append([]byte(nil), body...), ' ')
					if err := p.Verify(r); err != nil {
						t.Fatalf("StaticSecret set, but the check depends on the body: %v", err)
					}
				})
			}
			t.Run("tampered body", func(t *testing.T) {
				if c.StaticSecret {
					t.Skip("a static secret does not cover the body")
				}
				r := req(body, c.Settings.Secrets[1], c.Now)
				tampered := append([]byte(nil), body...)
				tampered[len(tampered)/2] ^= 0x01
				r.Body = tampered
				wantSig(t, r)
			})
			t.Run("appended byte", func(t *testing.T) {
				if c.StaticSecret {
					t.Skip("a static secret does not cover the body")
				}
				r := req(body, c.Settings.Secrets[1], c.Now)
				r.Body = append(append([]byte(nil), body...), ' ')
				wantSig(t, r)
			})
			t.Run("wrong secret", func(t *testing.T) {
				wantSig(t, req(body, "not-the-secret-"+c.Settings.Secrets[1], c.Now))
			})
			t.Run("missing headers", func(t *testing.T) {
				r := req(body, c.Settings.Secrets[1], c.Now)
				r.Header = http.Header{"Content-Type": {"application/json"}}
				wantSig(t, r)
			})
			authHeaders := c.AuthHeaders
			if len(authHeaders) == 0 {
				for h := range c.Signer.Sign(body, c.Settings.Secrets[1], c.Now) {
					authHeaders = append(authHeaders, h)
				}
			}
			for _, h := range authHeaders {
				for _, bad := range []string{"", "x", "sha256=", "v1,", "Bearer", "o:,t:,v:", "\x00\xff"} {
					t.Run("malformed "+h+"="+bad, func(t *testing.T) {
						r := req(body, c.Settings.Secrets[1], c.Now)
						r.Header.Set(h, bad)
						err := p.Verify(r)
						if !errors.Is(err, providers.ErrInvalidSignature) && !errors.Is(err, providers.ErrStaleTimestamp) {
							t.Fatalf("malformed header gave %v", err)
						}
					})
				}
			}
			if c.SignsTimestamp {
				for _, skew := range []time.Duration{c.Settings.Tolerance + time.Second, -(c.Settings.Tolerance + time.Second)} {
					t.Run("stale "+skew.String(), func(t *testing.T) {
						r := req(body, c.Settings.Secrets[1], c.Now.Add(skew))
						if err := p.Verify(r); !errors.Is(err, providers.ErrStaleTimestamp) {
							t.Fatalf("want ErrStaleTimestamp, got %v", err)
						}
					})
				}
				t.Run("inside tolerance", func(t *testing.T) {
					r := req(body, c.Settings.Secrets[1], c.Now.Add(-c.Settings.Tolerance+time.Second))
					if err := p.Verify(r); err != nil {
						t.Fatalf("timestamp inside tolerance rejected: %v", err)
					}
				})
			}
		})
	}
}

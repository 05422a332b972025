package posthog

import (
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/replayhook/replayhook/providers"
)

// Name is the provider name used in config.
const Name = "posthog"

// SecretHeader is the header the Autoplay quickstart tells customers to add
// to their PostHog webhook: the plain secret, or sha256=<hex HMAC-SHA256 of
// the body>.
const SecretHeader = "X-PostHog-Secret"

// maxHeaderBytes bounds every secret or signature header value we compare.
const maxHeaderBytes = 4096

// maxHeaderValues bounds how many values of one auth header are looked at,
// so that a request cannot make Verify do unbounded work.
const maxHeaderValues = 8

// Provider verifies and parses PostHog webhook deliveries for one source.
type Provider struct {
	secrets []string
	// extraHeader is the source's secret_header when it names a header other
	// than Authorization and X-PostHog-Secret; "" otherwise.
	extraHeader string
	unsigned    bool
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Signer   = (*Provider)(nil)
)

// New builds the provider. PostHog does not sign its webhooks, so a source
// needs at least one secret, which the customer puts in a header of the
// webhook destination (see doc.go); a source with no secret does not start
// unless it is explicitly unsigned (local development only).
func New(s providers.Settings) (providers.Provider, error) {
	if len(s.Secrets) == 0 && !s.Unsigned {
		return nil, errors.New("posthog: PostHog does not sign its webhooks; configure a secret and send it in the " +
			SecretHeader + " or Authorization: Bearer header (or mark the source unsigned for local development only)")
	}
	p := &Provider{secrets: append([]string(nil), s.Secrets...), unsigned: s.Unsigned}
	h := strings.TrimSpace(s.SecretHeader)
	if h != "" && !strings.EqualFold(h, "Authorization") && !strings.EqualFold(h, SecretHeader) {
		p.extraHeader = h
	}
	return p, nil
}

// Verify accepts a delivery when any one of these carries a configured
// secret (every secret is tried, in constant time):
//
//   - X-PostHog-Secret: <secret>
//   - X-PostHog-Secret: sha256=<hex HMAC-SHA256(secret, raw body)>
//   - Authorization: Bearer <secret>
//   - <secret_header>: <secret>, when the source names another header
//
// None of them present is "missing"; present but none matching is "does not
// match". A value over 4 KiB, or more than 8 values of one header, is
// refused without comparing.
func (p *Provider) Verify(req *providers.Request) error {
	if p.unsigned {
		return nil
	}
	headers := []string{SecretHeader, "Authorization"}
	if p.extraHeader != "" {
		headers = append(headers, p.extraHeader)
	}
	for _, h := range headers {
		vs := req.Header.Values(h)
		if len(vs) > maxHeaderValues {
			return providers.Reject(providers.ErrInvalidSignature, "too many %s headers", h)
		}
		for _, v := range vs {
			if len(v) > maxHeaderBytes {
				return providers.Reject(providers.ErrInvalidSignature, "%s header is too long", h)
			}
		}
	}

	// The body's HMACs are computed at most once, however many values
	// claim to be one.
	var macs [][]byte
	present, match := false, false
	for _, v := range req.Header.Values(SecretHeader) {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		present = true
		if p.plainMatches(v) {
			match = true
		}
		if sig, ok := hmacHex(v); ok {
			if macs == nil {
				for _, s := range p.secrets {
					macs = append(macs, providers.HMACSHA256([]byte(s), req.Body))
				}
			}
			for _, mac := range macs {
				if providers.EqualHex(sig, mac) {
					match = true
				}
			}
		}
	}
	if token, ok := providers.BearerToken(req.Header); ok && token != "" {
		present = true
		match = p.plainMatches(token) || match
	}
	if p.extraHeader != "" {
		for _, v := range req.Header.Values(p.extraHeader) {
			if v = strings.TrimSpace(v); v != "" {
				present = true
				match = p.plainMatches(v) || match
			}
		}
	}
	switch {
	case !present:
		return providers.Reject(providers.ErrInvalidSignature, "missing %s", p.accepted())
	case !match:
		return providers.Reject(providers.ErrInvalidSignature, "%s does not match", p.accepted())
	}
	return nil
}

// accepted names the accepted headers for rejection reasons.
func (p *Provider) accepted() string {
	s := SecretHeader + " (secret or sha256=<hmac>) or Authorization: Bearer secret"
	if p.extraHeader != "" {
		s += " or " + p.extraHeader + " secret"
	}
	return s
}

// plainMatches compares v with every secret in constant time.
func (p *Provider) plainMatches(v string) bool {
	match := false
	for _, s := range p.secrets {
		if providers.EqualSecret(v, s) {
			match = true
		}
	}
	return match
}

// hmacHex returns the hex of a "sha256=<64 hex characters>" value (the
// prefix in any case); ok is false for anything else.
func hmacHex(v string) (string, bool) {
	if len(v) < 7 || !strings.EqualFold(v[:7], "sha256=") {
		return "", false
	}
	sig := strings.TrimSpace(v[7:])
	return sig, len(sig) == hex.EncodedLen(32)
}

// Sign produces the strongest form Verify accepts, the one that covers the
// body: X-PostHog-Secret: sha256=<hex HMAC-SHA256(secret, body)>. PostHog
// itself adds no header; a customer's destination usually sends the plain
// secret, which Verify accepts too.
func (p *Provider) Sign(body []byte, secret string, _ time.Time) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(SecretHeader, "sha256="+hex.EncodeToString(providers.HMACSHA256([]byte(secret), body)))
	return h
}

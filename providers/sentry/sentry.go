package sentry

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/replayhook/replayhook/providers"
)

// Name is the provider name used in config.
const Name = "sentry"

// Headers of an integration-platform webhook. Only SignatureHeader is
// authenticated; the others are hints.
const (
	// SignatureHeader carries hex(HMAC-SHA256(client secret, raw body)).
	SignatureHeader = "Sentry-Hook-Signature"
	// ResourceHeader names the resource: error, event_alert, issue, ...
	ResourceHeader = "Sentry-Hook-Resource"
	// TimestampHeader carries the send time in unix seconds. Sentry does
	// not sign it, so it is never checked.
	TimestampHeader = "Sentry-Hook-Timestamp"
	// RequestIDHeader is a uuid4 that changes on every retry: it is not a
	// dedupe key.
	RequestIDHeader = "Request-ID"
)

// maxHeaderBytes bounds any header value we are willing to read.
const maxHeaderBytes = 4096

// Provider verifies and parses Sentry integration-platform webhooks for one
// source.
type Provider struct {
	secrets  [][]byte
	unsigned bool
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Signer   = (*Provider)(nil)
)

// New builds the provider. Sentry signs every webhook with the
// integration's client secret, so a source with no secret does not start
// unless it is explicitly unsigned (local development). Tolerance and
// SecretHeader are not used: Sentry signs no timestamp and has no static
// secret header.
func New(s providers.Settings) (providers.Provider, error) {
	if len(s.Secrets) == 0 && !s.Unsigned {
		return nil, errors.New("sentry: source of a signing vendor with no secret configured does not start; set the integration's client secret")
	}
	p := &Provider{unsigned: s.Unsigned}
	for _, sec := range s.Secrets {
		p.secrets = append(p.secrets, []byte(sec))
	}
	return p, nil
}

// Verify authenticates a delivery: exactly one Sentry-Hook-Signature header,
// at most 4 KiB, whose hex value equals HMAC-SHA256(secret, raw body) for one
// of the source's secrets (every secret is tried, each compared in constant
// time). Sentry-Hook-Timestamp is not signed and therefore not checked: a
// replayed delivery is caught by the dedupe key (the event id) instead.
func (p *Provider) Verify(req *providers.Request) error {
	if p.unsigned {
		return nil
	}
	vals := req.Header.Values(SignatureHeader)
	switch {
	case len(vals) == 0:
		return providers.Reject(providers.ErrInvalidSignature, "missing %s header", SignatureHeader)
	case len(vals) > 1:
		return providers.Reject(providers.ErrInvalidSignature, "more than one %s header", SignatureHeader)
	case len(vals[0]) > maxHeaderBytes:
		return providers.Reject(providers.ErrInvalidSignature, "%s header is too long", SignatureHeader)
	}
	match := false
	for _, secret := range p.secrets {
		if providers.EqualHex(vals[0], providers.HMACSHA256(secret, req.Body)) {
			match = true
		}
	}
	if !match {
		return providers.Reject(providers.ErrInvalidSignature, "%s does not match the body (want the hex HMAC-SHA256 of the raw body with the client secret)", SignatureHeader)
	}
	return nil
}

// Sign produces the headers Sentry would send for body: the signature, a
// resource inferred from the body the way Parse infers it when the header is
// missing ("error" when nothing matches), the timestamp now and a fresh
// random Request-ID (Sentry sends a new one on every attempt).
func (p *Provider) Sign(body []byte, secret string, now time.Time) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(SignatureHeader, hex.EncodeToString(providers.HMACSHA256([]byte(secret), body)))
	resource := ResourceError
	var env envelope
	if json.Unmarshal(body, &env) == nil {
		if r := inferResource(env.Data); r != "" {
			resource = r
		}
	}
	h.Set(ResourceHeader, resource)
	h.Set(TimestampHeader, strconv.FormatInt(now.Unix(), 10))
	var id [16]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	h.Set(RequestIDHeader, hex.EncodeToString(id[:]))
	return h
}

package sentry

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
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

// Provider verifies and parses Sentry integration-platform webhooks for one
// source.
type Provider struct{ *providers.Auth }

// Scheme is Sentry's: exactly one Sentry-Hook-Signature header, the hex
// HMAC-SHA256 of the raw body with the integration's client secret.
// Sentry-Hook-Timestamp is not signed and therefore not checked: a replayed
// delivery is caught by the dedupe key (the event id) instead.
var Scheme = providers.HMACOptions{Header: SignatureHeader, Hashes: []providers.Hash{providers.SHA256}, Encoding: providers.Hex}

// New builds the provider. Sentry signs every webhook with the
// integration's client secret, so a source with no secret does not start
// unless it is explicitly unsigned (local development).
func New(s providers.Settings) (providers.Provider, error) {
	return providers.Build(s, providers.AuthSpec{
		Vendor: Name, NoSecret: "Sentry signs every webhook; set the integration's client secret", Headers: headers,
	}, providers.HMACScheme(Scheme), func(auth *providers.Auth) *Provider { return &Provider{auth} })
}

// IdentifyFix says how Sentry events come to carry a user id.
func (p *Provider) IdentifyFix() string {
	return "Sentry: call `Sentry.setUser({ id: userId })` at login."
}

// headers are the hints Sentry sends besides the signature: a resource
// inferred from the body the way Parse infers it when the header is missing
// ("error" when nothing matches), the timestamp now and a fresh random
// Request-ID (Sentry sends a new one on every attempt).
func headers(h http.Header, body []byte, now time.Time) {
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
}

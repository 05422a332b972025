package amplitude

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/replayhook/replayhook/providers"
)

// Name is the provider name used in config.
const Name = "amplitude"

// maxSecretBytes bounds the secret header value we compare.
const maxSecretBytes = 4096

// Provider verifies and parses Amplitude webhook streaming deliveries for
// one source.
type Provider struct {
	secrets      []string
	secretHeader string
	unsigned     bool
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Signer   = (*Provider)(nil)
)

// New builds the provider. Amplitude does not sign its webhooks, so a
// source is authenticated by a static secret header that the customer adds
// in the sync's headers (Authorization: Bearer <secret> unless
// Settings.SecretHeader names another header); a source with no secret does
// not start unless it is explicitly unsigned.
func New(s providers.Settings) (providers.Provider, error) {
	if len(s.Secrets) == 0 && !s.Unsigned {
		return nil, errors.New("amplitude: Amplitude does not sign its webhooks; configure a secret and add it as a header of the webhook sync (or mark the source unsigned for local development only)")
	}
	return &Provider{secrets: append([]string(nil), s.Secrets...), secretHeader: strings.TrimSpace(s.SecretHeader), unsigned: s.Unsigned}, nil
}

// Verify checks the static secret header against every configured secret in
// constant time. A header value over 4 KiB is refused without comparing.
func (p *Provider) Verify(req *providers.Request) error {
	if p.unsigned {
		return nil
	}
	header := p.secretHeader
	if header == "" {
		header = "Authorization"
	}
	for _, v := range req.Header.Values(header) {
		if len(v) > maxSecretBytes {
			return providers.Reject(providers.ErrInvalidSignature, "%s header is too long", header)
		}
	}
	return providers.StaticSecret(req.Header, p.secretHeader, p.secrets)
}

// Sign produces the headers of a correctly configured sync: Amplitude's two
// preset headers and Authorization: Bearer <secret>, or the source's
// SecretHeader with the plain secret.
func (p *Provider) Sign(_ []byte, secret string, _ time.Time) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Amplitude/Webhook/1.0")
	if p.secretHeader == "" || strings.EqualFold(p.secretHeader, "Authorization") {
		h.Set("Authorization", "Bearer "+secret)
	} else {
		h.Set(p.secretHeader, secret)
	}
	return h
}

// Package autoplay is the provider for the Autoplay connector's own push
// webhooks: one ActionsPayload (type "actions") or SummaryPayload (type
// "summary") per POST, signed with
//
//	X-Connector-Signature: sha256=<lowercase hex HMAC-SHA256(secret, raw body)>
//
// The connector also sends Authorization: Bearer <secret>; replayhook requires
// the signature, which covers the body. There is no timestamp and no delivery
// id, so duplicates are detected from a hash of the raw body.
//
// Set up: point the connector's push URL at https://<host>/webhooks/<source>
// and put the connector secret in the source's secrets.
package autoplay

import (
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
)

// Name is the provider name used in config.
const Name = "autoplay"

// SignatureHeader carries the body signature.
const SignatureHeader = "X-Connector-Signature"

// Provider verifies and parses Autoplay connector deliveries.
type Provider struct {
	secrets  [][]byte
	unsigned bool
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Signer   = (*Provider)(nil)
)

// New builds the provider; a source without a secret does not start unless
// it is explicitly unsigned.
func New(s providers.Settings) (providers.Provider, error) {
	if len(s.Secrets) == 0 && !s.Unsigned {
		return nil, errors.New("autoplay: the connector signs its deliveries; configure its secret")
	}
	p := &Provider{unsigned: s.Unsigned}
	for _, sec := range s.Secrets {
		p.secrets = append(p.secrets, []byte(sec))
	}
	return p, nil
}

// Verify checks X-Connector-Signature against every configured secret in
// constant time.
func (p *Provider) Verify(req *providers.Request) error {
	if p.unsigned {
		return nil
	}
	sig := req.Header.Get(SignatureHeader)
	if sig == "" {
		return providers.Reject(providers.ErrInvalidSignature, "missing %s header", SignatureHeader)
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(sig), "sha256=")
	if !ok || len(hexSig) != 64 {
		return providers.Reject(providers.ErrInvalidSignature, "%s must be sha256=<64 hex characters>", SignatureHeader)
	}
	match := false
	for _, secret := range p.secrets {
		if providers.EqualHex(hexSig, providers.HMACSHA256(secret, req.Body)) {
			match = true
		}
	}
	if !match {
		return providers.Reject(providers.ErrInvalidSignature, "%s does not match the body", SignatureHeader)
	}
	return nil
}

// Parse reads an actions or summary payload; other types are ignored.
func (p *Provider) Parse(req *providers.Request) (*providers.Delivery, error) {
	d, err := normalize.Decode(req.Body) // one pass over the body, whatever its type
	if err != nil {
		return nil, wrap(err)
	}
	switch {
	case d.Actions != nil:
		return &providers.Delivery{Payloads: []normalize.ActionsPayload{*d.Actions}}, nil
	case d.Summary != nil:
		return &providers.Delivery{Summaries: []normalize.SummaryPayload{*d.Summary}}, nil
	case d.Type == "":
		return &providers.Delivery{Ignored: "payload has no type (expected \"actions\" or \"summary\")"}, nil
	default:
		return &providers.Delivery{Ignored: "autoplay event type " + quoteBounded(d.Type) + " is not stored"}, nil
	}
}

// Sign produces the connector's headers for body.
func (p *Provider) Sign(body []byte, secret string, _ time.Time) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(SignatureHeader, "sha256="+hex.EncodeToString(providers.HMACSHA256([]byte(secret), body)))
	h.Set("Authorization", "Bearer "+secret)
	return h
}

func wrap(err error) error {
	var fe normalize.FieldErrors
	switch {
	case errors.As(err, &fe):
		return &providers.FieldsError{Fields: fe}
	default:
		return providers.Reject(providers.ErrMalformedJSON, "%v", err)
	}
}

func quoteBounded(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

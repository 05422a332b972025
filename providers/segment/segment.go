package segment

import (
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/replayhook/replayhook/providers"
)

// Name is the provider name used in config.
const Name = "segment"

// Signature headers. Both carry a hex HMAC of the raw body keyed with the
// destination's shared secret.
const (
	// SignatureHeader is the classic Webhooks destination's
	// hex(HMAC-SHA1(shared secret, body)).
	SignatureHeader = "X-Signature"
	// ActionsSignatureHeader is sent by Webhooks (Actions) with "Use
	// X-Segment-Signature Header": a signature over the whole body, also of
	// a batch. When present it is the only one checked.
	ActionsSignatureHeader = "X-Segment-Signature"
)

// maxHeaderBytes bounds any header value we are willing to read.
const maxHeaderBytes = 4096

// Provider verifies and parses Segment Webhooks deliveries for one source.
type Provider struct {
	secrets  [][]byte
	unsigned bool
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Signer   = (*Provider)(nil)
)

// New builds the provider. Segment signs with the destination's shared
// secret, so a source with no secret does not start unless it is explicitly
// unsigned (local development). Tolerance and SecretHeader are not used:
// Segment signs no timestamp.
func New(s providers.Settings) (providers.Provider, error) {
	if len(s.Secrets) == 0 && !s.Unsigned {
		return nil, errors.New("segment: source of a signing vendor with no secret configured does not start; set the Webhooks destination's shared secret")
	}
	p := &Provider{unsigned: s.Unsigned}
	for _, sec := range s.Secrets {
		p.secrets = append(p.secrets, []byte(sec))
	}
	return p, nil
}

// Verify authenticates a delivery. When an X-Segment-Signature header is
// present (even empty) only it is checked, because it covers the whole body
// (the Actions variant's X-Signature covers only the first event of a
// batch); otherwise X-Signature is required. The header must appear once,
// hold at most 4 KiB and be the hex HMAC of the raw body with one of the
// source's secrets: 40 hex digits are HMAC-SHA1 (what Segment documents),
// 64 are HMAC-SHA256 (accepted in case the Actions variant uses it). Every
// secret is tried, each compared in constant time.
func (p *Provider) Verify(req *providers.Request) error {
	if p.unsigned {
		return nil
	}
	name := ActionsSignatureHeader
	vals := req.Header.Values(name)
	if len(vals) == 0 {
		name = SignatureHeader
		vals = req.Header.Values(name)
	}
	switch {
	case len(vals) == 0:
		return providers.Reject(providers.ErrInvalidSignature, "missing %s (or %s) header", SignatureHeader, ActionsSignatureHeader)
	case len(vals) > 1:
		return providers.Reject(providers.ErrInvalidSignature, "more than one %s header", name)
	case len(vals[0]) > maxHeaderBytes:
		return providers.Reject(providers.ErrInvalidSignature, "%s header is too long", name)
	}
	got := strings.TrimSpace(vals[0])
	var mac func(key []byte, parts ...[]byte) []byte
	switch len(got) {
	case 40:
		mac = providers.HMACSHA1
	case 64:
		mac = providers.HMACSHA256
	default:
		return providers.Reject(providers.ErrInvalidSignature, "%s must be a hex HMAC-SHA1 (40 digits) or HMAC-SHA256 (64 digits)", name)
	}
	match := false
	for _, secret := range p.secrets {
		if providers.EqualHex(got, mac(secret, req.Body)) {
			match = true
		}
	}
	if !match {
		return providers.Reject(providers.ErrInvalidSignature, "%s does not match the body (want the hex HMAC of the raw body with the shared secret)", name)
	}
	return nil
}

// Sign produces the headers the classic Segment Webhooks destination sends
// for body: Content-Type and X-Signature, the hex HMAC-SHA1 of the whole
// body with secret. now is not used (Segment signs no timestamp).
func (p *Provider) Sign(body []byte, secret string, now time.Time) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(SignatureHeader, hex.EncodeToString(providers.HMACSHA1([]byte(secret), body)))
	return h
}

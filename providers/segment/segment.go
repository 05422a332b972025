package segment

import (
	"net/http"
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

// Provider verifies and parses Segment Webhooks deliveries for one source.
type Provider struct {
	*providers.Auth
	honorDeletions bool
}

// Scheme authenticates a delivery. When an X-Segment-Signature header is
// present (even empty) only it is checked, because it covers the whole body
// (the Actions variant's X-Signature covers only the first event of a
// batch); otherwise X-Signature is required. Each is one header line of the
// hex HMAC of the raw body with one of the source's secrets: 40 hex digits
// are HMAC-SHA1 (what Segment documents), 64 are HMAC-SHA256 (accepted in
// case the Actions variant uses it). Sign sends the classic X-Signature.
func Scheme(secrets []string) (providers.Scheme, error) {
	hashes := []providers.Hash{providers.SHA1, providers.SHA256}
	actions, err := providers.NewHMAC(providers.HMACOptions{Header: ActionsSignatureHeader, Hashes: hashes}, secrets)
	if err != nil {
		return nil, err
	}
	classic, err := providers.NewHMAC(providers.HMACOptions{Header: SignatureHeader, Hashes: hashes}, secrets)
	if err != nil {
		return nil, err
	}
	return signWith{providers.FirstPresent(actions, classic), classic}, nil
}

// signWith verifies with one scheme and signs with another.
type signWith struct {
	providers.Scheme
	signer providers.Scheme
}

func (s signWith) Sign(h http.Header, body []byte, secret string, now time.Time) {
	s.signer.Sign(h, body, secret, now)
}

// New builds the provider. Segment signs with the destination's shared
// secret, so a source with no secret does not start unless it is explicitly
// unsigned (local development). Tolerance and SecretHeader are not used:
// Segment signs no timestamp.
func New(s providers.Settings) (providers.Provider, error) {
	return providers.Build(s, providers.AuthSpec{
		Vendor: Name, NoSecret: "Segment signs every delivery; set the Webhooks destination's shared secret",
	}, Scheme, func(auth *providers.Auth) *Provider { return &Provider{Auth: auth, honorDeletions: !s.IgnoreDeletions} })
}

// IdentifyFix says how Segment events come to carry a user id.
func (p *Provider) IdentifyFix() string {
	return "Segment: call `analytics.identify(userId)` at login; until then events carry only an anonymousId, which is not a user."
}

package fullstory

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/replayhook/replayhook/providers"
)

// Name is the provider name used in config.
const Name = "fullstory"

// SignatureHeader carries the v1 webhook signature:
// "o:<org id>,t:<unix seconds>,v:<base64 HMAC-SHA256(secret, body+":"+org+":"+t)>".
const SignatureHeader = "Fullstory-Signature"

// SignOrg is the organisation id Sign puts in the signature header. FullStory
// signs with the customer's org id; Verify accepts any org, because the org
// is covered by the signature and the secret is what binds a source.
const SignOrg = "o-1A2B3C-na1"

// Provider verifies and parses FullStory deliveries (v1 webhooks and
// Streams) for one source.
type Provider struct{ *providers.Auth }

// V1Scheme is the v1 webhook signature: Fullstory-Signature
// "o:<org>,t:<unix seconds>,v:<base64 HMAC-SHA256(secret, body+":"+org+":"+t)>",
// the org and timestamp exactly as sent, several v: entries allowed, the
// timestamp within the tolerance of the server clock in either direction.
// Any org is accepted: it is covered by the signature, and the secret is
// what binds a source.
func V1Scheme(tolerance time.Duration) providers.HMACOptions {
	return providers.HMACOptions{
		Header:    SignatureHeader,
		Encoding:  providers.Base64,
		Fields:    &providers.Fields{Separator: ",", KeyValue: ":", Signature: "v", Required: []string{"o", "t"}},
		Message:   "{body}:{field:o}:{field:t}",
		Timestamp: "field:t",
		Tolerance: tolerance,
		SignValues: func([]byte, time.Time) map[string]string {
			return map[string]string{"field:o": SignOrg}
		},
	}
}

// New builds the provider. When a Fullstory-Signature header is present
// (even empty) the v1 HMAC is required; without it the delivery must carry
// the static secret of a Streams destination (Authorization: Bearer
// <secret>, or the source's SecretHeader). A source's secrets serve both:
// the v1 signing secret is also accepted as a Streams bearer secret, so
// give v1 webhooks and Streams separate sources when the v1 secret must
// not authenticate a bare request. A source with no secret does not start
// unless it is explicitly unsigned. A Tolerance of zero or less means
// providers.DefaultTolerance.
func New(s providers.Settings) (providers.Provider, error) {
	return providers.Build(s, providers.AuthSpec{
		Vendor: Name, NoSecret: "FullStory signs v1 webhooks and Streams send a bearer token; set the webhook signing secret (v1) or the Streams bearer token",
	}, func(secrets []string) (providers.Scheme, error) {
		v1, err := providers.NewHMAC(V1Scheme(s.Tolerance), secrets)
		if err != nil {
			return nil, err
		}
		streams := providers.NewToken(s.SecretHeader, secrets)
		return bodySigned{providers.FirstPresent(v1, streams), v1, streams}, nil
	}, func(auth *providers.Auth) *Provider { return &Provider{auth} })
}

// IdentifyFix says how FullStory events come to carry a user id.
func (p *Provider) IdentifyFix() string {
	return "FullStory: call `FS('setIdentity', { uid: userId })` at login, and map `user_id` in the Streams destination."
}

// bodySigned signs a v1 webhook body (a JSON object with an "eventName"
// key) with the v1 signature (org SignOrg, timestamp now), anything else
// with the Streams destination's static secret.
type bodySigned struct {
	providers.Scheme
	v1, streams providers.Scheme
}

func (b bodySigned) Sign(h http.Header, body []byte, secret string, now time.Time) {
	if isV1(body) {
		b.v1.Sign(h, body, secret, now)
		return
	}
	b.streams.Sign(h, body, secret, now)
}

// isV1 reports whether body is a JSON object with a top-level "eventName".
func isV1(body []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return false
	}
	_, ok := top["eventName"]
	return ok
}

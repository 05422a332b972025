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
	"errors"
	"net/http"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/vendorjson"
)

// Name is the provider name used in config.
const Name = "autoplay"

// SignatureHeader carries the body signature.
const SignatureHeader = "X-Connector-Signature"

// Provider verifies and parses Autoplay connector deliveries.
type Provider struct{ *providers.Auth }

// Scheme is the connector's signature: X-Connector-Signature:
// sha256=<hex HMAC-SHA256(secret, raw body)>. The connector's
// Authorization: Bearer <secret> is sent too (Sign adds it) but not
// accepted alone: it does not cover the body.
func Scheme(secrets []string) (providers.Scheme, error) {
	sig, err := providers.NewHMAC(providers.HMACOptions{Header: SignatureHeader, Prefix: "sha256="}, secrets)
	if err != nil {
		return nil, err
	}
	return alsoBearer{sig}, nil
}

// alsoBearer signs like the connector: the signature plus the bearer secret.
type alsoBearer struct{ providers.Scheme }

func (a alsoBearer) Sign(h http.Header, body []byte, secret string, now time.Time) {
	a.Scheme.Sign(h, body, secret, now)
	h.Set("Authorization", "Bearer "+secret)
}

// New builds the provider; a source without a secret does not start unless
// it is explicitly unsigned.
func New(s providers.Settings) (providers.Provider, error) {
	return providers.Build(s, providers.AuthSpec{
		Vendor: Name, NoSecret: "the connector signs its deliveries; configure its secret",
	}, Scheme, func(auth *providers.Auth) *Provider { return &Provider{auth} })
}

// IdentifyFix says how the connector's payloads come to carry a user id.
func (p *Provider) IdentifyFix() string {
	return "Autoplay connector: identify the user in the product analytics the connector reads from (e.g. `posthog.identify(userId)`), so it can forward `user_id`."
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
		return &providers.Delivery{Ignored: "autoplay event type " + vendorjson.QuoteBounded(d.Type) + " is not stored"}, nil
	}
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

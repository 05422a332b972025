package posthog

import (
	"strings"

	"github.com/replayhook/replayhook/providers"
)

// Name is the provider name used in config.
const Name = "posthog"

// SecretHeader is the header the Autoplay quickstart tells customers to add
// to their PostHog webhook: the plain secret, or sha256=<hex HMAC-SHA256 of
// the body>.
const SecretHeader = "X-PostHog-Secret"

// Provider verifies and parses PostHog webhook deliveries for one source.
type Provider struct{ *providers.Auth }

// Scheme accepts a delivery when any one of these carries a configured
// secret (every secret is tried, in constant time):
//
//   - X-PostHog-Secret: <secret> (what PostHog sends: the literal value
//     the customer typed into the destination's headers)
//   - X-PostHog-Secret: sha256=<hex HMAC-SHA256(secret, raw body)>
//   - Authorization: Bearer <secret>
//   - <secret_header>: <secret>, when the source names another header
//
// None of them present is "missing"; present but none matching is "does not
// match". Sign sends the literal secret, as PostHog does.
func Scheme(secretHeader string) func(secrets []string) (providers.Scheme, error) {
	return func(secrets []string) (providers.Scheme, error) {
		mac, err := providers.NewHMAC(providers.HMACOptions{Header: SecretHeader, Prefix: "sha256=", AnyCasePrefix: true, Separator: " "}, secrets)
		if err != nil {
			return nil, err
		}
		schemes := []providers.Scheme{providers.NewToken(SecretHeader, secrets), mac, providers.NewToken("", secrets)}
		if h := strings.TrimSpace(secretHeader); h != "" && !strings.EqualFold(h, "Authorization") && !strings.EqualFold(h, SecretHeader) {
			schemes = append(schemes, providers.NewToken(h, secrets))
		}
		return providers.AnyOf(schemes...), nil
	}
}

// New builds the provider. PostHog does not sign its webhooks, so a source
// needs at least one secret, which the customer puts in a header of the
// webhook destination (see doc.go); a source with no secret does not start
// unless it is explicitly unsigned (local development only).
func New(s providers.Settings) (providers.Provider, error) {
	return providers.Build(s, providers.AuthSpec{
		Vendor:   Name,
		NoSecret: "PostHog does not sign its webhooks; configure a secret and send it in the " + SecretHeader + " or Authorization: Bearer header",
	}, Scheme(s.SecretHeader), func(auth *providers.Auth) *Provider { return &Provider{auth} })
}

// IdentifyFix says how PostHog events come to carry a user id.
func (p *Provider) IdentifyFix() string {
	return "PostHog: call `posthog.identify(userId)` as soon as the user logs in, before the chat widget boots, with the same id the chat layer asks with."
}

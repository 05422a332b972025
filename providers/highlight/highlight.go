package highlight

import (
	"github.com/replayhook/replayhook/providers"
)

// Name is the provider name used in config.
const Name = "highlight"

// Provider verifies and parses Highlight deliveries for one source.
type Provider struct{ *providers.Auth }

// New builds the provider. Highlight does not sign its webhooks and its
// sender sets no header at all, so a source is authenticated by a URL token
// (Settings.URLToken: paste https://<host>/webhooks/<source>?token=<secret>
// into Highlight), or by a static secret header that a proxy adds
// (Authorization: Bearer <secret> unless Settings.SecretHeader names another
// header). With a URL token, Sign adds no header, as Highlight does.
func New(s providers.Settings) (providers.Provider, error) {
	return providers.Build(s, providers.AuthSpec{Vendor: Name, NoSecret: "Highlight does not sign its webhooks; configure a secret and set url_token: true to accept it as ?token= in the webhook URL", Headerless: true},
		providers.TokenScheme(s.SecretHeader), func(auth *providers.Auth) *Provider { return &Provider{auth} })
}

// IdentifyFix says how Highlight events come to carry a user id.
func (p *Provider) IdentifyFix() string {
	return "Highlight: call `H.identify(userId)` at login."
}

package amplitude

import (
	"net/http"
	"time"

	"github.com/replayhook/replayhook/providers"
)

// Name is the provider name used in config.
const Name = "amplitude"

// Provider verifies and parses Amplitude deliveries for one source.
type Provider struct{ *providers.Auth }

// New builds the provider. Amplitude does not sign its webhooks, so a
// source is authenticated by a static secret header that the customer adds
// in the sync's headers (Authorization: Bearer <secret> unless
// Settings.SecretHeader names another header); a source with no secret does
// not start unless it is explicitly unsigned. Sign adds Amplitude's preset
// headers.
func New(s providers.Settings) (providers.Provider, error) {
	return providers.Build(s, providers.AuthSpec{Vendor: Name, NoSecret: "Amplitude does not sign its webhooks; configure a secret and add it as a header of the webhook sync", Headers: func(h http.Header, _ []byte, _ time.Time) { h.Set("User-Agent", "Amplitude/Webhook/1.0") }},
		providers.TokenScheme(s.SecretHeader), func(auth *providers.Auth) *Provider { return &Provider{auth} })
}

// IdentifyFix says how Amplitude events come to carry a user id.
func (p *Provider) IdentifyFix() string {
	return "Amplitude: call `amplitude.setUserId(userId)` at login."
}

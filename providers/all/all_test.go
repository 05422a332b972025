package all

import (
	"testing"

	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/custom"
)

// Every shipped provider can be simulated by `replayhook send` (Signer) and
// tells the drift page how its events come to carry a user id
// (IdentifyFixer): the interface guards of every vendor, in one place.
func TestEveryProviderSignsAndExplainsIdentify(t *testing.T) {
	r := Registry()
	for _, name := range r.Names() {
		s := providers.Settings{Secrets: []string{"s"}}
		if name == custom.Name {
			s.Custom = &custom.Spec{Verify: custom.Verify{Scheme: "token"}, Fields: map[string]custom.Field{"session_id": {Paths: []string{"session"}}}}
		}
		p, err := r.New(name, s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, ok := p.(providers.Signer); !ok {
			t.Errorf("%s is not a providers.Signer", name)
		}
		f, ok := p.(providers.IdentifyFixer)
		if !ok || f.IdentifyFix() == "" {
			t.Errorf("%s gives the drift page no identify fix", name)
		}
		if _, ok := p.(providers.QuerySigner); !ok {
			t.Errorf("%s is not a providers.QuerySigner", name)
		}
	}
}

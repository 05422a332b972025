package amplitude

import (
	"testing"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/providertest"
)

// Every fixture's events build ActionsPayloads that pass replayhook's
// validation, and read well in the activity text.
func TestFixturesNormalize(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	v := normalize.NewValidator()
	for name, body := range providertest.Fixtures(t, "") {
		d, err := p.Parse(&providers.Request{Body: body, Now: now})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, pl := range normalize.Payloads(d.Events, now) {
			if err := v.Actions(&pl); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, a := range pl.Actions {
				t.Logf("%s: [%d] %s: %s — %s | %s", name, a.Index, a.Type, a.Description, a.CanonicalURL, a.Title)
			}
		}
	}
}

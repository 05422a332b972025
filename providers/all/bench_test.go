package all_test

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/all"
	"github.com/replayhook/replayhook/providers/custom/customtest"
)

// benchSettings are the settings each provider is benchmarked with. A
// standard-webhooks secret must be a whsec_ base64 key.
var benchSettings = map[string]providers.Settings{
	"autoplay":  {Secrets: []string{"bench-secret"}},
	"posthog":   {Secrets: []string{"bench-secret"}},
	"fullstory": {Secrets: []string{"bench-secret"}, Tolerance: 5 * time.Minute},
	"sentry":    {Secrets: []string{"bench-secret"}},
	"segment":   {Secrets: []string{"bench-secret"}},
	"amplitude": {Secrets: []string{"bench-secret"}},
	"highlight": {Secrets: []string{"bench-secret"}},
	"standard":  {Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, Tolerance: 5 * time.Minute},
	"custom":    {Secrets: []string{"bench-secret"}, Custom: customtest.AutoplaySpec()},
}

// BenchmarkProviders is Verify + Parse + normalize.Payloads, the provider
// half of ingest, for every fixture in every provider's testdata/, signed
// with the provider's own Signer.
func BenchmarkProviders(b *testing.B) {
	reg := all.Registry()
	names := reg.Names()
	sort.Strings(names)
	now := time.Date(2025, 3, 14, 9, 45, 0, 0, time.UTC)
	for _, name := range names {
		settings, ok := benchSettings[name]
		if !ok {
			b.Fatalf("provider %s has no bench settings; add it to benchSettings", name)
		}
		p, err := reg.New(name, settings)
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		signer, ok := p.(providers.Signer)
		if !ok {
			b.Fatalf("%s: provider is not a Signer", name)
		}
		files, err := filepath.Glob(filepath.Join("..", name, "testdata", "*.json"))
		if err != nil || len(files) == 0 {
			b.Fatalf("%s: no fixtures (%v)", name, err)
		}
		for _, f := range files {
			body, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			req := &providers.Request{Header: signer.Sign(body, settings.Secrets[0], now), Body: body, Now: now}
			b.Run(name+"/"+filepath.Base(f), func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					if err := p.Verify(req); err != nil {
						b.Fatalf("verify: %v", err)
					}
					d, err := p.Parse(req)
					if err != nil {
						b.Fatalf("parse: %v", err)
					}
					_ = normalize.Payloads(d.Events, now)
				}
			})
		}
	}
}

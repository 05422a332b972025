// Package all registers every vendor adapter. To add a vendor: write its
// package under providers/, then add one line here.
package all

import (
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/amplitude"
	"github.com/replayhook/replayhook/providers/autoplay"
	"github.com/replayhook/replayhook/providers/custom"
	"github.com/replayhook/replayhook/providers/fullstory"
	"github.com/replayhook/replayhook/providers/highlight"
	"github.com/replayhook/replayhook/providers/posthog"
	"github.com/replayhook/replayhook/providers/segment"
	"github.com/replayhook/replayhook/providers/sentry"
	"github.com/replayhook/replayhook/providers/standard"
)

// Registry returns a registry holding every provider replayhook ships.
func Registry() *providers.Registry {
	r := providers.NewRegistry()
	r.Register(autoplay.Name, autoplay.New)
	r.Register(posthog.Name, posthog.New)
	r.Register(fullstory.Name, fullstory.New)
	r.Register(sentry.Name, sentry.New)
	r.Register(segment.Name, segment.New)
	r.Register(amplitude.Name, amplitude.New)
	r.Register(highlight.Name, highlight.New)
	r.Register(standard.Name, standard.New)
	r.Register(custom.Name, custom.New)
	return r
}

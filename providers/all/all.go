// Package all registers every vendor adapter. To add a vendor: write its
// package under providers/, then add one line here.
package all

import (
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/autoplay"
)

// Registry returns a registry holding every provider replayhook ships.
func Registry() *providers.Registry {
	r := providers.NewRegistry()
	r.Register(autoplay.Name, autoplay.New)
	return r
}

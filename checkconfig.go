package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/replayhook/replayhook/app"
	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/all"
	"github.com/replayhook/replayhook/providers/fullstory"
	"github.com/replayhook/replayhook/providers/standard"
)

// defaultTolerance is, for each provider that checks a signed timestamp,
// the window that applies when a source sets tolerance_seconds: 0. The other
// providers do not use tolerance_seconds.
var defaultTolerance = map[string]time.Duration{
	fullstory.Name: providers.DefaultTolerance,
	standard.Name:  providers.DefaultTolerance,
}

func checkConfig(args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "config file")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, path, err := loadConfig(*cfgPath, getenv)
	if err != nil {
		return err
	}
	if _, err := app.BuildSources(cfg, all.Registry()); err != nil {
		return err
	}
	out, err := effectiveYAML(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# effective configuration from %s (secrets masked)\n%s", path, out)
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(stdout, "# warning:", w)
	}
	for _, w := range app.RedisWarnings(cfg) {
		fmt.Fprintln(stdout, "# warning:", w)
	}
	if err := cfg.CheckListen(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "# ok")
	return nil
}

// effectiveYAML prints the masked configuration with the values that apply:
// a tolerance_seconds of 0 shows the provider's default, with a comment.
func effectiveYAML(cfg *config.Config) ([]byte, error) {
	masked := cfg.Masked()
	var doc yaml.Node
	if err := doc.Encode(&masked); err != nil {
		return nil, err
	}
	sources := mapValue(&doc, "sources")
	for i, s := range cfg.Sources {
		if sources == nil || i >= len(sources.Content) {
			break
		}
		tol := mapValue(sources.Content[i], "tolerance_seconds")
		if tol == nil {
			continue
		}
		def, uses := defaultTolerance[s.Provider]
		switch {
		case !uses:
			tol.LineComment = "not used: " + s.Provider + " deliveries carry no signed timestamp"
		case s.ToleranceSeconds == 0:
			tol.Value = strconv.Itoa(int(def.Seconds()))
			tol.LineComment = "0 in the file: the provider's default"
		}
	}
	return yaml.Marshal(&doc)
}

// mapValue is the value of key in mapping n, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

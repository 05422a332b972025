package main

import (
	"flag"
	"fmt"
	"io"

	yaml "go.yaml.in/yaml/v3"

	"github.com/replayhook/replayhook/app"
	"github.com/replayhook/replayhook/providers/all"
)

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
	masked := cfg.Masked()
	out, err := yaml.Marshal(&masked)
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

// Command replayhook receives session-replay vendors' webhooks, normalizes
// them into the Autoplay SDK's ActionsPayload, indexes user → recent
// sessions and answers the chat layer's lookups. See README.md.
//
// main only wires the process: flags, configuration, logger, listener,
// signals, snapshots and shutdown; package app builds every dependency from
// the configuration and passes it in; the packages do the work (providers,
// normalize, index, webhooks).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/replayhook/replayhook/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "replayhook:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  replayhook [serve] [--config PATH]                          run the server
  replayhook send --source NAME FILE|- [--now] [-v] [--config PATH] [--url URL]
                                                             post FILE as NAME's vendor would (replayhook send --help)
  replayhook map --source NAME FILE|- [--config PATH]     print what NAME makes of FILE, field by field, without a server
  replayhook check-config [--config PATH]                     validate and print the effective config (secrets masked)
  replayhook forward-test --target NAME [--config PATH]       POST one signed sample payload to a forward target

The config path is --config, else $REPLAYHOOK_CONFIG, else ./config.yaml.`

// run is the whole program; ctx ends it (SIGINT/SIGTERM in main).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout)
	case "send":
		return send(ctx, args, getenv, os.Stdin, stdout)
	case "map":
		return mapCommand(args, getenv, os.Stdin, stdout)
	case "check-config":
		return checkConfig(args, getenv, stdout)
	case "forward-test":
		return forwardTest(ctx, args, getenv, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// parseFlags parses fs from args, allowing flags after positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func loadConfig(path string, getenv func(string) string) (*config.Config, string, error) {
	if path == "" {
		path = getenv("REPLAYHOOK_CONFIG")
	}
	if path == "" {
		path = "config.yaml"
	}
	cfg, err := config.Load(path, getenv)
	return cfg, path, err
}

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
	os.Exit(mainCode())
}

// mainCode runs the command line until it finishes or SIGINT/SIGTERM and
// returns the process's exit code; a function of its own so that its
// deferred calls run before main exits.
func mainCode() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "replayhook:", err)
		return 1
	}
	return 0
}

// commands is every subcommand, in the order `replayhook help` lists them.
// A command is a function in its own file and a help text (help.go has the
// format); -h/--help on any command prints that text and exits 0. (A
// function rather than a variable: help refers back to the list.)
func commands() []command {
	return []command{
		{"serve", serveHelp, func(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
			return serve(ctx, args, getenv, stdout)
		}},
		{"send", sendCommandHelp, func(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
			return send(ctx, args, getenv, os.Stdin, stdout)
		}},
		{"map", help{Summary: "print what a source makes of a delivery, field by field, without a server", Text: mapHelp},
			func(_ context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
				return mapCommand(args, getenv, os.Stdin, stdout)
			}},
		{"check-config", checkConfigHelp, func(_ context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
			return checkConfig(args, getenv, stdout)
		}},
		{"forward-test", forwardTestHelp, func(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
			return forwardTest(ctx, args, getenv, stdout)
		}},
		{"healthcheck", healthcheckHelp, healthcheck},
		{"version", versionHelp, version},
		{"help", helpHelp, helpCommand},
	}
}

// run is the whole program; ctx ends it (SIGINT/SIGTERM in main).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	name := "serve"
	switch {
	case len(args) > 0 && isHelpFlag(args[0]):
		name, args = "help", nil
	case len(args) > 0 && !strings.HasPrefix(args[0], "-"):
		name, args = args[0], args[1:]
	}
	cmd, ok := lookupCommand(name)
	if !ok {
		writeOverview(stderr)
		return fmt.Errorf("unknown command %q (replayhook help lists them)", name)
	}
	if wantsHelp(args) {
		cmd.help.write(stdout, cmd.name)
		return nil
	}
	return cmd.run(ctx, args, getenv, stdout, stderr)
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

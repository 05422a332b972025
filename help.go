package main

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// command is one subcommand of replayhook.
type command struct {
	name string
	help help
	run  func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error
}

// help is a command's help text, printed by `replayhook help NAME` and by
// NAME -h/--help, in the layout of the tools operators know (git, kubectl):
// a summary, the usage line, a description with the arguments and flags,
// and examples that can be copied as they are.
type help struct {
	// Summary is one line for the command list.
	Summary string
	// Usage is the synopsis after "replayhook", e.g. "send --source NAME FILE".
	Usage string
	// Description explains what the command does, then its arguments and
	// flags, each flag on its own line.
	Description string
	// Examples are command lines, each optionally followed by "  # comment".
	Examples []string
	// Text, when set, is the whole help text of a command that writes its
	// own (send): printed as it is, instead of the fields above. It must
	// still have a usage line, the arguments and flags, and examples.
	Text string
}

func (h help) write(w io.Writer, name string) {
	if h.Text != "" {
		fmt.Fprintln(w, strings.TrimSpace(h.Text))
		return
	}
	fmt.Fprintf(w, "replayhook %s: %s\n\nUsage:\n  replayhook %s\n\n%s\n", name, h.Summary, h.Usage, strings.TrimSpace(h.Description))
	if len(h.Examples) > 0 {
		fmt.Fprintf(w, "\nExamples:\n")
		for _, e := range h.Examples {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
}

func lookupCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func isHelpFlag(arg string) bool { return arg == "-h" || arg == "--help" || arg == "-help" }

// wantsHelp reports whether args ask for help (before any "--").
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelpFlag(a) {
			return true
		}
	}
	return false
}

const configFlagHelp = `  --config PATH   the configuration file; default $REPLAYHOOK_CONFIG, else ./config.yaml`

func writeOverview(w io.Writer) {
	fmt.Fprint(w, `replayhook receives session-replay and analytics vendors' webhooks, normalizes
them into the Autoplay SDK's ActionsPayload and answers the chat layer's
lookups by user id.

Usage:
  replayhook [COMMAND] [FLAGS]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.help.Summary)
	}
	fmt.Fprint(w, `
With no command, replayhook runs serve. "replayhook help COMMAND" or
"replayhook COMMAND --help" describes one command. Documentation: README.md,
docs/operations.md, docs/openapi.yaml.
`)
}

var helpHelp = help{
	Summary: "describe the commands, or one command",
	Usage:   "help [COMMAND]",
	Description: `
Prints the list of commands, or the description, arguments, flags and
examples of COMMAND (the same as "replayhook COMMAND --help").`,
	Examples: []string{"replayhook help", "replayhook help send"},
}

func helpCommand(_ context.Context, args []string, _ func(string) string, stdout, _ io.Writer) error {
	if len(args) == 0 {
		writeOverview(stdout)
		return nil
	}
	c, ok := lookupCommand(args[0])
	if !ok {
		return fmt.Errorf("no command %q (replayhook help lists them)", args[0])
	}
	c.help.write(stdout, c.name)
	return nil
}

var serveHelp = help{
	Summary: "run the server (the default command)",
	Usage:   "serve [--config PATH]",
	Description: `
Loads and validates the configuration, restores the snapshot (if any),
listens on server.addr and serves webhooks, the lookup API, /livez, /readyz
and /metrics until SIGINT or SIGTERM, then drains, stops and writes the
snapshot. A configuration error stops it before it listens, naming the key,
its line and the environment variable it came from. Development secrets
("dev-...") are refused on any address that is not loopback.

Flags:
` + configFlagHelp,
	Examples: []string{
		"replayhook serve --config /etc/replayhook/config.yaml",
		"replayhook                                    # serve ./config.yaml on 127.0.0.1:8080",
		"REPLAYHOOK_ADDR=0.0.0.0:8080 REPLAYHOOK_API_TOKEN=... replayhook serve",
	},
}

// sendCommandHelp wraps send's own help text (sendHelp, next to send).
var sendCommandHelp = help{
	Summary: "sign a delivery exactly as a vendor would and POST it to the server",
	Text:    sendHelp,
}

var checkConfigHelp = help{
	Summary: "validate the configuration and print it as it applies (secrets masked)",
	Usage:   "check-config [--config PATH]",
	Description: `
Loads the configuration exactly as serve would (environment variables
expanded), builds every source, prints the effective values with every
secret masked and defaults filled in (a tolerance_seconds of 0 shows the
window that applies), then warnings for risky settings. Exits 1, naming the
key, its line and the environment variable, when serve would refuse to
start.

Flags:
` + configFlagHelp,
	Examples: []string{
		"replayhook check-config",
		"REPLAYHOOK_ADDR=0.0.0.0:8080 replayhook check-config --config deploy/config.production.yaml",
	},
}

var forwardTestHelp = help{
	Summary: "POST one signed sample payload to a forward target, as forwarding would",
	Usage:   "forward-test --target NAME [--config PATH]",
	Description: `
Builds a sample ActionsPayload for the target's first product and sends it to
the forward target NAME exactly as forwarding does (signed with the target's
secret, its headers and timeout), once: no queue, no retry. Prints the
target's answer; exits 1 unless it accepted. The way to check a target's URL
and secret before real payloads flow.

Flags:
  --target NAME   a target name from the configuration's forward: list (required)
` + configFlagHelp,
	Examples: []string{"replayhook forward-test --target chat", "replayhook forward-test --target chat --config /etc/replayhook/config.yaml"},
}

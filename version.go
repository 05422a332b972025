package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/replayhook/replayhook/internal/buildinfo"
)

var versionHelp = help{
	Summary: "print the version and the VCS revision this binary was built from",
	Usage:   "version [--json]",
	Description: `
Prints the module version (a release tag such as v0.4.0, or a pseudo-version
when built from a checkout), the commit, its time, whether the work tree had
uncommitted changes, and the Go version, as recorded by the Go toolchain at
build time. The running server reports the same in /livez and in the
replayhook_build_info metric.

Flags:
  --json          print a JSON object instead of one line`,
	Examples: []string{"replayhook version", "replayhook version --json"},
}

func version(_ context.Context, args []string, _ func(string) string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("version takes no arguments, got %q", pos[0])
	}
	in := buildinfo.Read()
	if *asJSON {
		return json.NewEncoder(stdout).Encode(in)
	}
	fmt.Fprintln(stdout, "replayhook", in)
	return nil
}

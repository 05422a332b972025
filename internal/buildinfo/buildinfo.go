// Package buildinfo says which build of replayhook is running: the module
// version and the VCS revision the Go toolchain stamps into every binary
// built from a checkout (runtime/debug.ReadBuildInfo), so `replayhook
// version`, /livez and the replayhook_build_info metric agree.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Info describes one build. Fields the toolchain did not record are
// "unknown" (Revision, Time) or false (Modified).
type Info struct {
	// Version is the main module's version: a tag such as v0.4.0 when built
	// with `go install ...@v0.4.0`, a pseudo-version from a checkout, or
	// "(devel)".
	Version string `json:"version"`
	// Revision is the VCS commit the binary was built from.
	Revision string `json:"revision"`
	// Time is the commit's time (RFC 3339).
	Time string `json:"revision_time,omitempty"`
	// Modified is true when the work tree had uncommitted changes.
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"go_version"`
}

// linkedVersion and linkedRevision, when set at link time
// (-ldflags "-X github.com/replayhook/replayhook/internal/buildinfo.linkedVersion=v0.4.0"),
// win over what the toolchain recorded: a Docker build has no .git to read.
var linkedVersion, linkedRevision string

// Read returns the running binary's build information.
func Read() Info {
	in := Info{Version: "unknown", Revision: "unknown", GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		in = FromBuildInfo(bi)
	}
	return in.linked(linkedVersion, linkedRevision)
}

func (in Info) linked(version, revision string) Info {
	if version != "" {
		in.Version = version
	}
	if revision != "" {
		in.Revision = revision
	}
	return in
}

// FromBuildInfo extracts Info from bi.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Version: bi.Main.Version, Revision: "unknown", GoVersion: bi.GoVersion}
	if in.Version == "" {
		in.Version = "unknown"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Revision = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

// ShortRevision is the first 12 characters of Revision.
func (in Info) ShortRevision() string {
	if len(in.Revision) > 12 {
		return in.Revision[:12]
	}
	return in.Revision
}

// String is one line: "v0.4.0 (revision 0123456789ab, 2026-12-04T15:00:00Z, modified) go1.26.8".
func (in Info) String() string {
	rev := "revision " + in.ShortRevision()
	if in.Time != "" {
		rev += ", " + in.Time
	}
	if in.Modified {
		rev += ", modified"
	}
	return fmt.Sprintf("%s (%s) %s", in.Version, rev, in.GoVersion)
}

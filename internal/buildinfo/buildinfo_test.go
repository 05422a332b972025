package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"tagged release", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.4.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-04T15:00:00Z"}, {Key: "vcs.modified", Value: "false"},
		}}, "v0.4.0 (revision 0123456789ab, 2026-12-04T15:00:00Z) go1.26.8"},
		{"dirty checkout", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"},
		}}, "(devel) (revision abc, modified) go1.26.8"},
		{"no VCS information (go test, -buildvcs=false)", debug.BuildInfo{GoVersion: "go1.26.8"}, "unknown (revision unknown) go1.26.8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FromBuildInfo(&tt.bi).String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadInATestBinary(t *testing.T) {
	in := Read()
	if in.GoVersion == "" || in.Version == "" || in.Revision == "" {
		t.Fatalf("every field has a value, even when unknown: %+v", in)
	}
}

func TestLinkedValuesWin(t *testing.T) {
	in := FromBuildInfo(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}})
	if got := in.linked("v0.4.0", "abc").String(); got != "v0.4.0 (revision abc) go1.26.8" {
		t.Fatalf("got %q", got)
	}
	if got := in.linked("", "").String(); got != "(devel) (revision unknown) go1.26.8" {
		t.Fatalf("empty link-time values must not erase: %q", got)
	}
}

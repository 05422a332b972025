package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfile checks what can be checked without a Docker engine: every
// file the build copies exists and is not left out by .dockerignore, the
// context leaves out what must never reach an image (.git, snapshots with
// personal data, env files with secrets), and HEALTHCHECK runs a command
// the binary has.
func TestDockerfile(t *testing.T) {
	df, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	ignore, err := os.ReadFile(".dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(ignore), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, strings.TrimSuffix(strings.TrimPrefix(l, "/"), "/"))
		}
	}
	ignored := func(path string) bool {
		for _, p := range patterns {
			for dir := path; dir != "." && dir != "/"; dir = filepath.Dir(dir) {
				if ok, _ := filepath.Match(strings.TrimPrefix(p, "**/"), dir); ok {
					return true
				}
				if ok, _ := filepath.Match(strings.TrimPrefix(p, "**/"), filepath.Base(dir)); ok && strings.HasPrefix(p, "**/") {
					return true
				}
			}
		}
		return false
	}
	for _, must := range []string{".git", "data/replayhook.snapshot", "x/y.snapshot", "replayhook.env", "tmp/a"} {
		if !ignored(must) {
			t.Errorf(".dockerignore lets %s into the build context", must)
		}
	}
	copies := regexp.MustCompile(`(?m)^COPY (?:--[a-z]+=\S+ )*(.+) \S+$`).FindAllStringSubmatch(string(df), -1)
	if len(copies) < 3 {
		t.Fatalf("found %d COPY lines", len(copies))
	}
	for _, c := range copies {
		if strings.Contains(c[0], "--from=") {
			continue
		}
		for _, src := range strings.Fields(c[1]) {
			if src == "." {
				continue
			}
			if _, err := os.Stat(src); err != nil {
				t.Errorf("COPY %s: %v", src, err)
			}
			if ignored(src) {
				t.Errorf("COPY %s: .dockerignore leaves it out of the context", src)
			}
		}
	}
	for _, need := range []string{"go.mod", "go.sum", "main.go", "config/load.go"} {
		if ignored(need) {
			t.Errorf(".dockerignore leaves %s out: the build needs it", need)
		}
	}
	hc := regexp.MustCompile(`(?m)^\s*CMD \["/replayhook", "([a-z-]+)"`).FindAllStringSubmatch(string(df), -1)
	if !strings.Contains(string(df), "HEALTHCHECK") || len(hc) == 0 {
		t.Fatal("no HEALTHCHECK running the binary")
	}
	for _, m := range hc {
		if _, ok := lookupCommand(m[1]); !ok {
			t.Errorf("the Dockerfile runs %q, which is not a replayhook command", m[1])
		}
	}
}

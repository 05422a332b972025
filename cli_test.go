package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(args []string, getenv map[string]string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, func(k string) string { return getenv[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// TestHelpOnEveryCommand: -h, --help and `help NAME` print the command's
// description, usage and examples on stdout and succeed, for every command.
func TestHelpOnEveryCommand(t *testing.T) {
	for _, c := range commands() {
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}, {c.name, "--config", "nowhere.yaml", "-h"}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				out, _, err := runCLI(args, nil)
				if err != nil {
					t.Fatalf("exit with %v", err)
				}
				lower := strings.ToLower(out)
				for _, want := range []string{"usage:", "replayhook " + c.name, "examples:\n  replayhook " + c.name} {
					if !strings.Contains(lower, want) {
						t.Errorf("help lacks %q:\n%s", want, out)
					}
				}
				if c.help.Text == "" && (len(strings.TrimSpace(c.help.Description)) < 40 || !strings.HasPrefix(out, "replayhook "+c.name+": "+c.help.Summary)) {
					t.Errorf("%s: a summary line and a description that helps", c.name)
				}
				if c.help.Summary == "" {
					t.Errorf("%s: no summary for the command list", c.name)
				}
			})
		}
	}
}

func TestOverview(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		out, _, err := runCLI(args, nil)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		for _, c := range commands() {
			if !strings.Contains(out, "\n  "+c.name+" ") {
				t.Errorf("%v: overview does not list %s:\n%s", args, c.name, out)
			}
		}
	}
	_, stderr, err := runCLI([]string{"nosuch"}, nil)
	if err == nil || !strings.Contains(err.Error(), `unknown command "nosuch"`) || !strings.Contains(stderr, "Commands:") {
		t.Fatalf("unknown command: err %v, stderr:\n%s", err, stderr)
	}
	if _, _, err := runCLI([]string{"help", "nosuch"}, nil); err == nil {
		t.Fatal("help for an unknown command must fail")
	}
	// "--" ends the options: a later -h is an argument, not a help request.
	if !wantsHelp([]string{"--source", "a", "-h"}) || wantsHelp([]string{"--", "-h"}) {
		t.Fatal("wantsHelp")
	}
}

func TestVersion(t *testing.T) {
	out, _, err := runCLI([]string{"version"}, nil)
	if err != nil || !strings.HasPrefix(out, "replayhook ") || !strings.Contains(out, "(revision ") || !strings.Contains(out, "go1.") {
		t.Fatalf("version: %v %q", err, out)
	}
	out, _, err = runCLI([]string{"version", "--json"}, nil)
	var v struct{ Version, Revision, GoVersion string }
	if err != nil || json.Unmarshal([]byte(out), &v) != nil || v.Version == "" || v.Revision == "" {
		t.Fatalf("version --json: %v %q", err, out)
	}
	if _, _, err := runCLI([]string{"version", "extra"}, nil); err == nil {
		t.Fatal("version with an argument must fail")
	}
}

func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/livez" && r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()

	out, _, err := runCLI([]string{"healthcheck", "--url", srv.URL + "/readyz"}, nil)
	if err != nil || !strings.HasPrefix(out, "healthy: ") {
		t.Fatalf("ready server: %v %q", err, out)
	}

	// Without --url: server.addr from the configuration.
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("server: {addr: '${ADDR}'}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI([]string{"healthcheck", "--config", cfg}, map[string]string{"ADDR": "0.0.0.0:" + port}); err != nil {
		t.Fatalf("from the config (wildcard address): %v", err)
	}

	status = http.StatusServiceUnavailable
	if _, _, err := runCLI([]string{"healthcheck", "--url", srv.URL + "/readyz"}, nil); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("draining server must be unhealthy: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	if _, _, err := runCLI([]string{"healthcheck", "--url", "http://" + closed + "/readyz"}, nil); err == nil {
		t.Fatal("nothing listening must be unhealthy")
	}
	// A server that accepts but never answers: the timeout ends it.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	if _, _, err := runCLI([]string{"healthcheck", "--timeout", "50ms", "--url", fmt.Sprintf("http://%s/readyz", hang.Addr())}, nil); err == nil || !strings.Contains(err.Error(), "did not answer within 50ms") {
		t.Fatalf("hanging server: %v", err)
	}
}

func TestDialAddr(t *testing.T) {
	for in, want := range map[string]string{
		":8080": "127.0.0.1:8080", "0.0.0.0:8080": "127.0.0.1:8080", "[::]:9": "127.0.0.1:9",
		"127.0.0.2:8080": "127.0.0.2:8080", "10.1.2.3:80": "10.1.2.3:80", "[::1]:80": "[::1]:80",
	} {
		if got := dialAddr(in); got != want {
			t.Errorf("dialAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

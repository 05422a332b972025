package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for the load tool's server child:
// spawn re-executes os.Executable() with -serve-child.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "-serve-child" {
		main()
		return
	}
	os.Exit(m.Run())
}

// The load tool end to end, briefly: every phase runs, nothing is lost,
// and it reports what BENCHMARKS.md quotes (rates, CPU time, RSS, ratio).
func TestLoadToolRunsEveryPhase(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"child processes", nil, []string{"baseline (bare Echo + 1 HMAC):", "CPU time:", "ratio replayhook/baseline", "over 5 alternating rounds (per round", "peak RSS of the replayhook process", "0 missing"}},
		{"one round", []string{"-rounds", "1"}, []string{"in 1 alternating rounds", "over 1 alternating rounds", "0 missing"}},
		{"in process", []string{"-in-process"}, []string{"baseline (bare Echo + 1 HMAC):", "ratio replayhook/baseline", "server + load generator in one process", "0 missing"}},
		{"open-loop lookups and a preloaded index", []string{"-skip-baseline", "-lookup-rate", "50", "-preload", "500"}, []string{"50/s open loop", "preloaded 500 users", "lookups", "0 missing"}},
		{"ingest workers set", []string{"-skip-baseline", "-ingest-workers", "3"}, []string{"ingest workers 3", "0 missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			args := append([]string{"-duration", "300ms", "-conns", "2", "-lookup-conns", "1", "-users", "50"}, tc.args...)
			if err := run(args, &out); err != nil {
				t.Fatalf("run %v: %v\n%s", args, err, out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// With -store redis the tool starts its own redis-server (CI installs it;
// without it, outside CI, the test is skipped and says why).
func TestLoadToolOnRedis(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed (scripts/test.d/redis.sh installs it)")
		}
		t.Skip("redis-server is not installed")
	}
	var out bytes.Buffer
	args := []string{"-duration", "300ms", "-conns", "2", "-lookup-conns", "1", "-users", "50", "-store", "redis", "-skip-baseline"}
	if err := run(args, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, w := range []string{"redis: 127.0.0.1:", "redis memory after the run", "0 missing"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
}

// The load tool only ever loads loopback addresses, and refuses option
// combinations it cannot honour.
func TestLoadToolRefuses(t *testing.T) {
	for _, args := range [][]string{
		{"-url", "http://example.com:8080"},
		{"-url", "http://10.0.0.1:8080"},
		{"-url", "http://127.0.0.1:1", "-preload", "10"},
		{"-store", "redis", "-redis-addr", "redis.example.com:6379"},
		{"-redis-addr", "127.0.0.1:6379"},
		{"-store", "sqlite"},
		{"-conns", "0"},
		{"-lookup-rate", "-1"},
		{"-ingest-workers", "-1"},
		{"-serve-child", "nonsense"},
	} {
		if err := run(append(args, "-duration", "100ms"), &bytes.Buffer{}); err == nil {
			t.Errorf("run %v: no error", args)
		}
	}
}

// The nothing-lost check counts what the server does not give back: here
// a server that knows one user's first session and nothing else.
func TestVerifyCountsWhatIsMissing(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/users/"+userID(1) {
			_, _ = w.Write([]byte(`{"user_id":"u_1","sessions":[{"session_id":"` + sessionID(1, 0) + `"}]}`))
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	o := options{conns: 2, users: 3, sessions: 2}
	l := newLedger(o.users, o.sessions)
	l.add(false, 1, 0) // held
	l.add(false, 1, 1) // missing: the user lacks this session
	l.add(false, 2, 1) // missing: unknown user
	l.add(true, 0, 1)  // missing: unknown anonymous session
	if !l.has(true, 0, 1) || l.has(false, 0, 1) || l.has(true, 2, 1) {
		t.Fatal("the ledger mixes up identified and anonymous sessions")
	}
	missing, checked := verify(srv.URL, o, l)
	if missing != 3 || checked != 4 {
		t.Fatalf("missing %d of %d checked, want 3 of 4", missing, checked)
	}
}

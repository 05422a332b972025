// Package redistest starts real Redis processes on loopback ports for
// tests: a single redis-server, a Redis Cluster of several masters, and a
// Sentinel watching a master. Each process belongs to one test and is
// killed in its Cleanup; nothing is written outside the test's temporary
// directories.
//
// Without redis-server on PATH the test fails when the CI environment
// variable is set (so CI never skips silently) and is skipped elsewhere
// with the install command.
package redistest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startTimeout bounds how long a started process may take to answer PING.
const startTimeout = 15 * time.Second

// Options are how one redis-server is started.
type Options struct {
	// Persist turns the append-only file on (fsync on every write), so a
	// killed and restarted server keeps every write it acknowledged;
	// otherwise nothing is written to disk.
	Persist bool
	// Config, when not empty, is written to redis.conf in the server's
	// directory and given as the configuration file (Sentinel needs one it
	// can rewrite).
	Config string
	// Args are more redis-server arguments, after the harness's own.
	Args []string
}

// Server is one redis-server process on a loopback port, owned by one
// test. Its methods are safe for concurrent use.
type Server struct {
	tb   testing.TB
	bin  string
	port int
	dir  string
	opts Options

	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{}
}

// Binary returns the path of redis-server, or ends tb: Fatal under CI,
// Skip elsewhere.
func Binary(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server is not installed (Debian: apt-get install -y redis-server; scripts/test installs it)"
		if os.Getenv("CI") != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return bin
}

// Start starts a redis-server for tb on a free loopback port, waits until
// it answers, and kills it when tb ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := &Server{tb: tb, bin: Binary(tb), dir: tb.TempDir(), opts: opts}
	tb.Cleanup(s.Kill)
	if opts.Config != "" {
		if err := os.WriteFile(filepath.Join(s.dir, "redis.conf"), []byte(opts.Config), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	var lastErr error
	for range 5 { // another process may take the free port before redis-server binds it
		s.port = FreePort(tb)
		if lastErr = s.start(); lastErr == nil {
			return s
		}
	}
	tb.Fatalf("redis-server did not start: %v", lastErr)
	return nil
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Port is the server's TCP port.
func (s *Server) Port() int { return s.port }

// Dir is the server's data directory (a temporary directory of the test).
func (s *Server) Dir() string { return s.dir }

// start runs redis-server on s.port and waits until it answers PING.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var args []string
	if s.opts.Config != "" {
		args = append(args, filepath.Join(s.dir, "redis.conf"))
	}
	args = append(args, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--dir", s.dir,
		"--daemonize", "no", "--logfile", "", "--loglevel", "warning")
	if s.opts.Persist {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	args = append(args, s.opts.Args...)
	cmd := exec.Command(s.bin, args...)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.out, s.done = cmd, out, done

	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	// Any reply, even NOAUTH from a server with a password, means it is up.
	up := func(err error) bool {
		return err == nil || strings.Contains(err.Error(), "NOAUTH") || strings.Contains(err.Error(), "AUTH")
	}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server exited: %s", out)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if up(err) {
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server on port %d does not answer: %w\n%s", s.port, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill stops the server at once (SIGKILL: no shutdown save, as in a crash)
// and waits for it to exit. Killing a stopped server does nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart starts the server again on the same port with the same data
// directory; the test fails if it does not answer.
func (s *Server) Restart() {
	s.tb.Helper()
	if err := s.start(); err != nil {
		s.tb.Fatal(err)
	}
}

// Client is a plain client of the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	s.tb.Cleanup(func() { _ = c.Close() })
	return c
}

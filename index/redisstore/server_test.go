package redisstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index/redisstore"
)

// redisServer is a real redis-server on a free loopback port, owned by one
// test: started by startRedis, killed in t.Cleanup.
type redisServer struct {
	tb      testing.TB
	bin     string
	port    int
	dir     string
	persist bool
	extra   []string // more redis-server arguments

	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{}
}

// startRedis starts a redis-server for tb. persist turns the append-only
// file on (fsync on every write) so that a killed and restarted server
// keeps every write it acknowledged; otherwise nothing is written to disk.
// extra are more redis-server arguments. Without redis-server the test
// fails under CI and is skipped elsewhere.
func startRedis(tb testing.TB, persist bool, extra ...string) *redisServer {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server is not installed (Debian: apt-get install -y redis-server; scripts/test installs it)"
		if os.Getenv("CI") != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	s := &redisServer{tb: tb, bin: bin, dir: tb.TempDir(), persist: persist, extra: extra}
	tb.Cleanup(s.kill)
	var lastErr error
	for range 5 { // another process may take the free port before redis-server binds it
		s.port = freePort(tb)
		if lastErr = s.start(); lastErr == nil {
			return s
		}
	}
	tb.Fatalf("redis-server did not start: %v", lastErr)
	return nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// addr is the server's host:port.
func (s *redisServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// start runs redis-server on s.port and waits until it answers PING.
func (s *redisServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	args := []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--dir", s.dir,
		"--daemonize", "no", "--logfile", "", "--loglevel", "warning"}
	if s.persist {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	args = append(args, s.extra...)
	cmd := exec.Command(s.bin, args...)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.out, s.done = cmd, out, done

	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	// Any reply, even NOAUTH from a server with a password, means it is up.
	up := func(err error) bool {
		return err == nil || strings.Contains(err.Error(), "NOAUTH") || strings.Contains(err.Error(), "AUTH")
	}
	deadline := time.Now().Add(15 * time.Second)
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
			return fmt.Errorf("redis-server on port %d does not answer: %v\n%s", s.port, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops the server at once (SIGKILL: no shutdown save, as in a crash)
// and waits for it to exit.
func (s *redisServer) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// restart starts the server again on the same port with the same data
// directory.
func (s *redisServer) restart() {
	s.tb.Helper()
	if err := s.start(); err != nil {
		s.tb.Fatal(err)
	}
}

// client is a plain client for inspecting the server.
func (s *redisServer) client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.addr()})
	s.tb.Cleanup(func() { _ = c.Close() })
	return c
}

// uniquePrefix is a key prefix no other store uses (random).
func uniquePrefix() string { return "test-" + rand.Text()[:12] + ":" }

// redisConfig is the configuration of a store on srv under prefix.
func redisConfig(srv *redisServer, prefix string) config.Redis {
	cfg := config.Default().Store.Redis
	cfg.Addr = srv.addr()
	cfg.KeyPrefix = prefix
	return cfg
}

// newStore is a Store on srv with its own key prefix, closed at cleanup.
func newStore(tb testing.TB, srv *redisServer, l redisstore.Limits) *redisstore.Store {
	tb.Helper()
	return newStoreWithPrefix(tb, srv, uniquePrefix(), l)
}

func newStoreWithPrefix(tb testing.TB, srv *redisServer, prefix string, l redisstore.Limits) *redisstore.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := redisstore.New(ctx, redisConfig(srv, prefix), l)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
			tb.Error(err)
		}
	})
	return st
}

// waitFor polls cond until it holds or the deadline passes; it is how a
// test waits for something to recover, never a timing assertion.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

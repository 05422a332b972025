package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	"github.com/replayhook/replayhook/app"
	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/normalize"
)

// The servers a run measures: replayhook (in a child process), the baseline
// and, when asked, a redis-server; all on loopback.

// startServer starts the baseline or replayhook server, in a child process
// unless -in-process.
func startServer(o options, kind, storeCfg string, out io.Writer) (string, *child, func(), error) {
	if o.inProcess {
		var u string
		var stop func()
		var err error
		if kind == "baseline" {
			u, stop, err = startBaseline()
		} else {
			u, stop, err = startReplayhook(o, storeCfg, out)
		}
		return u, nil, stop, err
	}
	c, err := spawn(kind, nil, out)
	if err != nil {
		return "", nil, nil, err
	}
	return c.URL, c, c.stop, nil
}

// startProfile starts a CPU profile of the server: of the child process,
// or of this one with -in-process (server is nil).
func startProfile(server *child, path string) error {
	if server != nil {
		_, err := server.call("profile " + path)
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	return pprof.StartCPUProfile(f)
}

func stopProfile(server *child) error {
	if server != nil {
		_, err := server.call("unprofile")
		return err
	}
	pprof.StopCPUProfile()
	return nil
}

// loopbackOnly refuses any target that is not on the loopback interface.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-url %s: loopback targets only", raw)
}

// loopbackRedis refuses a Redis address (host:port or URL) that is not on
// the loopback interface: the load tool never loads a shared Redis.
func loopbackRedis(addr string) error {
	var host string
	if strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err != nil {
			return errors.New("-redis-addr: not a valid URL")
		}
		host = u.Hostname()
	} else {
		h, _, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("-redis-addr %q: host:port or a redis:// URL", addr)
		}
		host = h
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("-redis-addr: loopback Redis only (got host %q)", host)
}

// startRedisServer starts a throwaway redis-server on a free loopback port
// (no persistence, data in a temporary directory) and waits until it
// answers. stop kills it and removes the directory.
func startRedisServer() (addr string, stop func(), err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, errors.New("-store redis without -redis-addr needs redis-server on PATH (Debian: apt-get install redis-server)")
	}
	dir, err := os.MkdirTemp("", "replayhook-bench-redis-")
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no", "--logfile", "", "--loglevel", "warning")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop = func() {
		_ = cmd.Process.Kill()
		<-exited
		os.RemoveAll(dir)
	}
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return addr, stop, nil
		}
		select {
		case <-exited:
			stop()
			return "", nil, fmt.Errorf("redis-server exited: %s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("redis-server on %s does not answer: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// redisMemory is Redis's used and peak memory and key count, as INFO
// reports them (the whole server, not only this run's prefix).
func redisMemory(addr string) string {
	var c *redis.Client
	if strings.Contains(addr, "://") {
		opts, err := redis.ParseURL(addr)
		if err != nil {
			return "unknown (bad URL)"
		}
		c = redis.NewClient(opts)
	} else {
		c = redis.NewClient(&redis.Options{Addr: addr})
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	field := func(name string) string {
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(line, name+":"); ok {
				return strings.TrimSpace(v)
			}
		}
		return "?"
	}
	keys, _ := c.DBSize(ctx).Result()
	return fmt.Sprintf("used_memory %s, used_memory_peak %s, %d keys in the database", field("used_memory_human"), field("used_memory_peak_human"), keys)
}

// startBaseline serves POST /webhooks/autoplay on a bare Echo v4: read the
// body, check X-Connector-Signature = sha256=hex(HMAC-SHA256(secret, body))
// in constant time, answer 200.
func startBaseline() (string, func(), error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	key := []byte(secret)
	e.POST("/webhooks/autoplay", func(c echo.Context) error {
		body, err := io.ReadAll(io.LimitReader(c.Request().Body, 1<<20))
		if err != nil {
			return c.NoContent(http.StatusBadRequest)
		}
		m := hmac.New(sha256.New, key)
		m.Write(body)
		want := "sha256=" + hex.EncodeToString(m.Sum(nil))
		if !hmac.Equal([]byte(want), []byte(c.Request().Header.Get("X-Connector-Signature"))) {
			return c.NoContent(http.StatusUnauthorized)
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "accepted"})
	})
	return listen(e)
}

func listen(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// startReplayhook writes a config to a temp dir (storeCfg, when not empty,
// is its store section), loads it with config.Load and builds the server
// with app.New, as main does (snapshots are off), then preloads -preload
// users into its index.
func startReplayhook(o options, storeCfg string, out io.Writer) (string, func(), error) {
	dir, err := os.MkdirTemp("", "replayhook-bench-")
	if err != nil {
		return "", nil, err
	}
	defer os.RemoveAll(dir)
	maxUsers := o.users + o.preload + 1000
	// Identified ("s_…") and anonymous ("anon_…") sessions are distinct
	// ids: room for both, so no accepted session is evicted before the
	// visibility check.
	maxSessions := 2*o.users*o.sessions + 1000
	yml := fmt.Sprintf(`server:
  addr: 127.0.0.1:0
  max_concurrent_ingests: 512
  ingest_workers: %d
auth:
  tokens:
    - {name: bench, token: %s, products: ["*"]}
index:
  lookback_seconds: 3600
  max_sessions_per_user: %d
  max_users: %d
activity:
  max_sessions: %d
  max_actions_per_session: 200
dedupe:
  max_keys: %d
  window_seconds: 86400
drift:
  max_known_ids: %d
snapshot:
  path: ""
log:
  level: info
  format: json
sources:
  - {name: autoplay, provider: autoplay, product_id: %s, secrets: [%s]}
%s`, o.workers, token, o.sessions+1, maxUsers, maxSessions, 4*maxSessions, maxUsers, product, secret, storeCfg)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		return "", nil, err
	}
	cfg, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		return "", nil, err
	}
	removeState, err := benchDurability(cfg)
	if err != nil {
		return "", nil, err
	}
	// The very server main runs, built by the same code; its log lines are
	// formatted as in production and discarded.
	rh, err := app.New(cfg, app.NewLogger(cfg.Log, io.Discard), time.Now)
	if err != nil {
		removeState()
		return "", nil, err
	}
	users, closeAll := rh.Users, func() { _ = rh.Close(); removeState() }
	if err := rh.Restore(time.Now()); err != nil {
		closeAll()
		return "", nil, err
	}
	if o.preload > 0 {
		start := time.Now()
		ctx := context.Background()
		at := normalize.UnixSeconds(start)
		for i := range o.preload {
			id := "pre_" + strconv.Itoa(i)
			if err := users.Link(ctx, id, "", index.SessionRef{SessionID: "pre_s_" + strconv.Itoa(i), ProductID: product, LastSeenAt: at}, start); err != nil {
				closeAll()
				return "", nil, fmt.Errorf("preload: %w", err)
			}
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(out, "preloaded %d users in %s (heap in use after GC: %d MiB)\n", o.preload, time.Since(start).Round(time.Millisecond), ms.HeapInuse>>20)
	}
	hs := rh.Server.HTTPServer()
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		closeAll()
		return "", nil, err
	}
	go func() { _ = hs.Serve(ln) }()
	stopForwarding := rh.StartForwarding() // as serve does; nothing without forward targets
	return "http://" + ln.Addr().String(), func() { _ = hs.Close(); stopForwarding(); closeAll() }, nil
}

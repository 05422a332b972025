// Command bench is replayhook's load tool. It starts the real server (built
// by package app, as main builds it) from a config it writes to a temporary
// directory, in a child process of its own unless -in-process (or targets
// -url), drives signed autoplay deliveries over keep-alive connections with
// a mix of users, sessions and anonymous payloads, runs concurrent lookups,
// and, in the same invocation, drives a bare Echo endpoint that only reads
// the body and checks one HMAC-SHA256 (the floor cost of any Echo webhook).
// It prints accepted/s, p50/p99 latencies, errors, CPU time per request,
// peak RSS and the ratio replayhook/baseline, then checks that every accepted delivery is visible
// through the lookup API and exits non-zero if one is not. Loopback only.
//
// With -store redis the server keeps its index in Redis (store.backend:
// redis): at -redis-addr (loopback
// only), or in a throwaway redis-server it starts on a free loopback port
// and kills at the end (redis-server must be on PATH). Each run uses a key
// prefix of its own; its keys expire by their TTLs.
//
//	go run ./bench -h
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/replayhook/replayhook/app"
	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/webhooks"
)

const (
	secret  = "bench-connector-secret"
	token   = "bench-token-0123456789"
	product = "prod_demo"
)

type options struct {
	url         string
	duration    time.Duration
	conns       int
	lookupConns int
	users       int
	sessions    int
	anonymous   float64
	preload     int
	skipBase    bool
	cpuProfile  string
	store       string
	redisAddr   string
	inProcess   bool
	lookupRate  float64
	workers     int
	rounds      int
	// forward runs the push-forwarding scenario (bench/forward.go).
	forward            bool
	forwardConcurrency int
	streamSubs         int             // -stream-subscribers: run the stream scenario (bench/stream.go)
	onAck              func(seq int64) // told each accepted delivery's sequence number
	// seq numbers deliveries across phases, so no two bodies are alike.
	seq *atomic.Int64
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.url, "url", "", "target a running replayhook at this loopback URL (source \"autoplay\" with secret "+secret+", token "+token+") instead of starting one")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each phase")
	fs.IntVar(&o.conns, "conns", 16, "keep-alive connections sending deliveries")
	fs.IntVar(&o.lookupConns, "lookup-conns", 4, "keep-alive connections doing lookups during the mixed phase")
	fs.IntVar(&o.users, "users", 100_000, "distinct user ids deliveries are spread over")
	fs.IntVar(&o.sessions, "sessions", 3, "sessions per user")
	fs.Float64Var(&o.anonymous, "anonymous", 0.2, "share of deliveries without a user_id")
	fs.IntVar(&o.preload, "preload", 0, "users linked directly into the index (one session each) before the run; in-process only")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the \"replayhook ingest only\" phase to this file (go tool pprof)")
	fs.BoolVar(&o.skipBase, "skip-baseline", false, "do not run the baseline phase")
	fs.StringVar(&o.store, "store", "memory", "the in-process server's store: memory or redis")
	fs.StringVar(&o.redisAddr, "redis-addr", "", "with -store redis: a loopback Redis (host:port or redis:// URL); empty starts a throwaway redis-server on a free loopback port")
	fs.Float64Var(&o.lookupRate, "lookup-rate", 0, "lookups per second in the mixed phase, spread over -lookup-conns and timed from their scheduled start (open loop, as a chat layer sends them); 0 sends them back to back")
	fs.IntVar(&o.workers, "ingest-workers", 0, "the server's server.ingest_workers (0: its default, the CPU count, 16× with Redis)")
	fs.IntVar(&o.rounds, "rounds", 5, "split the baseline and the replayhook ingest-only phase into this many alternating rounds (baseline, replayhook, replayhook, baseline, ...), so that both meet the same machine: on a shared VM a slow spell otherwise lands on one side of the ratio")
	fs.IntVar(&o.streamSubs, "stream-subscribers", 0, "run the stream scenario instead: ingest alone vs ingest with this many subscribers of GET /stream/"+product+" (see bench/stream.go)")
	fs.BoolVar(&o.inProcess, "in-process", false, "run the servers inside the load tool's process instead of in child processes (one heap and GC for both)")
	fs.BoolVar(&o.forward, "forward", false, "run the push-forwarding scenario instead: ingest with one healthy loopback forward target vs. without, same run (bench/forward.go)")
	fs.IntVar(&o.forwardConcurrency, "forward-concurrency", 4, "with -forward: the target's concurrency")
	serveKind := fs.String("serve-child", "", "internal: run this server (replayhook or baseline) as the load tool's child process")
	storeCfgFlag := fs.String("store-config", "", "internal: the child's store section of config.yaml")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *serveKind != "" {
		return serveChild(o, *serveKind, *storeCfgFlag, os.Stdin, out)
	}
	if o.url != "" {
		if err := loopbackOnly(o.url); err != nil {
			return err
		}
		if o.preload > 0 {
			return errors.New("-preload needs the in-process server (no -url)")
		}
	}
	if o.store != "memory" && o.store != "redis" {
		return fmt.Errorf("-store %q: memory or redis", o.store)
	}
	if o.redisAddr != "" && o.store != "redis" {
		return errors.New("-redis-addr needs -store redis")
	}
	if o.url != "" && o.store != "memory" {
		return errors.New("-store redis configures the in-process server (no -url)")
	}
	if o.redisAddr != "" {
		if err := loopbackRedis(o.redisAddr); err != nil {
			return err
		}
	}
	if o.conns < 1 || o.users < 1 || o.sessions < 1 || o.duration <= 0 || o.anonymous < 0 || o.anonymous > 1 || o.lookupRate < 0 || o.workers < 0 || o.rounds < 1 {
		return errors.New("-conns, -users, -sessions, -rounds and -duration must be positive, -anonymous in [0,1]")
	}
	o.seq = new(atomic.Int64)
	if o.forward {
		return runForward(o, out)
	}
	rate := "back to back"
	if o.lookupRate > 0 {
		rate = fmt.Sprintf("%.0f/s open loop", o.lookupRate)
	}
	workers := "auto"
	if o.workers > 0 {
		workers = strconv.Itoa(o.workers)
	}
	fmt.Fprintf(out, "bench: %d CPUs, GOMAXPROCS %d, %s, phases of %s (baseline and ingest-only in %d alternating rounds), %d ingest conns, %d lookup conns (%s), %d users × %d sessions, %.0f%% anonymous, preload %d, store %s, ingest workers %s\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), o.duration, o.rounds, o.conns, o.lookupConns, rate, o.users, o.sessions, o.anonymous*100, o.preload, o.store, workers)

	fmt.Fprintf(out, "delivery: autoplay actions payload of %d bytes with 5 actions (identified), signed HMAC-SHA256\n", len(payload("s_99999_0", "u_99999", 1_000_000, time.Now())))
	var baseURL string
	var baseChild *child
	if !o.skipBase {
		u, c, stop, err := startServer(o, "baseline", "", out)
		if err != nil {
			return err
		}
		defer stop()
		baseURL, baseChild = u, c
	}

	target := o.url
	var redisInfo func() string
	var server *child
	if target == "" {
		var storeCfg string
		if o.store == "redis" {
			addr := o.redisAddr
			if addr == "" {
				a, stop, err := startRedisServer()
				if err != nil {
					return err
				}
				defer stop()
				addr = a
			}
			prefix := fmt.Sprintf("bench-%d:", time.Now().UnixNano())
			fmt.Fprintf(out, "redis: %s, key prefix %s\n", addr, prefix)
			storeCfg = fmt.Sprintf("store:\n  backend: redis\n  redis: {addr: %q, key_prefix: %q}\n", addr, prefix)
			redisInfo = func() string { return redisMemory(addr) }
		}
		if o.inProcess {
			u, stop, err := startReplayhook(o, storeCfg, out)
			if err != nil {
				return err
			}
			defer stop()
			target = u
		} else {
			c, err := spawn("replayhook", []string{"-users", strconv.Itoa(o.users), "-sessions", strconv.Itoa(o.sessions),
				"-preload", strconv.Itoa(o.preload), "-ingest-workers", strconv.Itoa(o.workers), "-store-config", storeCfg}, out)
			if err != nil {
				return err
			}
			defer c.stop()
			server, target = c, c.URL
		}
	}
	if o.streamSubs > 0 {
		return streamBench(target, server, o, out)
	}
	seen := newLedger(o.users, o.sessions)
	if o.cpuProfile != "" {
		if err := startProfile(server, o.cpuProfile); err != nil {
			return err
		}
	}
	// The baseline and the ingest-only phase in alternating rounds (ABBA:
	// each side goes first in every other round), each 1/rounds of the
	// phase's duration; the ratio is of their totals.
	slice := o
	slice.duration = o.duration / time.Duration(o.rounds)
	var base, ingest result
	var ratios []float64
	for r := range o.rounds {
		var b, i result
		runBase := func() {
			if !o.skipBase {
				b = measured(baseChild, func() result { return drive(baseURL, slice, 0, nil) })
			}
		}
		runIngest := func() { i = measured(server, func() result { return drive(target, slice, 0, seen) }) }
		if r%2 == 0 {
			runBase()
			runIngest()
		} else {
			runIngest()
			runBase()
		}
		base, ingest = base.merge(b), ingest.merge(i)
		if b.accepted > 0 {
			ratios = append(ratios, i.rate()/b.rate())
		}
	}
	if o.cpuProfile != "" {
		if err := stopProfile(server); err != nil {
			return err
		}
	}
	if !o.skipBase {
		base.print(out, "baseline (bare Echo + 1 HMAC)")
	}
	ingest.print(out, "replayhook ingest only")
	mixed := measured(server, func() result { return drive(target, o, o.lookupConns, seen) })
	mixed.print(out, "replayhook ingest + lookups")
	if !o.skipBase && base.accepted > 0 {
		fmt.Fprintf(out, "ratio replayhook/baseline (ingest only, accepted/s): %.2f over %d alternating rounds (per round %.2f–%.2f) (target ≥ 0.70)\n",
			ingest.rate()/base.rate(), o.rounds, slices.Min(ratios), slices.Max(ratios))
	}
	switch {
	case server != nil:
		rss, err := server.call("rss")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "peak RSS of the replayhook process (VmHWM): %s\n", strings.TrimPrefix(rss, "rss "))
	case o.url == "":
		fmt.Fprintf(out, "peak RSS (VmHWM, server + load generator in one process): %s\n", vmHWM())
	}
	if redisInfo != nil {
		fmt.Fprintf(out, "redis memory after the run: %s\n", redisInfo())
	}
	lost, checked := verify(target, o, seen)
	fmt.Fprintf(out, "visibility: %d accepted (user, session) pairs and anonymous sessions checked, %d missing\n", checked, lost)
	if errs := ingest.errors + mixed.errors + base.errors; errs > 0 || lost > 0 {
		return fmt.Errorf("%d request errors, %d accepted deliveries not visible", errs, lost)
	}
	return nil
}

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
	host := addr
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
			return "", nil, fmt.Errorf("redis-server on %s does not answer: %v", addr, err)
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

// ledger records what was accepted: one bit per (user, session) and one
// per anonymous session, set atomically. The load generator shares the
// CPUs with the server it measures, and the baseline phase records
// nothing, so the bookkeeping must cost next to nothing: no lock, no
// allocation, no growing heap for the generator's collector to scan (it
// was a mutex-guarded map of maps).
type ledger struct {
	sessions     int
	ident, anons []atomic.Uint64
}

func newLedger(users, sessions int) *ledger {
	words := (users*sessions + 63) / 64
	return &ledger{sessions: sessions, ident: make([]atomic.Uint64, words), anons: make([]atomic.Uint64, words)}
}

// add records session s of user u (anonymous: the anonymous session s of
// u's device).
func (l *ledger) add(anonymous bool, u, s int) {
	word, bit := l.bit(anonymous, u, s)
	word.Or(bit)
}

// has reports whether add was called with these arguments.
func (l *ledger) has(anonymous bool, u, s int) bool {
	word, bit := l.bit(anonymous, u, s)
	return word.Load()&bit != 0
}

// bit is the word and bit that record (anonymous, u, s).
func (l *ledger) bit(anonymous bool, u, s int) (*atomic.Uint64, uint64) {
	bits := l.ident
	if anonymous {
		bits = l.anons
	}
	i := u*l.sessions + s
	return &bits[i/64], 1 << (i % 64)
}

// The ids the load tool sends for user u and its session s.
func userID(u int) string         { return "u_" + strconv.Itoa(u) }
func sessionID(u, s int) string   { return "s_" + strconv.Itoa(u) + "_" + strconv.Itoa(s) }
func anonSession(u, s int) string { return "anon_" + strconv.Itoa(u) + "_" + strconv.Itoa(s) }

// result is one phase's figures.
type result struct {
	elapsed          time.Duration
	accepted, errors int64
	unavailable      int64 // 503 answers (back-pressure or store down): a vendor retries them
	ingest, lookup   []time.Duration
	lookups          int64
	// serverCPU and clientCPU are the CPU time (user + system) the server
	// process and this process spent in the phase; 0 when unknown
	// (-in-process, -url).
	serverCPU, clientCPU time.Duration
}

// merge adds the figures of another part of the same phase.
func (r result) merge(o result) result {
	r.elapsed += o.elapsed
	r.accepted += o.accepted
	r.errors += o.errors
	r.unavailable += o.unavailable
	r.lookups += o.lookups
	r.serverCPU += o.serverCPU
	r.clientCPU += o.clientCPU
	r.ingest = append(r.ingest, o.ingest...)
	r.lookup = append(r.lookup, o.lookup...)
	return r
}

// requests is every HTTP request of the phase.
func (r result) requests() int64 { return r.accepted + r.errors + r.unavailable + r.lookups }

func (r result) rate() float64 { return float64(r.accepted) / r.elapsed.Seconds() }

// pct is the p-th quantile of d, which must be sorted.
func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

func (r result) print(out io.Writer, name string) {
	slices.Sort(r.ingest) // latencies are kept in arrival order (and merged) until now
	slices.Sort(r.lookup)
	fmt.Fprintf(out, "%-32s accepted %7d (%8.0f/s)  ingest p50 %8s p99 %8s  errors %d  503s %d",
		name+":", r.accepted, r.rate(), pct(r.ingest, .5).Round(time.Microsecond), pct(r.ingest, .99).Round(time.Microsecond), r.errors, r.unavailable)
	if r.lookups > 0 {
		fmt.Fprintf(out, "  lookups %d (%.0f/s) p50 %s p99 %s", r.lookups, float64(r.lookups)/r.elapsed.Seconds(),
			pct(r.lookup, .5).Round(time.Microsecond), pct(r.lookup, .99).Round(time.Microsecond))
	}
	fmt.Fprintln(out)
	if n := r.requests(); r.serverCPU > 0 && n > 0 {
		fmt.Fprintf(out, "%-32s server %.0f µs, load generator %.0f µs per request (%.2f + %.2f of %d CPUs busy)\n", "  CPU time:",
			float64(r.serverCPU.Microseconds())/float64(n), float64(r.clientCPU.Microseconds())/float64(n),
			r.serverCPU.Seconds()/r.elapsed.Seconds(), r.clientCPU.Seconds()/r.elapsed.Seconds(), runtime.NumCPU())
	}
}

// measured runs a phase and records the CPU time of the server process
// (when it is a child) and of this process.
func measured(server *child, phase func() result) result {
	s0, c0 := server.cpu(), selfCPU()
	r := phase()
	if server != nil {
		r.serverCPU, r.clientCPU = server.cpu()-s0, selfCPU()-c0
	}
	return r
}

// payload is a ≈1.5 KB autoplay actions payload with 5 actions.
func payload(session, user string, seq int64, now time.Time) []byte {
	ts := normalize.UnixSeconds(now)
	email := ""
	if user != "" {
		email = user + "@example.com"
	}
	steps := [5][3]string{
		{"pageview", "Landed on the pricing page", "https://shop.example.com/pricing"},
		{"click", "Clicked 'Start free trial' (Team plan)", "https://shop.example.com/pricing"},
		{"input", "Typed a company name into the signup form", "https://shop.example.com/signup"},
		{"click", "Clicked 'Create account'", "https://shop.example.com/signup"},
		{"pageview", "Opened the onboarding checklist", "https://shop.example.com/app/onboarding"},
	}
	acts := make([]map[string]any, 0, len(steps))
	for i, s := range steps {
		acts = append(acts, map[string]any{
			"index": i, "type": s[0], "title": "Step " + strconv.Itoa(i+1), "description": s[1],
			"timestamp_start": ts, "timestamp_end": ts, "raw_url": s[2] + "?ref=bench&seq=" + strconv.FormatInt(seq, 10), "canonical_url": s[2],
		})
	}
	b, _ := json.Marshal(map[string]any{
		"type": "actions", "product_id": product, "session_id": session, "user_id": user, "email": email,
		"count": len(acts), "forwarded_at": ts, "actions": acts,
	})
	return b
}

func sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func client(conns int) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute,
	}}
}

// drive sends deliveries from o.conns workers (and lookups from lookupConns
// workers) for o.duration. With seen != nil, accepted deliveries are
// recorded for the visibility check.
func drive(base string, o options, lookupConns int, seen *ledger) result {
	var accepted, errs, unavailable, lookups atomic.Int64
	deadline := time.Now().Add(o.duration)
	ic, lc := client(o.conns), client(max(lookupConns, 1))
	var mu sync.Mutex
	var res result
	var wg sync.WaitGroup
	for w := range o.conns {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			lat := make([]time.Duration, 0, 1<<14)
			for time.Now().Before(deadline) {
				n := o.seq.Add(1)
				u, si := rng.IntN(o.users), rng.IntN(o.sessions)
				user, session := userID(u), sessionID(u, si)
				anonymous := rng.Float64() < o.anonymous
				if anonymous {
					user, session = "", anonSession(u, si)
				}
				body := payload(session, user, n, time.Now())
				req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/autoplay", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Connector-Signature", sign(body))
				req.Header.Set("Authorization", "Bearer "+secret)
				t0 := time.Now()
				resp, err := ic.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				switch {
				case resp.StatusCode == http.StatusOK:
					accepted.Add(1)
					if o.onAck != nil {
						o.onAck(n)
					}
					if seen != nil {
						seen.add(anonymous, u, si)
					}
				case resp.StatusCode == http.StatusServiceUnavailable:
					// back-pressure: a vendor retries; not an error, not accepted
					unavailable.Add(1)
				default:
					errs.Add(1)
				}
			}
			mu.Lock()
			res.ingest = append(res.ingest, lat...)
			mu.Unlock()
		})
	}
	for w := range lookupConns {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			lat := make([]time.Duration, 0, 1<<14)
			// Open loop: worker w sends at start + k·interval (offset by w),
			// and a late send's wait counts in its latency (no coordinated
			// omission).
			var interval time.Duration
			next := time.Now()
			if o.lookupRate > 0 {
				interval = time.Duration(float64(lookupConns) / o.lookupRate * float64(time.Second))
				next = next.Add(interval * time.Duration(w) / time.Duration(lookupConns))
			}
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if interval > 0 {
					if d := time.Until(next); d > 0 {
						time.Sleep(d)
					}
					t0 = next
					next = next.Add(interval)
				}
				var path string
				switch {
				case o.preload > 0 && rng.IntN(2) == 0:
					path = "/v1/users/pre_" + strconv.Itoa(rng.IntN(o.preload))
				case rng.IntN(2) == 0:
					path = "/v1/users/u_" + strconv.Itoa(rng.IntN(o.users))
				default:
					path = "/v1/users/u_" + strconv.Itoa(rng.IntN(o.users)) + "/activity"
				}
				req, _ := http.NewRequest(http.MethodGet, base+path, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				if interval == 0 {
					t0 = time.Now()
				}
				resp, err := lc.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				lookups.Add(1)
				if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
					errs.Add(1)
				}
			}
			mu.Lock()
			res.lookup = append(res.lookup, lat...)
			mu.Unlock()
		})
	}
	start := time.Now()
	wg.Wait()
	res.elapsed = time.Since(start)
	res.accepted, res.errors, res.unavailable, res.lookups = accepted.Load(), errs.Load(), unavailable.Load(), lookups.Load()
	ic.CloseIdleConnections()
	lc.CloseIdleConnections()
	return res
}

// verify reads every accepted user and anonymous session back through the
// lookup API and returns how many are missing and how many were checked.
func verify(base string, o options, l *ledger) (missing, checked int64) {
	conns := o.conns
	type item struct {
		path     string
		sessions map[string]bool
	}
	items := make(chan item)
	c := client(conns)
	var miss, n atomic.Int64
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for it := range items {
				req, _ := http.NewRequest(http.MethodGet, base+it.path, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := c.Do(req)
				if err != nil {
					miss.Add(int64(max(len(it.sessions), 1)))
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if it.sessions == nil { // anonymous session
					n.Add(1)
					if resp.StatusCode != http.StatusOK {
						miss.Add(1)
					}
					continue
				}
				var u webhooks.UserResponse
				_ = json.Unmarshal(body, &u)
				got := map[string]bool{}
				for _, s := range u.Sessions {
					got[s.SessionID] = true
				}
				for s := range it.sessions {
					n.Add(1)
					if resp.StatusCode != http.StatusOK || !got[s] {
						miss.Add(1)
					}
				}
			}
		})
	}
	for u := range o.users {
		var ss map[string]bool
		for si := range o.sessions {
			if l.has(false, u, si) {
				if ss == nil {
					ss = map[string]bool{}
				}
				ss[sessionID(u, si)] = true
			}
			if l.has(true, u, si) {
				items <- item{path: "/v1/sessions/" + url.PathEscape(anonSession(u, si)) + "?product_id=" + product}
			}
		}
		if ss != nil {
			items <- item{path: "/v1/users/" + url.PathEscape(userID(u)), sessions: ss}
		}
	}
	close(items)
	wg.Wait()
	return miss.Load(), n.Load()
}

// vmHWM is this process's peak resident set size from /proc/self/status.
func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

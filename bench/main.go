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
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
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

//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/replayhook/replayhook/internal/redistest"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/autoplay"
)

// The attack of the slow-body review: connections that announce a body and
// send one byte every 2 s, and thousands of idle keep-alive connections.
const (
	attackSlowBodies = 50
	attackIdleConns  = 2000
	// attackIdleFrom spreads the idle connections over this many addresses
	// (127.0.0.3 …), each under max_connections_per_ip, so the server really
	// holds all of them.
	attackIdleFrom = 8
	goodClients    = 4
	// attackPhases pairs of (unattacked, attacked) phases of attackPhase
	// each, alternated so a noisy neighbour on the machine weighs on both;
	// the figure is the median of the pairs' ratios, so a neighbour's burst
	// in one or two phases does not decide it.
	attackPhases = 6
	attackPhase  = time.Second
	// attackFloor is the least share of its unattacked rate ingest keeps
	// under attack. Under the race detector, whose slowdown distorts any
	// ratio of rates, the test holds ingest to attackFloorRace instead: far
	// above the 0.00 of a stalled server. scripts/test runs the test again
	// without -race, where attackFloor applies.
	attackFloor     = 0.8
	attackFloorRace = 0.4
)

// TestIngestHoldsUnderAttack: well-behaved clients (127.0.0.1) keep at
// least attackFloor of their unattacked ingest rate while 50 slow-body
// connections (from 127.0.0.2) and 2 000 idle keep-alive connections
// (from 127.0.0.3 …) are open, on the memory store and on Redis. The real
// program runs with its default limits. Bounded: every phase has a fixed
// length and every goroutine stops with it. The figures are logged
// (BENCHMARKS.md has them and the command).
func TestIngestHoldsUnderAttack(t *testing.T) {
	if testing.Short() {
		t.Skip("attack test skipped with -short")
	}
	raiseFileLimit(t, 2*(attackIdleConns+attackSlowBodies)+1000)
	for _, backend := range []string{"memory", "redis"} {
		t.Run(backend, func(t *testing.T) {
			extra := ""
			if backend == "redis" {
				r := redistest.Start(t, redistest.Options{})
				extra = "store:\n  backend: redis\n  redis:\n    addr: " + r.Addr() + "\n    key_prefix: \"attack-test:\"\n"
			}
			base, _, _ := startServer(t, testConfig(t, extra))
			addr := strings.TrimPrefix(base, "http://")
			floor := attackFloor
			if raceEnabled {
				floor = attackFloorRace
			}
			ratio, calm, attacked := measureAttack(t, addr)
			if ratio < floor {
				// One noisy phase on a shared machine can sink one
				// measurement; a real regression sinks both.
				t.Logf("%s: first measurement %.2f (%.0f vs %.0f deliveries/s), measuring again", backend, ratio, attacked, calm)
				ratio, calm, attacked = measureAttack(t, addr)
			}
			t.Logf("%s: unattacked %.0f deliveries/s, attacked %.0f deliveries/s: ratio %.2f", backend, calm, attacked, ratio)
			if ratio < floor {
				t.Errorf("%s: ingest under attack kept %.2f of its rate, want at least %.2f", backend, ratio, floor)
			}
		})
	}
}

// measureAttack alternates unattacked and attacked phases and returns the
// median of the pairs' attacked/unattacked ratios of accepted deliveries,
// and the mean rates of both kinds of phase.
func measureAttack(t *testing.T, addr string) (ratio, calm, attacked float64) {
	var calmN, attackedN int64
	var calmCPU, attackedCPU time.Duration
	ratios := make([]float64, 0, attackPhases)
	for i := range attackPhases {
		// Each phase starts from a collected heap, so the garbage of
		// opening 2 000 connections is not charged to the attacked phase.
		runtime.GC()
		cpu := processCPU()
		c := goodLoad(t, addr, attackPhase, fmt.Sprintf("calm-%d", i))
		calmCPU += processCPU() - cpu
		stop := startAttack(t, addr)
		runtime.GC()
		cpu = processCPU()
		a := goodLoad(t, addr, attackPhase, fmt.Sprintf("attacked-%d", i))
		attackedCPU += processCPU() - cpu
		stop()
		if c == 0 {
			t.Fatal("no delivery accepted without attack")
		}
		calmN, attackedN = calmN+c, attackedN+a
		ratios = append(ratios, float64(a)/float64(c))
	}
	slices.Sort(ratios)
	secs := (attackPhase * attackPhases).Seconds()
	t.Logf("pair ratios %.2f; CPU of this process (server, clients and attackers) per accepted delivery: unattacked %.0f µs, attacked %.0f µs",
		ratios, perDelivery(calmCPU, calmN), perDelivery(attackedCPU, attackedN))
	return (ratios[(len(ratios)-1)/2] + ratios[len(ratios)/2]) / 2, float64(calmN) / secs, float64(attackedN) / secs
}

var attackSigner = func() providers.Signer {
	p, err := autoplay.New(providers.Settings{Secrets: []string{"test-connector-secret"}})
	if err != nil {
		panic(err)
	}
	return p.(providers.Signer)
}()

// goodLoad runs goodClients keep-alive clients from 127.0.0.1 posting
// distinct signed deliveries for d and returns how many were accepted.
func goodLoad(t *testing.T, addr string, d time.Duration, tag string) int64 {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: goodClients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var accepted atomic.Int64
	var wg sync.WaitGroup
	for w := range goodClients {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				body := redisDelivery(fmt.Sprintf("u-%s-%d", tag, w), fmt.Sprintf("s-%s-%d-%d", tag, w, i))
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/webhooks/autoplay", bytes.NewReader(body))
				req.Header = attackSigner.Sign(body, "test-connector-secret", time.Now())
				resp, err := client.Do(req)
				if err != nil {
					continue // the phase ended mid-request
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					accepted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return accepted.Load()
}

// startAttack opens the idle connections (each makes one request, then
// stays open, idle, as a keep-alive client would) and starts the slow-body
// senders; it returns once every idle connection is open, and stop closes
// everything and waits for the attackers to end.
func startAttack(t *testing.T, addr string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	for i := range attackSlowBodies {
		wg.Go(func() { slowBodySender(ctx, addr, i) })
	}
	var opened sync.WaitGroup
	var failed atomic.Int64
	for i := range attackIdleConns {
		opened.Go(func() {
			from := net.IPv4(127, 0, 0, byte(3+i%attackIdleFrom))
			c, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: from}, Timeout: 10 * time.Second}).Dial("tcp", addr)
			if err != nil {
				failed.Add(1)
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			_, _ = io.WriteString(c, "GET /livez HTTP/1.1\r\nHost: replayhook\r\n\r\n")
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != http.StatusOK {
				failed.Add(1)
			}
		})
	}
	opened.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d idle connections were not served: the server must hold them all (within its limits)", n, attackIdleConns)
	}
	return func() {
		cancel()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}

// slowBodySender keeps one slow-body connection open from 127.0.0.2 until
// ctx ends: it announces a 100 000-byte body and sends one byte every 2 s.
// When the server answers (408 once the body is too slow, 503 at once
// beyond the per-address cap) it opens a new one a second later, about the
// pace of its bytes: it keeps 50 slow connections open; a flood of fast
// requests is a volume attack for a rate limiter in front, not this one.
func slowBodySender(ctx context.Context, addr string, i int) {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	for ctx.Err() == nil {
		c, err := dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			return
		}
		stop := context.AfterFunc(ctx, func() { _ = c.Close() })
		answered := make(chan struct{})
		go func() {
			_, _ = http.ReadResponse(bufio.NewReader(c), nil)
			close(answered)
		}()
		_, err = io.WriteString(c, "POST /webhooks/autoplay HTTP/1.1\r\nHost: replayhook\r\nX-Connector-Signature: sha256=00\r\nContent-Length: 100000\r\n\r\n{")
		tick := time.NewTicker(2 * time.Second)
		for err == nil {
			select {
			case <-tick.C:
				_, err = io.WriteString(c, " ")
			case <-answered:
				err = io.EOF
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		tick.Stop()
		stop()
		_ = c.Close()
		<-answered
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func perDelivery(cpu time.Duration, n int64) float64 {
	return float64(cpu.Microseconds()) / float64(max(n, 1))
}

// raiseFileLimit raises the soft limit on open files to need (both ends
// of every test connection live in this process), or fails saying why.
func raiseFileLimit(t *testing.T, need uint64) {
	t.Helper()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if rl.Cur >= need {
		return
	}
	if rl.Max < need {
		t.Fatalf("the attack test needs %d open files; the hard limit is %d (raise it: ulimit -Hn %s)", need, rl.Max, strconv.FormatUint(need, 10))
	}
	rl.Cur = need
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
}

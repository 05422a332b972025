package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/webhooks"
)

// The load: signed deliveries and lookups from many connections, their
// results, and the check that every acknowledged delivery is readable.

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
				switch resp.StatusCode {
				case http.StatusOK:
					accepted.Add(1)
					if o.onAck != nil {
						o.onAck(n)
					}
					if seen != nil {
						seen.add(anonymous, u, si)
					}
				case http.StatusServiceUnavailable:
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

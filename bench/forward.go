package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/replayhook/replayhook/forward"
)

// forwardSecret keys the forwarding signature in the -forward scenario.
const forwardSecret = "bench-forward-secret-0123456789"

// runForward is the push-forwarding scenario (-forward): two replayhook
// servers built alike, one without forwarding and one forwarding every
// payload to a healthy loopback receiver that verifies each signature as
// the Autoplay SDK does, driven in alternating rounds in the same run. It
// prints both ingest rates and their ratio (target ≥ 0.80), samples the
// forwarding server's queue depth during its rounds (it must stay bounded:
// forwarding keeps up with ingest), then waits for the queue to drain and
// checks that the receiver got every accepted delivery's payload.
func runForward(o options, out io.Writer) error {
	rcv := startReceiver()
	defer rcv.srv.Close()
	fwdCfg := fmt.Sprintf("forward:\n  - {name: bench, url: %q, products: [\"*\"], secret: %q, concurrency: %d}\n", rcv.URL, forwardSecret, o.forwardConcurrency)
	start := func(extra string) (string, *child, func(), error) {
		if o.inProcess {
			u, stop, err := startReplayhook(o, extra, out)
			return u, nil, stop, err
		}
		c, err := spawn("replayhook", []string{"-users", strconv.Itoa(o.users), "-sessions", strconv.Itoa(o.sessions),
			"-ingest-workers", strconv.Itoa(o.workers), "-store-config", extra}, out)
		if err != nil {
			return "", nil, nil, err
		}
		return c.URL, c, c.stop, nil
	}
	plainURL, plain, stopPlain, err := start("")
	if err != nil {
		return err
	}
	defer stopPlain()
	fwdURL, fwd, stopFwd, err := start(fwdCfg)
	if err != nil {
		return err
	}
	defer stopFwd()
	fmt.Fprintf(out, "forward: receiver %s (verifies X-Connector-Signature as the SDK does), concurrency %d\n", rcv.URL, o.forwardConcurrency)

	slice := o
	slice.duration = o.duration / time.Duration(o.rounds)
	var without, with result
	var ratios []float64
	var depths []int64
	for r := range o.rounds {
		var a, b result
		runPlain := func() { a = measured(plain, func() result { return drive(plainURL, slice, 0, nil) }) }
		runFwd := func() {
			stop := sampleQueue(fwdURL, &depths)
			b = measured(fwd, func() result { return drive(fwdURL, slice, 0, nil) })
			stop()
		}
		if r%2 == 0 {
			runPlain()
			runFwd()
		} else {
			runFwd()
			runPlain()
		}
		without, with = without.merge(a), with.merge(b)
		if a.accepted > 0 {
			ratios = append(ratios, b.rate()/a.rate())
		}
	}
	without.print(out, "ingest, no forwarding")
	with.print(out, "ingest, forwarding to 1 target")
	ratio := with.rate() / without.rate()
	verdict := "met"
	if ratio < 0.8 {
		verdict = "NOT met"
	}
	fmt.Fprintf(out, "ratio forwarding/no forwarding (accepted/s): %.2f over %d alternating rounds (per round %.2f–%.2f) (target ≥ 0.80: %s)\n",
		ratio, o.rounds, slices.Min(ratios), slices.Max(ratios), verdict)
	maxDepth := int64(0)
	if len(depths) > 0 {
		maxDepth = slices.Max(depths)
	}
	fmt.Fprintf(out, "queue depth during the forwarding rounds: max %d, at the %d samples' median %d (every 100 ms)\n", maxDepth, len(depths), median(depths))
	drainStart := time.Now()
	for {
		st, err := forwardStatus(fwdURL)
		if err != nil {
			return err
		}
		if st.Queued == 0 {
			break
		}
		if time.Since(drainStart) > time.Minute {
			return fmt.Errorf("forward queue did not drain: %d queued a minute after the load stopped", st.Queued)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprintf(out, "queue drained %s after the load stopped\n", time.Since(drainStart).Round(time.Millisecond))
	rcv.mu.Lock()
	ids, bad := rcv.ids, rcv.bad
	rcv.mu.Unlock()
	fmt.Fprintf(out, "forwarded: %d distinct deliveries verified by the receiver for %d accepted ingests (%d unverified)\n", len(ids), with.accepted, bad)
	if int64(len(ids)) != with.accepted || bad > 0 || with.errors+without.errors > 0 {
		return fmt.Errorf("forwarding lost or garbled payloads: %d forwarded of %d accepted, %d unverified, %d request errors", len(ids), with.accepted, bad, with.errors+without.errors)
	}
	return nil
}

// receiver is a lean healthy target: it checks each request exactly as
// the Autoplay SDK's WebhookReceiver.verify does (forward.Verify), records
// the delivery id and answers 204, and does nothing else, so that the load
// tool's process (which shares the CPUs with the servers) spends little on
// it.
type receiver struct {
	srv *httptest.Server
	URL string
	mu  sync.Mutex
	ids map[string]bool
	bad int
}

func startReceiver() *receiver {
	r := &receiver{ids: map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		ok := err == nil && forward.Verify(forwardSecret, body, req.Header.Get(forward.SignatureHeader))
		r.mu.Lock()
		if ok {
			r.ids[req.Header.Get(forward.DeliveryHeader)] = true
		} else {
			r.bad++
		}
		r.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	r.URL = r.srv.URL + "/events"
	return r
}

func median(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

type forwardTarget struct {
	Queued int64 `json:"queued"`
}

// forwardStatus reads the first target of GET /v1/forwards.
func forwardStatus(base string) (forwardTarget, error) {
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/forwards", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return forwardTarget{}, err
	}
	defer resp.Body.Close()
	var body struct{ Targets []forwardTarget }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Targets) == 0 {
		return forwardTarget{}, fmt.Errorf("GET /v1/forwards: %d %w", resp.StatusCode, err)
	}
	return body.Targets[0], nil
}

// sampleQueue records the queue depth every 100 ms until stop.
func sampleQueue(base string, depths *[]int64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if st, err := forwardStatus(base); err == nil {
					*depths = append(*depths, st.Queued)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

package webhooks

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/replayhook/replayhook/config"
)

// limitsServer starts h's server on a random loopback port with the real
// HTTP server settings and the connection limits.
func limitsServer(t *testing.T, h *harness) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h.srv.Handler())
	srv.Config = h.srv.HTTPServer()
	srv.Listener = h.srv.LimitListener(srv.Listener)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// dialFrom opens a connection to addr from the loopback address from
// (127.0.0.1 for well-behaved clients, 127.0.0.2 for abusive ones).
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	return c
}

// startBody sends a signed delivery's headers and the first part bytes of
// its body, then stalls.
func startBody(t *testing.T, c net.Conn, source string, body []byte, part int) {
	t.Helper()
	req := "POST /webhooks/" + source + " HTTP/1.1\r\nHost: replayhook\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	for k, v := range sign(body, secretNew) {
		req += k + ": " + v[0] + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"+string(body[:part])); err != nil {
		t.Fatal(err)
	}
}

// answer reads one response and its JSON error code (or status).
func answer(t *testing.T, c net.Conn) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	code, _ := m["error"].(string)
	if code == "" {
		code, _ = m["status"].(string)
	}
	return resp, code
}

// waitFor polls cond until it holds (the server's side of a connection is
// asynchronous to the test's).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func delivery(user string) []byte {
	return payloadSpec{product: "prod_demo", session: "s-" + user, user: user, ts: T0.Add(-time.Minute),
		actions: []string{"click|Clicked|https://shop.example.com/p"}}.body()
}

// TestSlowBodyIsCutOff: a sender slower than min_body_rate gets a JSON 408
// body_too_slow after the grace and its connection is closed, while it
// never held a worker (the server here has no read_timeout that would end
// it otherwise within the test's deadline).
func TestSlowBodyIsCutOff(t *testing.T) {
	var m *Metrics
	h := newHarness(t, withTestMetrics(&m), func(c *config.Config, d *Deps) {
		c.Server.ReadTimeout = 5 * time.Minute
		d.IngestWorkers = 1
		c.Server.BodyReadGrace, c.Server.MinBodyRate = 200*time.Millisecond, 1000
	})
	addr := limitsServer(t, h)
	slow := dialFrom(t, "127.0.0.2", addr)
	body := delivery("slow")
	startBody(t, slow, "autoplay", body, 10)
	resp, code := answer(t, slow)
	if resp.StatusCode != http.StatusRequestTimeout || code != CodeBodyTooSlow || !resp.Close {
		t.Fatalf("slow body answered %d %q (close %v), want 408 %s and the connection closed", resp.StatusCode, code, resp.Close, CodeBodyTooSlow)
	}
	if got := gatherSamples(t, m)[`replayhook_ingest_refused_total{reason="slow_body"}`]; got != 1 {
		t.Errorf("slow_body refusals = %v, want 1", got)
	}
	if got := gatherSamples(t, m)[`replayhook_deliveries_total{outcome="body_too_slow",source="autoplay"}`]; got != 1 {
		t.Errorf("deliveries with outcome body_too_slow = %v, want 1", got)
	}
	// A whole body sent at once is never paced out, however long it waits.
	good := dialFrom(t, "127.0.0.1", addr)
	startBody(t, good, "autoplay", delivery("good"), len(delivery("good")))
	if resp, code := answer(t, good); resp.StatusCode != http.StatusOK || code != "accepted" {
		t.Fatalf("a whole body = %d %q, want 200 accepted", resp.StatusCode, code)
	}
}

// TestBodyIsReadBeforeAWorker: stalled bodies hold body slots, not
// workers; a whole delivery still runs on the one worker while they stall,
// and beyond max_body_reads a new body is refused at once (503).
func TestBodyIsReadBeforeAWorker(t *testing.T) {
	var m *Metrics
	h := newHarness(t, withTestMetrics(&m), func(c *config.Config, d *Deps) {
		d.IngestWorkers = 1
		c.Server.MaxBodyReads = 3
		c.Server.MaxIngestsPerIP = 0
		c.Server.BodyReadGrace = time.Minute // stalled for the whole test
	})
	addr := limitsServer(t, h)
	for i := range 2 {
		startBody(t, dialFrom(t, "127.0.0.2", addr), "autoplay", delivery(fmt.Sprint("stall-", i)), 5)
	}
	waitFor(t, "two stalled bodies", func() bool { return len(h.srv.limits.bodies) == 2 })
	for i := range 3 { // one at a time through the one worker, while the others stall
		c := dialFrom(t, "127.0.0.1", addr)
		startBody(t, c, "autoplay", delivery(fmt.Sprint("good-", i)), len(delivery(fmt.Sprint("good-", i))))
		if resp, code := answer(t, c); resp.StatusCode != http.StatusOK || code != "accepted" {
			t.Fatalf("delivery %d while two bodies stall = %d %q, want 200 accepted", i, resp.StatusCode, code)
		}
	}
	startBody(t, dialFrom(t, "127.0.0.2", addr), "autoplay", delivery("stall-2"), 5)
	waitFor(t, "three stalled bodies", func() bool { return len(h.srv.limits.bodies) == 3 })
	c := dialFrom(t, "127.0.0.1", addr)
	startBody(t, c, "autoplay", delivery("late"), len(delivery("late")))
	if resp, code := answer(t, c); resp.StatusCode != http.StatusServiceUnavailable || code != CodeUnavailable || resp.Header.Get("Retry-After") == "" || !resp.Close {
		t.Fatalf("a body beyond max_body_reads = %d %q (close %v), want 503 unavailable with Retry-After, connection closed", resp.StatusCode, code, resp.Close)
	}
	if got := gatherSamples(t, m)[`replayhook_ingest_refused_total{reason="body_reads"}`]; got != 1 {
		t.Errorf("body_reads refusals = %v, want 1", got)
	}
}

// TestPerClientAndPerSourceCaps: one address, or one source, cannot take
// more than its share of the deliveries in progress; another address or
// source still gets through.
func TestPerClientAndPerSourceCaps(t *testing.T) {
	tests := []struct {
		name         string
		perIP, perSr int
		// the third stalled delivery, refused; then the one that passes
		from, source, passFrom, passSource string
		reason                             string
	}{
		{"per address", 2, 0, "127.0.0.2", "open", "127.0.0.1", "autoplay", RefusedClient},
		{"per source", 0, 2, "127.0.0.1", "autoplay", "127.0.0.1", "open", RefusedSource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m *Metrics
			h := newHarness(t, withTestMetrics(&m), func(c *config.Config, _ *Deps) {
				c.Server.MaxIngestsPerIP, c.Server.MaxIngestsPerSource = tt.perIP, tt.perSr
				c.Server.BodyReadGrace = time.Minute
			})
			addr := limitsServer(t, h)
			for i := range 2 {
				startBody(t, dialFrom(t, "127.0.0.2", addr), "autoplay", delivery(fmt.Sprint("stall-", i)), 5)
			}
			waitFor(t, "two stalled bodies", func() bool { return len(h.srv.limits.bodies) == 2 })
			c := dialFrom(t, tt.from, addr)
			startBody(t, c, tt.source, delivery("third"), len(delivery("third")))
			if resp, code := answer(t, c); resp.StatusCode != http.StatusServiceUnavailable || code != CodeUnavailable || resp.Header.Get("Retry-After") == "" || !resp.Close {
				t.Fatalf("third delivery from %s to %s = %d %q (close %v), want 503 with Retry-After, connection closed", tt.from, tt.source, resp.StatusCode, code, resp.Close)
			}
			c = dialFrom(t, tt.passFrom, addr)
			startBody(t, c, tt.passSource, delivery("other"), len(delivery("other")))
			if resp, code := answer(t, c); resp.StatusCode != http.StatusOK {
				t.Fatalf("delivery from %s to %s = %d %q, want 200", tt.passFrom, tt.passSource, resp.StatusCode, code)
			}
			if got := gatherSamples(t, m)[`replayhook_ingest_refused_total{reason="`+tt.reason+`"}`]; got != 1 {
				t.Errorf("%s refusals = %v, want 1", tt.reason, got)
			}
		})
	}
}

// TestConnectionLimits: one address holds at most max_connections_per_ip
// connections (beyond: closed at once), others still connect; at most
// max_connections are held in all: at the limit the connection idle the
// longest is closed to make room for a new one.
func TestConnectionLimits(t *testing.T) {
	var m *Metrics
	h := newHarness(t, withTestMetrics(&m), func(c *config.Config, _ *Deps) {
		c.Server.MaxConnections, c.Server.MaxConnectionsPerIP = 4, 2
	})
	addr := limitsServer(t, h)
	held := []net.Conn{dialFrom(t, "127.0.0.2", addr), dialFrom(t, "127.0.0.2", addr)}
	for _, c := range held {
		if code := livez(t, c); code != http.StatusOK {
			t.Fatalf("connection within the per-address cap: %d", code)
		}
	}
	extra := dialFrom(t, "127.0.0.2", addr)
	_, _ = io.WriteString(extra, "GET /livez HTTP/1.1\r\nHost: replayhook\r\n\r\n")
	if _, err := http.ReadResponse(bufio.NewReader(extra), nil); err == nil {
		t.Fatal("a third connection from one address was served, want it closed at accept")
	}
	if got := gatherSamples(t, m)["replayhook_connections_refused_total"]; got != 1 {
		t.Errorf("connections refused = %v, want 1", got)
	}
	for range 2 {
		c := dialFrom(t, "127.0.0.1", addr)
		if code := livez(t, c); code != http.StatusOK {
			t.Fatalf("another address's connection: %d", code)
		}
		held = append(held, c)
	}
	if got := gatherSamples(t, m)["replayhook_connections_open"]; got != 4 {
		t.Errorf("connections open = %v, want 4", got)
	}
	// All four are idle keep-alives: a fifth is served, and one of them
	// (the one idle the longest) is closed for it.
	closed := make(chan net.Conn, len(held))
	for _, c := range held {
		go func() {
			if _, err := c.Read(make([]byte, 1)); errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
				closed <- c
			}
		}()
	}
	if code := livez(t, dialFrom(t, "127.0.0.3", addr)); code != http.StatusOK {
		t.Fatalf("a fifth connection with four idle: %d, want 200", code)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("no idle connection was closed to make room")
	}
	if got := gatherSamples(t, m)["replayhook_connections_open"]; got != 4 {
		t.Errorf("connections open = %v, want 4", got)
	}
}

// TestConnectionLimitWaitsForBusyOnes: with every connection busy (bodies
// being read), a connection beyond max_connections waits, and is served
// once one closes.
func TestConnectionLimitWaitsForBusyOnes(t *testing.T) {
	h := newHarness(t, func(c *config.Config, _ *Deps) {
		c.Server.MaxConnections = 2
		c.Server.BodyReadGrace = time.Minute
	})
	addr := limitsServer(t, h)
	busy := []net.Conn{dialFrom(t, "127.0.0.2", addr), dialFrom(t, "127.0.0.2", addr)}
	for i, c := range busy {
		startBody(t, c, "autoplay", delivery(fmt.Sprint("busy-", i)), 5)
	}
	waitFor(t, "two bodies being read", func() bool { return len(h.srv.limits.bodies) == 2 })
	third := dialFrom(t, "127.0.0.1", addr)
	_, _ = io.WriteString(third, "GET /livez HTTP/1.1\r\nHost: replayhook\r\n\r\n")
	br := bufio.NewReader(third)
	_ = third.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := br.Peek(1); err == nil {
		t.Fatal("a connection beyond max_connections was served while both were busy")
	}
	_ = third.SetReadDeadline(time.Now().Add(10 * time.Second))
	_ = busy[0].Close()
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the waiting connection after a busy one closed: %v %v, want 200", resp, err)
	}
	_ = resp.Body.Close()
}

// livez sends GET /livez on c and returns the status.
func livez(t *testing.T, c net.Conn) int {
	t.Helper()
	if _, err := io.WriteString(c, "GET /livez HTTP/1.1\r\nHost: replayhook\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, _ := answer(t, c)
	return resp.StatusCode
}

// TestConnectionCapSparesTrustedProxies: a proxy in trusted_proxies
// carries many clients, so the per-address connection cap does not apply
// to it; every other address is capped, IPv4-mapped IPv6 as IPv4.
func TestConnectionCapSparesTrustedProxies(t *testing.T) {
	l := &limitListener{trusted: trustedPrefixes([]string{"10.0.0.0/8", "2001:db8::/32"})}
	for _, tc := range []struct {
		remote, client string
		capped         bool
	}{
		{"10.1.2.3:5000", "", false},
		{"[2001:db8::7]:5000", "", false},
		{"192.0.2.1:5000", "192.0.2.1", true},
		{"[::ffff:192.0.2.1]:5000", "192.0.2.1", true},
		{"[2001:db9::1]:5000", "2001:db9::1", true},
	} {
		client, capped := l.clientOf(fakeConn{remote: tc.remote})
		if client != tc.client || capped != tc.capped {
			t.Errorf("%s: client %q capped %v, want %q %v", tc.remote, client, capped, tc.client, tc.capped)
		}
	}
}

type fakeConn struct {
	net.Conn
	remote string
}

func (f fakeConn) RemoteAddr() net.Addr { return fakeAddr(f.remote) }

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }

// TestRefusalIsNotDelayedBySlowBody: a request refused without reading its
// body (beyond the per-address cap, or to an unknown source) is answered
// at once and its connection closed, not after net/http drained a slow
// body for up to read_timeout (5 minutes here).
func TestRefusalIsNotDelayedBySlowBody(t *testing.T) {
	h := newHarness(t, func(c *config.Config, _ *Deps) {
		c.Server.ReadTimeout = 5 * time.Minute
		c.Server.MaxIngestsPerIP = 1
		c.Server.BodyReadGrace = time.Minute
	})
	addr := limitsServer(t, h)
	startBody(t, dialFrom(t, "127.0.0.2", addr), "autoplay", delivery("stall"), 5)
	waitFor(t, "a stalled body", func() bool { return len(h.srv.limits.bodies) == 1 })
	for _, tc := range []struct {
		from, source string
		status       int
	}{
		{"127.0.0.2", "autoplay", http.StatusServiceUnavailable},
		{"127.0.0.3", "no-such-source", http.StatusNotFound},
	} {
		c := dialFrom(t, tc.from, addr)
		_ = c.SetDeadline(time.Now().Add(20 * time.Second)) // far below read_timeout
		startBody(t, c, tc.source, delivery("slow"), 5)
		if resp, _ := answer(t, c); resp.StatusCode != tc.status || !resp.Close {
			t.Errorf("slow body to %s from %s = %d (close %v), want %d at once and the connection closed", tc.source, tc.from, resp.StatusCode, resp.Close, tc.status)
		}
	}
}

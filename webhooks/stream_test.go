package webhooks

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/internal/sse"
	"github.com/replayhook/replayhook/normalize"
)

// live is a harness whose server also listens on a loopback port (streams
// need a real connection); deliveries still go through h.post.
type live struct {
	*harness
	base string
	hs   *http.Server
}

func startLive(t *testing.T, opts ...option) *live {
	t.Helper()
	h := newHarness(t, opts...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := h.srv.HTTPServer()
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
	})
	return &live{harness: h, base: "http://" + ln.Addr().String(), hs: hs}
}

// open opens a stream; the caller reads the body with sse.NewReader.
func (l *live) open(t *testing.T, path, token string, header ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, l.base+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// openOK opens a stream that must answer 200.
func (l *live) openOK(t *testing.T, path, token string, header ...string) (*http.Response, *sse.Reader) {
	t.Helper()
	resp := l.open(t, path, token, header...)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s = %d %s", path, resp.StatusCode, b)
	}
	return resp, sse.NewReader(resp.Body)
}

// deliver posts one accepted delivery for session (on source autoplay:
// prod_demo; "open": the product in the body).
func (l *live) deliver(t *testing.T, source, product, session, user string) {
	t.Helper()
	body := payloadSpec{product: product, session: session, user: user, ts: T0, actions: []string{"click|Save|https://a.example/"}}.body()
	if rec := l.post(source, body); rec.Code != 200 || decode[IngestResult](t, rec).Status != "accepted" {
		t.Fatalf("delivery %s: %d %s", session, rec.Code, rec.Body)
	}
}

// nextEvent reads the next non-heartbeat message.
func nextEvent(t *testing.T, r *sse.Reader) sse.Message {
	t.Helper()
	for {
		m, err := r.Next()
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		if m.Event != "heartbeat" {
			return m
		}
	}
}

// payloadOf decodes an event's data as the SDK does.
func payloadOf(t *testing.T, m sse.Message) normalize.ActionsPayload {
	t.Helper()
	var p normalize.ActionsPayload
	if strings.Contains(m.Data, "\n") {
		t.Fatalf("data is not one line: %q", m.Data)
	}
	if err := json.Unmarshal([]byte(m.Data), &p); err != nil {
		t.Fatalf("data is not an ActionsPayload: %v: %s", err, m.Data)
	}
	return p
}

func TestStreamRefusals(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name, target, token, lastID string
		status                      int
		code                        string
	}{
		{"no token", "/stream/prod_demo", "", "", 401, CodeUnauthorized},
		{"wrong token", "/stream/prod_demo", "not-a-token-at-all", "", 401, CodeUnauthorized},
		{"product outside the token", "/stream/prod_demo", tokOther, "", 403, CodeForbidden},
		{"product no source names and no delivery carried", "/stream/prod_nobody", tokChat, "", 404, CodeNotFound},
		{"over-long product id", "/stream/" + strings.Repeat("p", 300), tokChat, "", 400, CodeInvalidParameter},
		{"garbage Last-Event-ID", "/stream/prod_demo", tokChat, "'; DROP TABLE", 400, CodeInvalidParameter},
		{"Last-Event-ID of another kind", "/stream/prod_demo", tokChat, "a1b2c3d4-0000-4000-8000-000000000000", 400, CodeInvalidParameter},
		{"garbage last_event_id query", "/stream/prod_demo?last_event_id=-1", tokChat, "", 400, CodeInvalidParameter},
		{"overflowing id", "/stream/prod_demo", tokChat, "99999999999999999999-0", 400, CodeInvalidParameter},
		{"wrong method", "/stream/prod_demo", tokChat, "", 405, CodeMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{}
			if tt.token != "" {
				hdr.Set("Authorization", "Bearer "+tt.token)
			}
			if tt.lastID != "" {
				hdr.Set("Last-Event-ID", tt.lastID)
			}
			method := http.MethodGet
			if tt.status == 405 {
				method = http.MethodPost
			}
			rec := h.do(method, tt.target, nil, hdr)
			if rec.Code != tt.status || decode[errorBody](t, rec).Error != tt.code {
				t.Fatalf("%d %s, want %d %s", rec.Code, rec.Body, tt.status, tt.code)
			}
		})
	}
}

// An unscoped source can feed any product: one it has fed is streamable,
// and only to a token allowed to read it.
func TestStreamProductKnownOnceADeliveryCarriedIt(t *testing.T) {
	l := startLive(t)
	if resp := l.open(t, "/stream/prod_other", tokOther); resp.StatusCode != 404 {
		t.Fatalf("before any delivery: %d", resp.StatusCode)
	}
	l.deliver(t, "open", "prod_other", "s_other", "u1")
	if resp := l.open(t, "/stream/prod_other", tokScoped); resp.StatusCode != 403 {
		t.Fatalf("token of another product: %d", resp.StatusCode)
	}
	l.openOK(t, "/stream/prod_other", tokOther)
}

// Every stored payload of the product, in ingest order, each with an id,
// as one line of JSON the SDK decodes; other products' stay out.
func TestStreamDeliversEveryStoredPayloadInOrder(t *testing.T) {
	l := startLive(t)
	resp, demo := l.openOK(t, "/stream/prod_demo", tokScoped)
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	l.deliver(t, "open", "prod_other", "s_first_other", "u1") // makes prod_other known
	_, other := l.openOK(t, "/stream/prod_other", tokOther)
	const n = 20
	for i := 0; i < n; i++ {
		user := fmt.Sprint("u", i)
		if i%5 == 0 {
			user = "" // user-less payloads are streamed too, flagged
		}
		l.deliver(t, "autoplay", "", fmt.Sprint("ps_", i), user)
		if i == n/2 {
			l.deliver(t, "open", "prod_other", "s_other", "u1")
		}
	}
	if rec := l.post("autoplay", payloadSpec{product: "", session: "ps_0", user: "", ts: T0, actions: []string{"click|Save|https://a.example/"}}.body()); decode[IngestResult](t, rec).Status != "duplicate" {
		t.Fatalf("redelivery: %s", rec.Body)
	}
	l.deliver(t, "autoplay", "", "ps_last", "u1")
	var prev string
	for i := 0; i <= n; i++ {
		m := nextEvent(t, demo)
		p := payloadOf(t, m)
		want := fmt.Sprint("ps_", i)
		if i == n {
			want = "ps_last" // the duplicate was not streamed
		}
		if m.Event != "" || m.ID == "" || p.Type != "actions" || p.ProductID != "prod_demo" || normalize.Str(p.SessionID) != want || len(p.Actions) != 1 {
			t.Fatalf("event %d: %+v", i, m)
		}
		if (p.UserID == nil) != (len(p.Flags) == 1 && p.Flags[0] == normalize.FlagMissingUserID) {
			t.Fatalf("event %d: user %v flags %v", i, p.UserID, p.Flags)
		}
		if prev != "" && !idLess(t, prev, m.ID) {
			t.Fatalf("ids out of order: %s then %s", prev, m.ID)
		}
		prev = m.ID
	}
	if p := payloadOf(t, nextEvent(t, other)); normalize.Str(p.SessionID) != "s_other" {
		t.Fatalf("prod_other got %+v", p)
	}
}

func idLess(t *testing.T, a, b string) bool {
	t.Helper()
	var am, as, bm, bs uint64
	if _, err := fmt.Sscanf(a+" "+b, "%d-%d %d-%d", &am, &as, &bm, &bs); err != nil {
		t.Fatalf("ids %q %q: %v", a, b, err)
	}
	return am < bm || am == bm && as < bs
}

func TestStreamHeartbeat(t *testing.T) {
	l := startLive(t, func(c *config.Config, _ *Deps) { c.Stream.Heartbeat = 50 * time.Millisecond })
	_, r := l.openOK(t, "/stream/prod_demo", tokChat)
	for i := 0; i < 2; i++ {
		m, err := r.Next()
		if err != nil || m.Event != "heartbeat" || m.Data != "" || m.ID != "" {
			t.Fatalf("message %d: %+v %v", i, m, err)
		}
	}
}

// A client resuming with Last-Event-ID (header, or ?last_event_id=) gets
// exactly what followed that id, then the live events: nothing lost,
// nothing twice.
func TestStreamResumesAfterLastEventID(t *testing.T) {
	for _, how := range []string{"header", "query"} {
		t.Run(how, func(t *testing.T) {
			l := startLive(t)
			resp, r := l.openOK(t, "/stream/prod_demo", tokChat)
			for i := 0; i < 3; i++ {
				l.deliver(t, "autoplay", "", fmt.Sprint("ps_", i), "u1")
			}
			var seen []string
			for i := 0; i < 2; i++ { // the client saw two, then lost its connection
				seen = append(seen, nextEvent(t, r).ID)
			}
			resp.Body.Close()
			for i := 3; i < 5; i++ {
				l.deliver(t, "autoplay", "", fmt.Sprint("ps_", i), "u1")
			}
			path, hdr := "/stream/prod_demo", []string{"Last-Event-ID", seen[1]}
			if how == "query" {
				path, hdr = path+"?last_event_id="+seen[1], nil
			}
			_, r = l.openOK(t, path, tokChat, hdr...)
			l.deliver(t, "autoplay", "", "ps_5", "u1")
			for i := 2; i < 6; i++ {
				if p := payloadOf(t, nextEvent(t, r)); normalize.Str(p.SessionID) != fmt.Sprint("ps_", i) {
					t.Fatalf("after resume, event %d is %v", i, normalize.Str(p.SessionID))
				}
			}
			if got := testutil.ToFloat64(l.srv.streams.metrics.resumes); got != 1 {
				t.Fatalf("resumes metric %v", got)
			}
		})
	}
}

// An id older than the replay buffer: one reset event, then live.
func TestStreamResetWhenTheIDLeftTheBuffer(t *testing.T) {
	l := startLive(t, func(c *config.Config, _ *Deps) { c.Stream.ReplayEvents = 2 })
	_, r := l.openOK(t, "/stream/prod_demo", tokChat)
	l.deliver(t, "autoplay", "", "ps_0", "u1")
	first := nextEvent(t, r).ID
	for i := 1; i < 5; i++ {
		l.deliver(t, "autoplay", "", fmt.Sprint("ps_", i), "u1")
	}
	_, r = l.openOK(t, "/stream/prod_demo", tokChat, "Last-Event-ID", first)
	m := nextEvent(t, r)
	var reset struct{ Type, Reason, LastEventID string }
	if err := json.Unmarshal([]byte(m.Data), &reset); err != nil || m.Event != "reset" || reset.Type != "reset" || !strings.Contains(m.Data, `"last_event_id":"`+first+`"`) {
		t.Fatalf("first message %+v (%v)\n%s", m, err, l.logs)
	}
	l.deliver(t, "autoplay", "", "ps_live", "u1")
	if p := payloadOf(t, nextEvent(t, r)); normalize.Str(p.SessionID) != "ps_live" {
		t.Fatalf("after the reset: %v", normalize.Str(p.SessionID))
	}
	if got := testutil.ToFloat64(l.srv.streams.metrics.resets); got != 1 {
		t.Fatalf("resets metric %v", got)
	}
}

// rawStream opens a stream on a connection that never reads, with a tiny
// receive buffer, and returns once the server answered its headers... or
// not: it does not read them either. It returns the connection.
func rawStream(t *testing.T, base, path, token string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nAuthorization: Bearer %s\r\n\r\n", path, token)
	return conn
}

// waitSubscribers waits (bounded) until the product has n subscribers:
// opening a stream on a raw connection returns before the server took it.
func waitSubscribers(t *testing.T, l *live, product string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for l.srv.streams.st.Subscribers()[product] != n {
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d subscribers, want %d", product, l.srv.streams.st.Subscribers()[product], n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A subscriber that stops reading is disconnected once its queue is
// full; ingest keeps acknowledging meanwhile, and a reading subscriber
// gets everything.
func TestStreamSlowSubscriberIsDisconnected(t *testing.T) {
	l := startLive(t, func(c *config.Config, _ *Deps) { c.Stream.SendQueue = 4 })
	rawStream(t, l.base, "/stream/prod_demo", tokChat)
	waitSubscribers(t, l, "prod_demo", 1)
	_, reader := l.openOK(t, "/stream/prod_demo", tokScoped)
	got := make(chan error, 1)
	sent := 0
	big := strings.Repeat("x", 8000)
	for ; sent < 5000 && l.srv.streams.st.Subscribers()["prod_demo"] == 2; sent++ {
		body := payloadSpec{product: "prod_demo", session: fmt.Sprint("ps_", sent), user: "u", ts: T0, actions: []string{"click|" + big + "|https://a.example/"}}.body()
		if rec := l.post("autoplay", body); rec.Code != 200 {
			t.Fatalf("ingest %d while a subscriber stalls: %d %s", sent, rec.Code, rec.Body)
		}
		go func(i int) { // the reading subscriber keeps up
			if p := payloadOf(t, nextEvent(t, reader)); normalize.Str(p.SessionID) != fmt.Sprint("ps_", i) {
				got <- fmt.Errorf("reader got %v for ps_%d", normalize.Str(p.SessionID), i)
				return
			}
			got <- nil
		}(sent)
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	}
	if n := l.srv.streams.st.Subscribers()["prod_demo"]; n != 1 {
		t.Fatalf("after %d deliveries the stalled subscriber is still there (%d subscribers)", sent, n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(l.srv.streams.metrics.slow) != 1 { // counted when its handler returns
		if time.Now().After(deadline) {
			t.Fatal("slow disconnect not counted")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A flood of streams that never read: each bound answers 503 with
// Retry-After beyond it, never a 500; closing them frees the places.
func TestStreamSubscriberBounds(t *testing.T) {
	l := startLive(t, func(c *config.Config, _ *Deps) {
		c.Stream.MaxSubscribers, c.Stream.MaxSubscribersPerToken = 4, 3
	})
	var conns []net.Conn
	for i := 0; i < 3; i++ {
		conns = append(conns, rawStream(t, l.base, "/stream/prod_demo", tokChat))
	}
	waitSubscribers(t, l, "prod_demo", 3)
	if resp := l.open(t, "/stream/prod_demo", tokChat); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("beyond the token's bound: %d", resp.StatusCode)
	}
	l.openOK(t, "/stream/prod_demo", tokScoped)
	if resp := l.open(t, "/stream/prod_demo", tokScoped); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("beyond the replica's bound: %d", resp.StatusCode)
	}
	for _, c := range conns {
		c.Close()
	}
	waitSubscribers(t, l, "prod_demo", 1)
	l.openOK(t, "/stream/prod_demo", tokChat)
}

// Shutting the HTTP server down (as SIGTERM does) ends every stream at
// once, so Shutdown returns well before its timeout; the access log has
// one line when the stream opened and one when it closed.
func TestStreamShutdownClosesStreams(t *testing.T) {
	l := startLive(t)
	_, r := l.openOK(t, "/stream/prod_demo", tokChat)
	l.deliver(t, "autoplay", "", "ps_0", "u1")
	nextEvent(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.hs.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || m.Event != "heartbeat" {
			t.Fatalf("after shutdown: %+v %v", m, err)
		}
	}
	var opened, closed int
	sc := bufio.NewScanner(strings.NewReader(l.logs.String()))
	for sc.Scan() {
		var line map[string]any
		_ = json.Unmarshal(sc.Bytes(), &line)
		switch {
		case line["msg"] == "stream opened" && line["product"] == "prod_demo" && line["token"] == "chat":
			opened++
		case line["msg"] == "request" && line["route"] == "/stream/:product_id":
			closed++
			if line["reason"] != "shutdown" || line["events_sent"] != float64(1) || line["status"] != float64(200) {
				t.Fatalf("closing line: %v", line)
			}
		}
	}
	if opened != 1 || closed != 1 {
		t.Fatalf("%d opening and %d closing lines:\n%s", opened, closed, l.logs)
	}
}

// checkedLive are documented answers that only a live connection can
// check (a stream does not end by itself): TestOpenAPIStreamAnswer checks them.
var checkedLive = map[string]bool{"get /stream/{product_id} 200": true}

func TestOpenAPIStreamAnswer(t *testing.T) {
	spec := loadSpec(t)
	op, ok := spec.operation("get", "/stream/{product_id}")
	if !ok {
		t.Fatal("GET /stream/{product_id} is not in the spec")
	}
	resp, err := spec.response(op, 200)
	if err != nil {
		t.Fatal(err)
	}
	l := startLive(t)
	r, _ := l.openOK(t, "/stream/prod_demo", tokChat)
	content, _ := resp["content"].(map[string]any)
	if _, ok := content[r.Header.Get("Content-Type")]; !ok {
		t.Fatalf("content type %q is not documented (%v)", r.Header.Get("Content-Type"), keysOf(content))
	}
	headers, _ := resp["headers"].(map[string]any)
	for _, h := range []string{"Cache-Control", "X-Accel-Buffering"} {
		if _, ok := headers[h]; !ok || r.Header.Get(h) == "" {
			t.Errorf("header %s: documented %v, sent %q", h, ok, r.Header.Get(h))
		}
	}
}

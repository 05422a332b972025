package webhooks

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/normalize"
)

var dana = payloadSpec{
	product: "prod_demo", session: "ps_1", user: "usr_48213", email: "dana.whitfield@example.com",
	ts:      T0.Add(-10 * time.Second),
	actions: []string{"pageview|User landed on checkout|https://shop.example.com/checkout", "click|User clicked Place order|https://shop.example.com/checkout"},
}

func TestIngestOutcomes(t *testing.T) {
	anon := dana
	anon.user, anon.email, anon.session = "", "", "ps_anon"
	noSession := dana
	noSession.session = ""
	otherProduct := dana
	otherProduct.product = "prod_other"

	tests := []struct {
		name    string
		source  string
		body    []byte
		header  func(b []byte) http.Header // nil: signed with the new secret
		status  int
		code    string // error code, or ingest status for 200
		wantMsg string
	}{
		{name: "stored", source: "autoplay", body: dana.body(), status: 200, code: "accepted"},
		{name: "without user_id: accepted and flagged", source: "autoplay", body: anon.body(), status: 200, code: "accepted"},
		{name: "other event type is ignored", source: "autoplay", body: []byte(`{"type":"heartbeat"}`), status: 200, code: "ignored"},
		{name: "blank session_id is ignored", source: "autoplay", body: noSession.body(), status: 200, code: "ignored", wantMsg: "session_id"},
		{name: "unknown source", source: "nope", body: dana.body(), status: 404, code: "unknown_source"},
		{name: "path traversal in source", source: "..%2f..%2fetc", body: dana.body(), status: 404, code: "unknown_source"},
		{name: "missing signature", source: "autoplay", body: dana.body(), header: func([]byte) http.Header { return http.Header{} }, status: 401, code: "invalid_signature"},
		{name: "wrong signature", source: "autoplay", body: dana.body(), header: func(b []byte) http.Header { return sign(b, "not-the-secret") }, status: 401, code: "invalid_signature"},
		{name: "rotated old secret still accepted", source: "autoplay", body: anon.body(), header: func(b []byte) http.Header { return sign(b, secretOld) }, status: 200, code: "accepted"},
		{name: "malformed JSON", source: "autoplay", body: []byte(`{"type":"actions",`), status: 400, code: "malformed_json"},
		{name: "JSON that is not an object", source: "autoplay", body: []byte(`["actions"]`), status: 400, code: "malformed_json"},
		{name: "empty body", source: "autoplay", body: []byte{}, status: 400, code: "malformed_json"},
		{name: "actions not a list", source: "autoplay", body: []byte(`{"type":"actions","session_id":"s","actions":"click"}`), status: 422, code: "invalid_payload"},
		{name: "field too long", source: "autoplay", body: []byte(`{"type":"actions","session_id":"` + strings.Repeat("s", 300) + `"}`), status: 422, code: "invalid_payload"},
		{name: "product mismatch", source: "autoplay", body: otherProduct.body(), status: 422, code: "product_mismatch"},
		{name: "source without product takes the payload's", source: "open", body: otherProduct.body(), status: 200, code: "accepted"},
		{name: "body over the limit", source: "autoplay", body: []byte(`{"type":"actions","x":"` + strings.Repeat("a", 70<<10) + `"}`), status: 413, code: "payload_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			hdr := h.signer.Sign(tt.body, secretNew, T0)
			if tt.header != nil {
				hdr = tt.header(tt.body)
			}
			rec := h.do(http.MethodPost, "/webhooks/"+tt.source, tt.body, hdr)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			m := decode[map[string]any](t, rec)
			got := m["error"]
			if rec.Code == 200 {
				got = m["status"]
			}
			if got != tt.code {
				t.Fatalf("code %v, want %s: %s", got, tt.code, rec.Body)
			}
			if tt.wantMsg != "" && !strings.Contains(rec.Body.String(), tt.wantMsg) {
				t.Fatalf("body lacks %q: %s", tt.wantMsg, rec.Body)
			}
			for _, secret := range []string{secretOld, secretNew} {
				if strings.Contains(rec.Body.String(), secret) {
					t.Fatalf("response leaks a secret: %s", rec.Body)
				}
			}
		})
	}
}

func TestIngestResponseBody(t *testing.T) {
	h := newHarness(t)
	anon := dana
	anon.user, anon.email = "", ""
	rec := h.post("autoplay", anon.body())
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"status":"accepted","source":"autoplay","payloads":1,"identities":0,"missing_user_id":1}` {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get(RequestIDHeader) == "" {
		t.Fatal("no request id on the response")
	}
}

func TestInvalidPayloadNamesFields(t *testing.T) {
	h := newHarness(t)
	rec := h.post("autoplay", []byte(`{"type":"actions","session_id":"s","actions":[{"type":"click"},7]}`))
	if rec.Code != 422 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	body := decode[struct {
		Error  string `json:"error"`
		Fields []struct{ Field, Reason string }
	}](t, rec)
	if body.Error != "invalid_payload" || len(body.Fields) != 1 || body.Fields[0].Field != "actions[1]" || body.Fields[0].Reason != "must be an object" {
		t.Fatalf("%+v", body)
	}
}

func TestDuplicateIsStoredOnce(t *testing.T) {
	h := newHarness(t)
	body := dana.body()
	if rec := h.post("autoplay", body); decode[IngestResult](t, rec).Status != "accepted" {
		t.Fatalf("first: %s", rec.Body)
	}
	rec := h.post("autoplay", body)
	if res := decode[IngestResult](t, rec); rec.Code != 200 || res.Status != "duplicate" || res.Payloads != 1 {
		t.Fatalf("second: %d %s", rec.Code, rec.Body)
	}
	s := h.get("/v1/sessions/ps_1?product_id=prod_demo", tokChat)
	if got := decode[SessionResponse](t, s); len(got.Actions) != 2 {
		t.Fatalf("duplicate stored twice: %d actions", len(got.Actions))
	}
	// The same body on another source is not a duplicate of this one.
	if rec := h.post("open", body); decode[IngestResult](t, rec).Status != "accepted" {
		t.Fatalf("other source: %s", rec.Body)
	}
}

// blockingActivity holds every AddActions until release is closed.
type blockingActivity struct {
	index.ActivityStore
	entered chan struct{}
	release chan struct{}
}

func (b *blockingActivity) AddActions(ctx context.Context, k index.SessionKey, p *normalize.ActionsPayload, at float64) error {
	b.entered <- struct{}{}
	<-b.release
	return b.ActivityStore.AddActions(ctx, k, p, at)
}

// A vendor that retries while its first delivery is still being stored
// (Sentry gives up after 1 s) must not be told "duplicate": the first may
// yet fail. It gets 503 + Retry-After; once the first is stored, the next
// retry is the duplicate it is.
func TestRetryDuringTheFirstDeliveryIsNotADuplicateYet(t *testing.T) {
	ba := &blockingActivity{entered: make(chan struct{}), release: make(chan struct{})}
	h := newHarness(t, func(c *config.Config, d *Deps) {
		ba.ActivityStore = index.NewMemoryActivity(100, 100)
		d.Activity = ba
	})
	body := dana.body()
	first := make(chan *httptest.ResponseRecorder)
	go func() { first <- h.post("autoplay", body) }()
	<-ba.entered // the first delivery is being stored
	rec := h.post("autoplay", body)
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "being processed") {
		t.Fatalf("retry while the first is in flight: %d %s", rec.Code, rec.Body)
	}
	close(ba.release)
	if rec := <-first; decode[IngestResult](t, rec).Status != "accepted" {
		t.Fatalf("first delivery: %d %s", rec.Code, rec.Body)
	}
	if rec := h.post("autoplay", body); decode[IngestResult](t, rec).Status != "duplicate" {
		t.Fatalf("retry after the first was stored: %d %s", rec.Code, rec.Body)
	}
}

func TestStoreFailureIs503AndRetryIsNotADuplicate(t *testing.T) {
	fa := &failingActivity{fail: true}
	h := newHarness(t, func(c *config.Config, d *Deps) {
		fa.ActivityStore = index.NewMemoryActivity(100, 100)
		d.Activity = fa
	})
	body := dana.body()
	rec := h.post("autoplay", body)
	if rec.Code != 503 || decode[map[string]string](t, rec)["error"] != "unavailable" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("%d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	if strings.Contains(rec.Body.String(), "disk on fire") {
		t.Fatal("internal cause leaked to the client")
	}
	if !strings.Contains(h.logs.String(), "disk on fire") {
		t.Fatal("internal cause not logged")
	}
	fa.mu.Lock()
	fa.fail = false
	fa.mu.Unlock()
	rec = h.post("autoplay", body)
	if res := decode[IngestResult](t, rec); res.Status != "accepted" {
		t.Fatalf("the vendor's retry must be stored, got %s", rec.Body)
	}
}

func TestOverloadAnswers503WithRetryAfter(t *testing.T) {
	h := newHarness(t, func(c *config.Config, d *Deps) { c.Server.MaxConcurrentIngests = 2 })
	h.srv.ingestSem <- struct{}{}
	h.srv.ingestSem <- struct{}{}
	rec := h.post("autoplay", dana.body())
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	<-h.srv.ingestSem
	if rec := h.post("autoplay", dana.body()); rec.Code != 200 {
		t.Fatalf("after a slot frees: %d %s", rec.Code, rec.Body)
	}
}

// Beyond ingest_workers running deliveries, the next one waits (it is not
// refused) and runs as soon as a worker frees; if none frees within
// ingest_queue_timeout it gets 503 + Retry-After, and nothing of it is
// stored.
func TestIngestWaitsForAWorkerThenGives503(t *testing.T) {
	h := newHarness(t, func(c *config.Config, d *Deps) {
		d.IngestWorkers = 1
		c.Server.IngestQueueTimeout = time.Hour // only the freed worker can end the wait
	})
	if got := cap(h.srv.workers); got != 1 {
		t.Fatalf("workers = %d, want 1", got)
	}
	h.srv.workers <- struct{}{} // the one worker is busy
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- h.post("autoplay", dana.body()) }()
	// The delivery is admitted and waiting: it holds an in-progress slot.
	for len(h.srv.ingestSem) != 1 {
		runtime.Gosched()
	}
	select {
	case rec := <-done:
		t.Fatalf("answered while no worker was free: %d %s", rec.Code, rec.Body)
	default:
	}
	<-h.srv.workers // the worker frees
	if rec := <-done; rec.Code != 200 {
		t.Fatalf("after the worker freed: %d %s", rec.Code, rec.Body)
	}

	h2 := newHarness(t, func(c *config.Config, d *Deps) {
		d.IngestWorkers = 1
		c.Server.IngestQueueTimeout = time.Millisecond
	})
	h2.srv.workers <- struct{}{}
	rec := h2.post("autoplay", dana.body())
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "1" || !strings.Contains(rec.Body.String(), CodeUnavailable) {
		t.Fatalf("queue timeout: %d %s", rec.Code, rec.Body)
	}
	if _, ok, _ := h2.users.Lookup(context.Background(), dana.user, T0); ok {
		t.Fatal("a delivery refused with 503 was stored")
	}
	<-h2.srv.workers
	if rec := h2.post("autoplay", dana.body()); rec.Code != 200 {
		t.Fatalf("the vendor's retry: %d %s", rec.Code, rec.Body)
	}
}

// Deps.IngestWorkers 0 picks the CPU count, capped by
// max_concurrent_ingests.
func TestIngestWorkersDefault(t *testing.T) {
	if got, want := cap(newHarness(t).srv.workers), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("default: %d, want %d", got, want)
	}
	h := newHarness(t, func(c *config.Config, d *Deps) {
		c.Server.MaxConcurrentIngests = 3
		d.IngestWorkers = 64
	})
	if got := cap(h.srv.workers); got != 3 {
		t.Errorf("capped: %d, want 3", got)
	}
}

func TestBodyLimitWithoutContentLength(t *testing.T) {
	h := newHarness(t)
	body := []byte(`{"x":"` + strings.Repeat("a", 70<<10) + `"}`)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/autoplay", bytes.NewReader(body))
	r.Header = sign(body, secretNew)
	r.ContentLength = -1 // chunked: the limit must hold while reading
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, r)
	if rec.Code != 413 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestAccessLogOneLinePerRequestWarnsOnRejections(t *testing.T) {
	h := newHarness(t)
	anon := dana
	anon.user = ""
	h.post("autoplay", dana.body())
	h.post("autoplay", anon.body())
	h.do(http.MethodPost, "/webhooks/autoplay", dana.body(), http.Header{})
	lines := strings.Split(strings.TrimSpace(h.logs.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 log lines, got %d:\n%s", len(lines), h.logs)
	}
	for i, want := range []string{`"level":"info"`, `"level":"warning"`, `"level":"warning"`} {
		if !strings.Contains(lines[i], want) || !strings.Contains(lines[i], `"source":"autoplay"`) || !strings.Contains(lines[i], `"route":"/webhooks/:source"`) {
			t.Errorf("line %d lacks %s/source/route: %s", i, want, lines[i])
		}
	}
	if !strings.Contains(lines[2], `"outcome":"invalid_signature"`) {
		t.Errorf("rejection reason missing: %s", lines[2])
	}
	for _, l := range lines {
		if strings.Contains(l, "Place order") || strings.Contains(l, secretNew) {
			t.Fatalf("log holds a body or a secret: %s", l)
		}
	}
}

// readAll sizes its buffer from Content-Length but never trusts it: a
// shorter body is an error, a longer one is read up to the limit.
func TestReadAllDoesNotTrustContentLength(t *testing.T) {
	for _, tc := range []struct {
		name          string
		body          string
		contentLength int64
		max           int64
		want          string
		err           bool
	}{
		{"exact", "hello", 5, 11, "hello", false},
		{"unknown length", "hello", -1, 11, "hello", false},
		{"shorter than announced", "hel", 5, 11, "", true},
		{"longer than announced", "hello world", 5, 100, "hello world", false},
		{"longer than announced, cut at max", "hello world", 5, 8, "hello wo", false},
		{"announced at max", "hello", 8, 8, "hello", false},
		{"empty", "", 0, 8, "", false},
	} {
		got, err := readAll(strings.NewReader(tc.body), tc.contentLength, tc.max)
		if (err != nil) != tc.err || (err == nil && string(got) != tc.want) {
			t.Errorf("%s: got %q, %v; want %q (error %v)", tc.name, got, err, tc.want, tc.err)
		}
	}
}

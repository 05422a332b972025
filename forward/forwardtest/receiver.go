// Package forwardtest is a push receiver for tests and the load tool: a
// loopback HTTP server that checks X-Connector-Signature exactly as the
// Autoplay SDK's WebhookReceiver.verify does (forward.Verify), answers as a
// test scripts it, and records every delivery.
package forwardtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/replayhook/replayhook/forward"
	"github.com/replayhook/replayhook/normalize"
)

// Request is one POST the receiver got.
type Request struct {
	Delivery string
	Attempt  int
	// Seen is how many requests with this delivery id came before, plus one.
	Seen    int
	Header  http.Header
	Body    []byte
	Payload normalize.ActionsPayload
	// Verified is whether the signature checked out.
	Verified bool
}

// Answer is what the receiver replies; Hang holds the request until the
// client gives up.
type Answer struct {
	Status int
	Header http.Header
	Hang   bool
}

// Responder scripts the answer to a verified request.
type Responder func(r Request) Answer

// OK answers 200 to everything.
func OK(Request) Answer { return Answer{Status: http.StatusOK} }

// Receiver records requests; its methods are safe for concurrent use.
type Receiver struct {
	// URL is the receiver's address (http://127.0.0.1:port/events).
	URL string

	secret  string
	respond Responder
	srv     *httptest.Server

	mu       sync.Mutex
	seen     map[string]int
	all      []Request
	accepted []Request
	changed  chan struct{}
}

// New starts a receiver for tb on a random loopback port, closed when tb
// ends. Requests failing the SDK's check get 401 (as the SDK's FastAPI
// example answers a ValueError); the others get respond's answer.
func New(tb testing.TB, secret string, respond Responder) *Receiver {
	tb.Helper()
	r := Start(secret, respond)
	tb.Cleanup(r.Close)
	return r
}

// Start is New without a test (for the load tool); Close stops it.
func Start(secret string, respond Responder) *Receiver {
	if respond == nil {
		respond = OK
	}
	r := &Receiver{secret: secret, respond: respond, seen: map[string]int{}, changed: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL + "/events"
	return r
}

// Close stops the server.
func (r *Receiver) Close() {
	r.srv.CloseClientConnections()
	r.srv.Close()
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 4<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	q := Request{
		Delivery: req.Header.Get(forward.DeliveryHeader),
		Header:   req.Header.Clone(),
		Body:     body,
		Verified: req.Method == http.MethodPost && forward.Verify(r.secret, body, req.Header.Get(forward.SignatureHeader)),
	}
	q.Attempt, _ = strconv.Atoi(req.Header.Get(forward.AttemptHeader))
	_ = json.Unmarshal(body, &q.Payload)
	r.mu.Lock()
	r.seen[q.Delivery]++
	q.Seen = r.seen[q.Delivery]
	r.all = append(r.all, q)
	r.mu.Unlock()
	a := Answer{Status: http.StatusUnauthorized}
	if q.Verified {
		a = r.respond(q)
	}
	if a.Hang {
		<-req.Context().Done()
		r.notify()
		return
	}
	for k, vs := range a.Header {
		w.Header()[k] = vs
	}
	if a.Status >= 200 && a.Status < 300 {
		r.mu.Lock()
		r.accepted = append(r.accepted, q)
		r.mu.Unlock()
	}
	w.WriteHeader(a.Status)
	r.notify()
}

func (r *Receiver) notify() {
	r.mu.Lock()
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// Requests is every request so far, in arrival order.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.all...)
}

// Accepted is every request answered 2xx, in arrival order.
func (r *Receiver) Accepted() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.accepted...)
}

// WaitAccepted waits until n requests were answered 2xx, or fails tb after
// timeout.
func (r *Receiver) WaitAccepted(tb testing.TB, n int, timeout time.Duration) []Request {
	tb.Helper()
	r.waitFor(tb, timeout, func() bool { return len(r.accepted) >= n }, func() string {
		return strconv.Itoa(len(r.accepted)) + " accepted, want " + strconv.Itoa(n)
	})
	return r.Accepted()
}

// WaitRequests waits until n requests arrived, or fails tb after timeout.
func (r *Receiver) WaitRequests(tb testing.TB, n int, timeout time.Duration) []Request {
	tb.Helper()
	r.waitFor(tb, timeout, func() bool { return len(r.all) >= n }, func() string {
		return strconv.Itoa(len(r.all)) + " requests, want " + strconv.Itoa(n)
	})
	return r.Requests()
}

func (r *Receiver) waitFor(tb testing.TB, timeout time.Duration, done func() bool, say func() string) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok, ch := done(), r.changed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			r.mu.Lock()
			msg := say()
			r.mu.Unlock()
			tb.Fatalf("receiver: %s after %s", msg, timeout)
		}
	}
}

// Package forward pushes every stored payload to the configured targets —
// the Autoplay SDK's WebhookReceiver or anything that verifies the same
// X-Connector-Signature — at least once, in order per session, with
// retries and a bounded dead-letter list per target.
//
// Ingest calls Publish (forward implements webhooks.Outbound) before it
// acknowledges the vendor: a payload is acknowledged only once it is queued
// for every target of its product. The queue is a Store: Memory (part of
// the snapshot) or Redis (Redis Streams with a consumer group per target,
// shared by every replica). Each target's queue has Concurrency partitions;
// a session's payloads always land in the same partition, which exactly one
// worker (one replica, on Redis) delivers head first, so a later payload
// waits while an earlier one is retried, different partitions proceed in
// parallel, and targets never wait for one another.
package forward

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/sirupsen/logrus"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/normalize"
)

// Retry schedule: exponential from 1 s, doubling, capped at 5 min, with
// full jitter (each wait uniform in [0, cap]).
const (
	InitialInterval = time.Second
	MaxInterval     = 5 * time.Minute
	// maxRetryAfter caps a receiver's Retry-After, so an absurd value
	// cannot park a partition for days.
	maxRetryAfter = time.Hour
)

// ErrBadCursor is returned for a dead-letter cursor that no page gave.
var ErrBadCursor = errors.New("invalid cursor")

// Options are the Forwarder's clock, waits and instrumentation. Every
// field is optional.
type Options struct {
	// Now is the clock (time.Now).
	Now func() time.Time
	// Sleep waits d or until ctx ends (a timer); tests make it instant.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter picks the wait in [0, d] (uniform: full jitter).
	Jitter func(d time.Duration) time.Duration
	// InitialInterval and MaxInterval shape the backoff (1 s, 5 min).
	InitialInterval, MaxInterval time.Duration
	// Log receives warnings (dead letters, a target failing, recovering).
	Log *logrus.Logger
	// Metrics records attempts, lag and dead letters; nil records nothing.
	Metrics *Metrics
}

// target is a configured target with its HTTP client and health.
type target struct {
	config.ForwardTarget
	all      bool
	products map[string]bool
	client   *http.Client

	mu          sync.Mutex
	lastSuccess time.Time
	lastFailure time.Time
	lastError   string
	lastStatus  int
	failing     bool
}

func (t *target) matches(product string) bool { return t.all || t.products[product] }

// Forwarder is the outbox in front of the targets: Publish queues, Start
// runs the delivery workers.
type Forwarder struct {
	store   Store
	targets []*target
	byName  map[string]*target
	o       Options
}

// Targets turns the configuration into the Limits each Store needs.
func Targets(cfg []config.ForwardTarget) map[string]Limits {
	out := make(map[string]Limits, len(cfg))
	for _, t := range cfg {
		t = t.WithDefaults()
		out[t.Name] = Limits{Partitions: t.Concurrency, MaxQueued: t.MaxQueued, MaxDead: t.MaxDead}
	}
	return out
}

// New builds the forwarder of cfg's targets on store (built with
// Targets(cfg)). Nothing is delivered until Start.
func New(cfg []config.ForwardTarget, store Store, o Options) *Forwarder {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Jitter == nil {
		o.Jitter = func(d time.Duration) time.Duration { return rand.N(d + 1) }
	}
	if o.InitialInterval <= 0 {
		o.InitialInterval = InitialInterval
	}
	if o.MaxInterval <= 0 {
		o.MaxInterval = MaxInterval
	}
	if o.Log == nil {
		o.Log = logrus.New()
		o.Log.SetOutput(io.Discard)
	}
	f := &Forwarder{store: store, byName: map[string]*target{}, o: o}
	for _, c := range cfg {
		t := &target{ForwardTarget: c.WithDefaults(), products: map[string]bool{}}
		for _, p := range c.Products {
			if p == "*" {
				t.all = true
			}
			t.products[p] = true
		}
		t.client = newClient(t.Concurrency)
		f.targets = append(f.targets, t)
		f.byName[t.Name] = t
	}
	o.Metrics.init(f)
	return f
}

// newClient is an HTTP client that never follows a redirect (a 3xx is a
// failed attempt: the payload must not go to a URL the configuration does
// not name) and keeps a connection per partition alive.
func newClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conns
	tr.MaxConnsPerHost = conns + 1
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// partitionOf is the partition of a session among n.
func partitionOf(product, session string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(product))
	h.Write([]byte{0})
	h.Write([]byte(session))
	return int(h.Sum32() % uint32(n))
}

// newDeliveryID is 128 random bits in hex.
func newDeliveryID() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Publish queues each payload for every target of its product, in order
// (webhooks.Outbound). An error (a queue full, Redis down) means nothing
// may be acknowledged: ingest answers 503 and the vendor retries.
func (f *Forwarder) Publish(ctx context.Context, payloads []normalize.ActionsPayload, now time.Time) error {
	var entries []Entry
	for i := range payloads {
		p := payloads[i]
		var body []byte
		for _, t := range f.targets {
			if !t.matches(p.ProductID) {
				continue
			}
			if body == nil {
				p.Type = "actions"
				b, err := json.Marshal(&p)
				if err != nil {
					return err
				}
				body = b
			}
			session := normalize.Str(p.SessionID)
			entries = append(entries, Entry{
				ID: newDeliveryID(), Target: t.Name, Partition: partitionOf(p.ProductID, session, t.Concurrency),
				ProductID: p.ProductID, SessionID: session, Body: body, EnqueuedAt: now,
			})
		}
	}
	if len(entries) == 0 {
		return nil
	}
	return f.store.Add(ctx, entries)
}

// Start runs one worker per partition of every target until the returned
// stop is called; stop waits for them. A delivery cut short by stop stays
// queued (not counted as an attempt) and is sent again after a restart.
func (f *Forwarder) Start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, t := range f.targets {
		for p := range t.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.work(ctx, t, p)
			}()
		}
	}
	return func() { cancel(); wg.Wait() }
}

// work holds partition p of t and delivers its entries head first, until
// ctx ends; when the hold is lost (Redis lease) it takes it again.
func (f *Forwarder) work(ctx context.Context, t *target, p int) {
	for ctx.Err() == nil {
		hctx, release, err := f.store.Hold(ctx, t.Name, p)
		if err != nil {
			if ctx.Err() == nil {
				f.o.Log.WithError(err).WithFields(logrus.Fields{"target": t.Name, "partition": p}).Warn("forward: cannot hold partition")
				_ = f.o.Sleep(ctx, time.Second)
			}
			continue
		}
		for hctx.Err() == nil {
			e, err := f.store.Next(hctx, t.Name, p)
			if err != nil {
				if hctx.Err() == nil {
					f.o.Log.WithError(err).WithField("target", t.Name).Warn("forward: cannot read queue")
					_ = f.o.Sleep(hctx, time.Second)
				}
				continue
			}
			f.deliver(hctx, t, e)
		}
		release()
	}
}

// deliver tries e until it is delivered, given up on (dead letter) or ctx
// ends (it then stays queued).
func (f *Forwarder) deliver(ctx context.Context, t *target, e Entry) {
	b := &backoff.ExponentialBackOff{InitialInterval: f.o.InitialInterval, Multiplier: 2, MaxInterval: f.o.MaxInterval}
	b.Reset()
	for range e.Attempts { // resume the schedule of an entry restored mid-retry
		b.NextBackOff()
	}
	for {
		r := f.attempt(ctx, t, e, e.Attempts+1)
		if r.aborted {
			return
		}
		now := f.o.Now()
		e.Attempts++
		e.LastStatus, e.LastError = r.status, r.err
		f.o.Metrics.attempt(t.Name, r.class)
		if r.ok {
			f.o.Metrics.delivered(t.Name, now.Sub(e.EnqueuedAt))
			f.healthy(t, now)
			if err := f.record(ctx, func(c context.Context) error { return f.store.Done(c, e) }); err != nil {
				// Not removed: it is sent again (at least once).
				f.o.Log.WithError(err).WithFields(logrus.Fields{"target": t.Name, "delivery": e.ID}).Warn("forward: delivered but not removed from the queue")
			}
			return
		}
		f.failed(t, now, r)
		if r.permanent {
			f.bury(ctx, t, e, now, "rejected by the target")
			return
		}
		wait := r.retryAfter
		if wait <= 0 {
			wait = f.o.Jitter(b.NextBackOff())
		}
		if e.Attempts >= t.MaxAttempts {
			f.bury(ctx, t, e, now, "max_attempts reached")
			return
		}
		if now.Add(wait).Sub(e.EnqueuedAt) > t.MaxAge {
			f.bury(ctx, t, e, now, "max_age reached")
			return
		}
		if err := f.store.Attempted(ctx, e); err != nil && ctx.Err() == nil {
			f.o.Log.WithError(err).WithField("target", t.Name).Warn("forward: attempt count not saved")
		}
		if f.o.Sleep(ctx, wait) != nil {
			return
		}
	}
}

func (f *Forwarder) bury(ctx context.Context, t *target, e Entry, now time.Time, why string) {
	d := DeadLetter{
		ID: e.ID, ProductID: e.ProductID, SessionID: e.SessionID, EnqueuedAt: e.EnqueuedAt, DeadAt: now,
		Attempts: e.Attempts, LastStatus: e.LastStatus, LastError: e.LastError, Payload: e.Body,
	}
	if err := f.record(ctx, func(c context.Context) error { return f.store.Bury(c, e, d) }); err != nil {
		f.o.Log.WithError(err).WithFields(logrus.Fields{"target": t.Name, "delivery": e.ID}).Warn("forward: dead letter not saved; the payload stays queued")
		_ = f.o.Sleep(ctx, time.Second)
		return
	}
	f.o.Metrics.dead(t.Name)
	f.o.Log.WithFields(logrus.Fields{
		"target": t.Name, "delivery": e.ID, "attempts": e.Attempts, "status": e.LastStatus, "error": e.LastError, "reason": why,
	}).Warn("forward: payload dead-lettered")
}

// record writes an attempt's outcome to the store even when ctx has just
// ended (a graceful stop right after a 2xx must not leave the entry to be
// sent again), within a short bound.
func (f *Forwarder) record(ctx context.Context, write func(context.Context) error) error {
	c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return write(c)
}

func (f *Forwarder) healthy(t *target, now time.Time) {
	t.mu.Lock()
	t.lastSuccess = now
	was := t.failing
	t.failing = false
	t.mu.Unlock()
	if was {
		f.o.Log.WithField("target", t.Name).Info("forward: target delivering again")
	}
}

func (f *Forwarder) failed(t *target, now time.Time, r result) {
	t.mu.Lock()
	t.lastFailure, t.lastError, t.lastStatus = now, r.err, r.status
	was := t.failing
	t.failing = true
	t.mu.Unlock()
	if !was {
		f.o.Log.WithFields(logrus.Fields{"target": t.Name, "status": r.status, "error": r.err}).Warn("forward: target failing; retrying with backoff")
	}
}

// result is one attempt's outcome.
type result struct {
	ok, permanent, aborted bool
	status                 int
	// class is the metrics outcome: 2xx, 3xx, 4xx, 5xx, timeout, connection.
	class      string
	err        string
	retryAfter time.Duration
}

// attempt POSTs e once: the body as stored, its signature, the delivery id
// and attempt number, the static headers, and the secret as a bearer token
// only when the target asks for it.
func (f *Forwarder) attempt(ctx context.Context, t *target, e Entry, n int) result {
	actx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, t.URL, bytes.NewReader(e.Body))
	if err != nil {
		return result{permanent: true, class: "connection", err: "bad request: " + err.Error()}
	}
	for k, v := range t.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "replayhook-forward")
	req.Header.Set(SignatureHeader, Sign(t.Secret, e.Body))
	req.Header.Set(DeliveryHeader, e.ID)
	req.Header.Set(AttemptHeader, strconv.Itoa(n))
	if t.Bearer {
		req.Header.Set("Authorization", "Bearer "+t.Secret)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return result{aborted: true}
		}
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return result{class: "timeout", err: "no answer within " + t.Timeout.String()}
		}
		return result{class: "connection", err: errorText(err)}
	}
	// Read a little so the connection can be reused; never keep or log it.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return classify(resp, f.o.Now())
}

// errorText is a transport error without the URL (which may carry a
// token in its query).
func errorText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// classify maps an answer: 2xx done; 408, 429 and 5xx retried (honouring
// Retry-After); 3xx retried too (never followed: a redirect is a failure);
// any other 4xx is final.
func classify(resp *http.Response, now time.Time) result {
	s := resp.StatusCode
	r := result{status: s, class: strconv.Itoa(s/100) + "xx"}
	switch {
	case s >= 200 && s < 300:
		r.ok = true
		return r
	case s >= 300 && s < 400:
		r.err = "HTTP " + strconv.Itoa(s) + ": redirect not followed"
	default:
		r.err = "HTTP " + strconv.Itoa(s)
		if t := http.StatusText(s); t != "" {
			r.err += " " + t
		}
	}
	if s >= 400 && s < 500 && s != http.StatusRequestTimeout && s != http.StatusTooManyRequests {
		r.permanent = true
		return r
	}
	r.retryAfter = retryAfter(resp.Header.Get("Retry-After"), now)
	return r
}

// retryAfter parses Retry-After (seconds or an HTTP date), capped at an
// hour; 0 when absent or unparsable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = at.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// TargetStatus is one target as GET /v1/forwards shows it. Last* are this
// replica's own observations.
type TargetStatus struct {
	Name          string     `json:"name"`
	URL           string     `json:"url"`
	Products      []string   `json:"products"`
	Concurrency   int        `json:"concurrency"`
	Queued        int64      `json:"queued"`
	InFlight      int64      `json:"in_flight"`
	OldestAgeSecs float64    `json:"oldest_age_seconds"`
	DeadLetters   int64      `json:"dead_letters"`
	LastSuccessAt *time.Time `json:"last_success_at"`
	LastFailureAt *time.Time `json:"last_failure_at"`
	LastStatus    int        `json:"last_status,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
}

// Status lists every target with its queue and health, in configuration order.
func (f *Forwarder) Status(ctx context.Context) ([]TargetStatus, error) {
	out := make([]TargetStatus, 0, len(f.targets))
	now := f.o.Now()
	for _, t := range f.targets {
		s, err := f.store.Stats(ctx, t.Name)
		if err != nil {
			return nil, err
		}
		ts := TargetStatus{
			Name: t.Name, URL: redactURL(t.URL), Products: append([]string(nil), t.Products...), Concurrency: t.Concurrency,
			Queued: s.Queued, InFlight: s.InFlight, DeadLetters: s.Dead,
		}
		if !s.Oldest.IsZero() {
			ts.OldestAgeSecs = max(now.Sub(s.Oldest).Seconds(), 0)
		}
		t.mu.Lock()
		if !t.lastSuccess.IsZero() {
			at := t.lastSuccess.UTC()
			ts.LastSuccessAt = &at
		}
		if !t.lastFailure.IsZero() {
			at := t.lastFailure.UTC()
			ts.LastFailureAt = &at
			ts.LastStatus, ts.LastError = t.lastStatus, t.lastError
		}
		t.mu.Unlock()
		out = append(out, ts)
	}
	return out, nil
}

// redactURL drops the query (it may carry a token).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}

// Has reports whether a target of that name is configured.
func (f *Forwarder) Has(name string) bool { return f.byName[name] != nil }

// Dead pages a target's dead letters.
func (f *Forwarder) Dead(ctx context.Context, name, cursor string, limit int) ([]DeadLetter, string, error) {
	if !f.Has(name) {
		return nil, "", ErrUnknownTarget
	}
	return f.store.Dead(ctx, name, cursor, limit)
}

// Redeliver queues a target's dead letters again (those ids, or all).
func (f *Forwarder) Redeliver(ctx context.Context, name string, ids []string) (int, error) {
	if !f.Has(name) {
		return 0, ErrUnknownTarget
	}
	return f.store.Redeliver(ctx, name, ids, f.o.Now())
}

// DropDead forgets a target's dead letters.
func (f *Forwarder) DropDead(ctx context.Context, name string) (int, error) {
	if !f.Has(name) {
		return 0, ErrUnknownTarget
	}
	return f.store.DropDead(ctx, name)
}

// TestResult is what forward-test prints: one signed sample's answer.
type TestResult struct {
	Status   int
	Error    string
	Delivery string
	Duration time.Duration
}

// SendOnce POSTs one payload to the named target exactly as a forward
// (signed, with a fresh delivery id), without queueing or retrying.
func (f *Forwarder) SendOnce(ctx context.Context, name string, p normalize.ActionsPayload) (TestResult, error) {
	t := f.byName[name]
	if t == nil {
		return TestResult{}, ErrUnknownTarget
	}
	p.Type = "actions"
	body, err := json.Marshal(&p)
	if err != nil {
		return TestResult{}, err
	}
	e := Entry{ID: newDeliveryID(), Target: name, Body: body}
	start := f.o.Now()
	r := f.attempt(ctx, t, e, 1)
	if r.aborted {
		return TestResult{}, ctx.Err()
	}
	return TestResult{Status: r.status, Error: r.err, Delivery: e.ID, Duration: f.o.Now().Sub(start)}, nil
}

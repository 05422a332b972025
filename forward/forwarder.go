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
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
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
// stop is called. stop takes no new payload and ends the waits between
// retries at once, lets attempts in flight finish within the targets'
// timeout (so an answered payload is not sent again after a restart), then
// cuts what is left and waits for the workers. A payload not delivered
// stays queued (an attempt cut short is not counted).
func (f *Forwarder) Start() (stop func()) {
	soft, stopTaking := context.WithCancel(context.Background())
	hard, abort := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	grace := time.Duration(0)
	for _, t := range f.targets {
		grace = max(grace, t.Timeout)
		for p := range t.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.work(soft, hard, t, p)
			}()
		}
	}
	return func() {
		stopTaking()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(grace + time.Second):
		}
		abort()
		<-done
	}
}

// work holds partition p of t and delivers its entries head first, until
// ctx ends; when the hold is lost (Redis lease) it takes it again. Attempts
// run until hard ends.
func (f *Forwarder) work(ctx, hard context.Context, t *target, p int) {
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
			f.deliver(hctx, hard, t, e)
		}
		release()
	}
}

// deliver tries e until it is delivered, given up on (dead letter) or ctx
// ends (it then stays queued); an attempt in flight runs until hard ends.
func (f *Forwarder) deliver(ctx, hard context.Context, t *target, e Entry) {
	b := &backoff.ExponentialBackOff{InitialInterval: f.o.InitialInterval, Multiplier: 2, MaxInterval: f.o.MaxInterval}
	b.Reset()
	for range e.Attempts { // resume the schedule of an entry restored mid-retry
		b.NextBackOff()
	}
	for {
		if ctx.Err() != nil {
			return
		}
		r := f.attempt(hard, t, e, e.Attempts+1)
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
		if err := f.record(ctx, func(c context.Context) error { return f.store.Attempted(c, e) }); err != nil {
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

// Package stream is the live feed behind GET /stream/{product_id}: every
// payload ingest stored, per product, in ingest order, to every subscriber
// of that product, with a bounded replay buffer so that a client
// reconnecting with Last-Event-ID misses nothing and gets nothing twice.
//
// A Backend keeps the replay buffers: Memory (a bounded ring per product,
// part of the snapshot) or Redis (one Redis Stream per product, shared by
// every replica). Stream fans the backend's events out to the local
// subscribers: one follower per product with subscribers on this replica
// reads the backend (with Redis, XREAD BLOCK on the product's stream) and
// puts each event on every subscriber's bounded queue. A subscriber whose
// queue is full is disconnected rather than waited for, so a slow reader
// never slows ingest or the other subscribers.
package stream

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/replayhook/replayhook/normalize"
)

// Event is one message of a product's stream.
type Event struct {
	ID ID
	// Data is the payload as one line of compact JSON.
	Data []byte
	// At is when the event was appended (the ingest acknowledges after
	// that), for the delivery-lag histogram.
	At time.Time
}

// Backend keeps each product's replay buffer. Implementations are safe for
// concurrent use.
type Backend interface {
	// Append adds one JSON document per event to product's buffer, in
	// order, at time at. An error means they may not be in it (the
	// delivery is answered 503 and retried).
	Append(ctx context.Context, product string, data [][]byte, at time.Time) error
	// Since returns the buffered events after id, oldest first. found
	// reports whether the buffer still knows id (so that nothing after it
	// is missing); when it does not, events is empty.
	Since(ctx context.Context, product string, id ID) (events []Event, found bool, err error)
	// Last is the id of product's newest event, zero when there is none.
	Last(ctx context.Context, product string) (ID, error)
	// Read returns at most n events after id, oldest first, waiting for
	// one when there is none yet; it may return none (then call again)
	// and returns when ctx ends. ErrBehind (with the oldest events still
	// there) means events after id left the buffer before they were read.
	Read(ctx context.Context, product string, id ID, n int) ([]Event, error)
	// Known reports whether a stored delivery carried product (among the
	// most recently fed products the backend remembers).
	Known(ctx context.Context, product string) (bool, error)
	// Erase drops from every product's buffer the events whose payload's
	// user_id is userID or whose email is one of emails, and returns how
	// many it dropped. The other events keep their ids and order, and a
	// client whose Last-Event-ID is a dropped event still resumes after it
	// (without a reset) while the buffer keeps what followed.
	Erase(ctx context.Context, userID string, emails []string) (int, error)
}

// Errors of Subscribe.
var (
	// ErrTooMany: the replica or the owner has as many subscribers as allowed.
	ErrTooMany = errors.New("stream: too many subscribers")
	// ErrClosed: the stream is shutting down.
	ErrClosed = errors.New("stream: closed")
	// ErrBehind: a Read's events do not follow its id (some were dropped).
	ErrBehind = errors.New("stream: events were dropped before they were read")
)

// Reason says why a subscriber ended.
type Reason string

// The reasons a subscriber ends.
const (
	// ReasonClosed: its own Close (the client went away).
	ReasonClosed Reason = "closed"
	// ReasonSlow: its send queue overflowed.
	ReasonSlow Reason = "slow_subscriber"
	// ReasonShutdown: the server is stopping.
	ReasonShutdown Reason = "shutdown"
)

// Options bound a Stream. Zero values are taken as 1.
type Options struct {
	// MaxSubscribers bounds the subscribers of this Stream.
	MaxSubscribers int
	// MaxPerOwner bounds the subscribers of one owner (an auth token).
	MaxPerOwner int
	// SendQueue bounds the events waiting for one subscriber.
	SendQueue int
	// OnError is told when a follower cannot read the backend (it retries);
	// nil ignores it.
	OnError func(product string, err error)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// readBatch is the most events a follower takes from the backend at once.
const readBatch = 512

// retryWait is how long a follower waits after a backend error.
const retryWait = 500 * time.Millisecond

// Stream fans a Backend's events out to subscribers and publishes stored
// payloads into it (it is the ingest's webhooks.Outbound). Safe for
// concurrent use.
type Stream struct {
	backend Backend
	opts    Options

	mu     sync.Mutex
	topics map[string]*topic
	owners map[string]int
	total  int
	closed bool
}

// topic is one product with subscribers on this replica, and its follower.
type topic struct {
	product string
	subs    map[*Subscriber]struct{}
	stop    context.CancelFunc
	// ready is closed once the follower knows where it starts reading:
	// every event after that reaches the subscribers.
	ready chan struct{}
}

// New returns a Stream over b.
func New(b Backend, o Options) *Stream {
	o.MaxSubscribers = max(o.MaxSubscribers, 1)
	o.MaxPerOwner = max(o.MaxPerOwner, 1)
	o.SendQueue = max(o.SendQueue, 1)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OnError == nil {
		o.OnError = func(string, error) {}
	}
	return &Stream{backend: b, opts: o, topics: map[string]*topic{}, owners: map[string]int{}}
}

// Backend is the replay buffer the Stream reads and writes.
func (s *Stream) Backend() Backend { return s.backend }

// Publish appends the stored payloads to their products' buffers, in
// order. It implements webhooks.Outbound: an error fails the delivery
// (503), so nothing acknowledged is missing from the stream.
func (s *Stream) Publish(ctx context.Context, payloads []normalize.ActionsPayload, _ time.Time) error {
	at := s.opts.Now()
	start := 0
	for start < len(payloads) {
		product := payloads[start].ProductID
		end := start
		data := make([][]byte, 0, len(payloads)-start)
		for ; end < len(payloads) && payloads[end].ProductID == product; end++ {
			p := payloads[end]
			if p.Type == "" {
				p.Type = "actions"
			}
			b, err := json.Marshal(&p)
			if err != nil {
				return err
			}
			data = append(data, b)
		}
		if err := s.backend.Append(ctx, product, data, at); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// Known reports whether a stored delivery carried product.
func (s *Stream) Known(ctx context.Context, product string) (bool, error) {
	return s.backend.Known(ctx, product)
}

// Erase drops the user's events from every product's replay buffer
// (Backend.Erase): a client resuming with Last-Event-ID can no longer be
// sent them. Events already sent to subscribers stay sent.
func (s *Stream) Erase(ctx context.Context, userID string, emails []string) (int, error) {
	return s.backend.Erase(ctx, userID, emails)
}

// Since is the backend's Since.
func (s *Stream) Since(ctx context.Context, product string, id ID) ([]Event, bool, error) {
	return s.backend.Since(ctx, product, id)
}

// Subscribe adds a subscriber to product for owner. Once it returns,
// every event appended to product reaches the subscriber's queue, so a
// replay read from the buffer after Subscribe leaves no gap (it may
// overlap the queue: skip ids already sent). It waits within ctx for the
// product's follower to start (a backend round trip).
func (s *Stream) Subscribe(ctx context.Context, product, owner string) (*Subscriber, error) {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, ErrClosed
	case s.total >= s.opts.MaxSubscribers, s.owners[owner] >= s.opts.MaxPerOwner:
		s.mu.Unlock()
		return nil, ErrTooMany
	}
	t := s.topics[product]
	if t == nil {
		fctx, stop := context.WithCancel(context.Background())
		t = &topic{product: product, subs: map[*Subscriber]struct{}{}, stop: stop, ready: make(chan struct{})}
		s.topics[product] = t
		go s.follow(fctx, t)
	}
	sub := &Subscriber{s: s, t: t, owner: owner, events: make(chan Event, s.opts.SendQueue), done: make(chan struct{})}
	t.subs[sub] = struct{}{}
	s.total++
	s.owners[owner]++
	s.mu.Unlock()
	select {
	case <-t.ready:
		return sub, nil
	case <-ctx.Done():
		sub.Close()
		return nil, ctx.Err()
	}
}

// follow reads product's events from the backend and hands them to the
// topic's subscribers until stopped.
func (s *Stream) follow(ctx context.Context, t *topic) {
	var pos ID
	for {
		last, err := s.backend.Last(ctx, t.product)
		if err == nil {
			pos = last
			break
		}
		if !s.backoff(ctx, t.product, err) {
			return
		}
	}
	close(t.ready)
	for ctx.Err() == nil {
		evs, err := s.backend.Read(ctx, t.product, pos, readBatch)
		if errors.Is(err, ErrBehind) {
			// The subscribers would miss events: end them, they reconnect
			// and resume from their own last id (or get a reset).
			s.endAll(t, ReasonSlow)
			err = nil
		}
		if err != nil {
			if !s.backoff(ctx, t.product, err) {
				return
			}
			continue
		}
		if len(evs) == 0 {
			continue
		}
		pos = evs[len(evs)-1].ID
		s.fanOut(t, evs)
	}
}

// backoff reports err (unless the follower is stopping) and waits
// retryWait; false when ctx ended.
func (s *Stream) backoff(ctx context.Context, product string, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	s.opts.OnError(product, err)
	tm := time.NewTimer(retryWait)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

// fanOut queues evs for every subscriber of t without ever waiting: a
// subscriber without room for them is ended as slow.
func (s *Stream) fanOut(t *topic, evs []Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range t.subs {
		for _, ev := range evs {
			select {
			case sub.events <- ev:
				continue
			default:
			}
			s.endLocked(sub, ReasonSlow)
			break
		}
	}
}

// endAll ends every subscriber of t.
func (s *Stream) endAll(t *topic, r Reason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range t.subs {
		s.endLocked(sub, r)
	}
}

// endLocked removes sub and tells it why; the last subscriber of a topic
// stops its follower. s.mu is held.
func (s *Stream) endLocked(sub *Subscriber, r Reason) {
	t := sub.t
	if _, ok := t.subs[sub]; !ok {
		return
	}
	delete(t.subs, sub)
	s.total--
	if s.owners[sub.owner]--; s.owners[sub.owner] <= 0 {
		delete(s.owners, sub.owner)
	}
	sub.reason = r
	close(sub.done)
	if len(t.subs) == 0 && s.topics[t.product] == t {
		delete(s.topics, t.product)
		t.stop()
	}
}

// Close ends every subscriber (ReasonShutdown) and refuses new ones: the
// clients reconnect, to another replica while this one stops. The HTTP
// server calls it when it shuts down, since it does not end long-lived
// responses by itself.
func (s *Stream) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, t := range s.topics {
		for sub := range t.subs {
			s.endLocked(sub, ReasonShutdown)
		}
	}
}

// Subscribers is the number of subscribers per product now.
func (s *Stream) Subscribers() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.topics))
	for p, t := range s.topics {
		out[p] = len(t.subs)
	}
	return out
}

// Subscriber is one client of a product's stream.
type Subscriber struct {
	s      *Stream
	t      *topic
	owner  string
	events chan Event
	done   chan struct{}
	reason Reason // set before done is closed
}

// Events delivers the product's events in order.
func (sub *Subscriber) Events() <-chan Event { return sub.events }

// Done is closed when the subscriber ended: read Reason then.
func (sub *Subscriber) Done() <-chan struct{} { return sub.done }

// Reason says why the subscriber ended; valid once Done is closed.
func (sub *Subscriber) Reason() Reason {
	<-sub.done
	return sub.reason
}

// Close ends the subscriber (ReasonClosed unless it had already ended).
func (sub *Subscriber) Close() {
	sub.s.mu.Lock()
	defer sub.s.mu.Unlock()
	sub.s.endLocked(sub, ReasonClosed)
}

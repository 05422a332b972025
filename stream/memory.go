package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// MemoryLimits bound a Memory backend. Zero values are taken as 1 (Age:
// no age bound).
type MemoryLimits struct {
	// Events bounds each product's buffer by count.
	Events int
	// Age bounds it by age.
	Age time.Duration
	// MaxBytes bounds every buffer together (the payloads plus a fixed
	// overhead per event); beyond it the oldest events of all go first.
	MaxBytes int64
	// Products bounds the products kept; the least recently fed goes
	// first, with its buffer.
	Products int
}

// eventOverhead is what one buffered event costs besides its JSON (the
// Event value and its slot), counted against MaxBytes.
const eventOverhead = 64

// Memory is the single-replica backend: a bounded ring of events per
// product, with ids in Redis Streams' form issued from the clock. Its
// state can be saved to and restored from the snapshot (Export, Import),
// so ids and buffers survive a restart.
type Memory struct {
	limits MemoryLimits
	now    func() time.Time

	mu    sync.Mutex
	rings map[string]*ring
	// recent orders the products by last append, to forget the least
	// recently fed beyond limits.Products.
	recent *simplelru.LRU[string, struct{}]
	bytes  int64
	last   ID // newest id issued
}

// ring is one product's buffer.
type ring struct {
	events []Event // oldest first
	// dropped is the newest event that left the buffer: a client whose
	// last id is that one has missed nothing.
	dropped ID
	// fed: a stored delivery carried the product (not only a subscriber).
	fed bool
	// changed is closed (and replaced) on every append, and when the ring
	// is forgotten, to wake the followers waiting in Read.
	changed chan struct{}
	// erased are the ids of events Erase removed, newer than dropped: a
	// client whose last id is one of them has missed nothing.
	erased map[ID]struct{}
}

// NewMemory returns an empty Memory backend; now is its clock (ids and
// ages).
func NewMemory(l MemoryLimits, now func() time.Time) *Memory {
	l.Events = max(l.Events, 1)
	l.MaxBytes = max(l.MaxBytes, 1)
	l.Products = max(l.Products, 1)
	m := &Memory{limits: l, now: now, rings: map[string]*ring{}}
	m.recent, _ = simplelru.NewLRU(l.Products, func(product string, _ struct{}) { m.forget(product) })
	return m
}

// Compile-time guard.
var _ Backend = (*Memory)(nil)

// forget drops product's ring (called by the LRU, m.mu held).
func (m *Memory) forget(product string) {
	r := m.rings[product]
	if r == nil {
		return
	}
	for _, ev := range r.events {
		m.bytes -= eventSize(ev)
	}
	delete(m.rings, product)
	close(r.changed)
}

func eventSize(ev Event) int64 { return int64(len(ev.Data)) + eventOverhead }

// ringLocked returns product's ring, creating it (m.mu held).
func (m *Memory) ringLocked(product string) *ring {
	r := m.rings[product]
	if r == nil {
		r = &ring{changed: make(chan struct{})}
		m.rings[product] = r
		m.recent.Add(product, struct{}{})
	}
	return r
}

// Append implements Backend; it never fails.
func (m *Memory) Append(_ context.Context, product string, data [][]byte, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.ringLocked(product)
	m.recent.Add(product, struct{}{}) // most recently fed
	r.fed = true
	ms := uint64(max(m.now().UnixMilli(), 0))
	for _, d := range data {
		m.last = m.last.next(ms)
		ev := Event{ID: m.last, Data: d, At: at}
		r.events = append(r.events, ev)
		m.bytes += eventSize(ev)
	}
	m.trimLocked(r)
	for m.bytes > m.limits.MaxBytes && m.dropOldestLocked() {
	}
	close(r.changed)
	r.changed = make(chan struct{})
	return nil
}

// trimLocked drops r's events beyond the count and age bounds.
func (m *Memory) trimLocked(r *ring) {
	n := max(len(r.events)-m.limits.Events, 0)
	if m.limits.Age > 0 {
		cutoff := uint64(max(m.now().Add(-m.limits.Age).UnixMilli(), 0))
		for n < len(r.events) && r.events[n].ID.MS < cutoff {
			n++
		}
	}
	m.dropLocked(r, n)
}

// dropLocked drops r's n oldest events.
func (m *Memory) dropLocked(r *ring, n int) {
	if n <= 0 {
		return
	}
	for _, ev := range r.events[:n] {
		m.bytes -= eventSize(ev)
	}
	r.dropped = r.events[n-1].ID
	clear(r.events[:n]) // let the payloads go
	r.events = r.events[n:]
	for id := range r.erased {
		if id.Less(r.dropped) {
			delete(r.erased, id)
		}
	}
}

// Erase implements Backend: the events naming the user leave every ring
// (and the byte count); their ids are remembered so that resuming from one
// of them is not a reset.
func (m *Memory) Erase(_ context.Context, userID string, emails []string) (int, error) {
	match := matcher(userID, emails)
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, r := range m.rings {
		kept := r.events[:0]
		for _, ev := range r.events {
			if !match(ev.Data) {
				kept = append(kept, ev)
				continue
			}
			m.bytes -= eventSize(ev)
			if r.erased == nil {
				r.erased = map[ID]struct{}{}
			}
			r.erased[ev.ID] = struct{}{}
			n++
		}
		clear(r.events[len(kept):]) // let the payloads go
		r.events = kept
	}
	return n, nil
}

// dropOldestLocked drops the oldest event of all products; false when
// there is none.
func (m *Memory) dropOldestLocked() bool {
	var oldest *ring
	for _, r := range m.rings {
		if len(r.events) > 0 && (oldest == nil || r.events[0].ID.Less(oldest.events[0].ID)) {
			oldest = r
		}
	}
	if oldest == nil {
		return false
	}
	m.dropLocked(oldest, 1)
	return true
}

// Since implements Backend.
func (m *Memory) Since(_ context.Context, product string, id ID) ([]Event, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rings[product]
	if r == nil {
		return nil, false, nil
	}
	m.trimLocked(r)
	i := r.after(id)
	_, erased := r.erased[id]
	found := id == r.dropped && !id.IsZero() || i > 0 && r.events[i-1].ID == id ||
		erased && r.dropped.Less(id)
	if !found {
		return nil, false, nil
	}
	return append([]Event(nil), r.events[i:]...), true, nil
}

// after is the index of r's first event after id.
func (r *ring) after(id ID) int {
	return sort.Search(len(r.events), func(i int) bool { return id.Less(r.events[i].ID) })
}

// Last implements Backend.
func (m *Memory) Last(_ context.Context, product string) (ID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.rings[product]; r != nil && len(r.events) > 0 {
		return r.events[len(r.events)-1].ID, nil
	}
	return ID{}, nil
}

// Read implements Backend: it waits for an append to product.
func (m *Memory) Read(ctx context.Context, product string, id ID, n int) ([]Event, error) {
	for {
		m.mu.Lock()
		r := m.ringLocked(product)
		i := r.after(id)
		if i < len(r.events) {
			out := append([]Event(nil), r.events[i:min(len(r.events), i+n)]...)
			behind := id.Less(r.dropped)
			m.mu.Unlock()
			if behind {
				return out, ErrBehind
			}
			return out, nil
		}
		changed := r.changed
		m.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, nil
		}
	}
}

// Known implements Backend.
func (m *Memory) Known(_ context.Context, product string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rings[product]
	return r != nil && r.fed, nil
}

// Len is the number of buffered events and their bytes (as counted
// against MaxBytes), for tests and gauges.
func (m *Memory) Len() (events int, bytes int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.rings {
		events += len(r.events)
	}
	return events, m.bytes
}

// MemoryRecord is the snapshot form of a Memory backend.
type MemoryRecord struct {
	// Last is the newest id issued: ids after a restart follow it.
	Last     string          `json:"last"`
	Products []ProductRecord `json:"products"` // least recently fed first
}

// ProductRecord is one product's buffer in the snapshot.
type ProductRecord struct {
	Product string        `json:"product"`
	Dropped string        `json:"dropped,omitempty"`
	Events  []EventRecord `json:"events"`
}

// EventRecord is one buffered event in the snapshot.
type EventRecord struct {
	ID   string          `json:"id"`
	At   time.Time       `json:"at"`
	Data json.RawMessage `json:"data"`
}

// Export returns the buffers for the snapshot. Products a subscriber asked
// for but no delivery fed are left out.
func (m *Memory) Export() MemoryRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec := MemoryRecord{Last: m.last.String()}
	for _, p := range m.recent.Keys() {
		r := m.rings[p]
		if r == nil || !r.fed {
			continue
		}
		pr := ProductRecord{Product: p, Events: make([]EventRecord, len(r.events))}
		if !r.dropped.IsZero() {
			pr.Dropped = r.dropped.String()
		}
		for i, ev := range r.events {
			pr.Events[i] = EventRecord{ID: ev.ID.String(), At: ev.At, Data: ev.Data}
		}
		rec.Products = append(rec.Products, pr)
	}
	return rec
}

// Import restores the buffers saved by Export (within the current limits,
// dropping what is too old by now) into an empty backend. Events out of
// order or with a malformed id make it fail, leaving the backend empty.
func (m *Memory) Import(rec MemoryRecord) error {
	last, err := ParseID(rec.Last)
	if err != nil {
		return fmt.Errorf("stream: snapshot: last id: %w", err)
	}
	rings := make(map[string]*ring, len(rec.Products))
	for _, pr := range rec.Products {
		r := &ring{fed: true, changed: make(chan struct{}), events: make([]Event, 0, len(pr.Events))}
		if pr.Dropped != "" {
			if r.dropped, err = ParseID(pr.Dropped); err != nil {
				return fmt.Errorf("stream: snapshot: %q: dropped id: %w", pr.Product, err)
			}
		}
		for _, er := range pr.Events {
			id, err := ParseID(er.ID)
			if err != nil || !r.dropped.Less(id) || len(r.events) > 0 && !r.events[len(r.events)-1].ID.Less(id) || last.Less(id) {
				return fmt.Errorf("stream: snapshot: %q: event id %q is malformed or out of order", pr.Product, er.ID)
			}
			r.events = append(r.events, Event{ID: id, At: er.At, Data: []byte(er.Data)})
		}
		rings[pr.Product] = r
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last = last
	for _, pr := range rec.Products {
		r := rings[pr.Product]
		if old := m.rings[pr.Product]; old != nil {
			m.forget(pr.Product)
		}
		m.rings[pr.Product] = r
		m.recent.Add(pr.Product, struct{}{})
		for _, ev := range r.events {
			m.bytes += eventSize(ev)
		}
		m.trimLocked(r)
	}
	for m.bytes > m.limits.MaxBytes && m.dropOldestLocked() {
	}
	return nil
}

package forward

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/replayhook/replayhook/snapshot"
)

// Memory is the outbox of the memory backend: per target, partitions held
// in this process, bounded by Limits.MaxQueued, and a dead-letter list
// bounded by Limits.MaxDead. It is saved in the snapshot (SnapshotPart), so
// a graceful restart loses nothing; a crash loses what was queued since the
// last periodic snapshot, exactly like the memory stores.
type Memory struct {
	mu      sync.Mutex
	targets map[string]*memTarget
}

type memTarget struct {
	limits  Limits
	parts   []*memPart
	queued  int
	seq     uint64 // enqueue order, kept across partitions for the snapshot
	dead    []memDead
	deadSeq uint64
}

type memPart struct {
	q     []memEntry
	taken bool          // a worker has the head
	wake  chan struct{} // signalled when the partition gets an entry
}

type memEntry struct {
	Entry
	seq uint64
}

type memDead struct {
	DeadLetter
	seq uint64
}

// NewMemory builds an empty memory outbox for targets (name -> limits).
func NewMemory(targets map[string]Limits) *Memory {
	m := &Memory{targets: make(map[string]*memTarget, len(targets))}
	for name, l := range targets {
		t := &memTarget{limits: l, parts: make([]*memPart, max(l.Partitions, 1))}
		for i := range t.parts {
			t.parts[i] = &memPart{wake: make(chan struct{}, 1)}
		}
		m.targets[name] = t
	}
	return m
}

var _ Store = (*Memory)(nil)

// Add queues every entry or none: a target at MaxQueued refuses the batch.
func (m *Memory) Add(_ context.Context, entries []Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	need := map[string]int{}
	for _, e := range entries {
		t := m.targets[e.Target]
		if t == nil {
			return ErrUnknownTarget
		}
		need[e.Target]++
		if t.queued+need[e.Target] > t.limits.MaxQueued {
			return ErrQueueFull
		}
	}
	for _, e := range entries {
		m.push(m.targets[e.Target], e)
	}
	return nil
}

// push appends e to its partition; the caller holds m.mu.
func (m *Memory) push(t *memTarget, e Entry) {
	e.Partition = partitionOf(e.ProductID, e.SessionID, len(t.parts))
	t.seq++
	p := t.parts[e.Partition]
	p.q = append(p.q, memEntry{Entry: e, seq: t.seq})
	t.queued++
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Hold always succeeds at once: this process is the only consumer.
func (m *Memory) Hold(ctx context.Context, target string, _ int) (context.Context, func(), error) {
	if m.target(target) == nil {
		return nil, nil, ErrUnknownTarget
	}
	return ctx, func() {}, nil
}

func (m *Memory) target(name string) *memTarget {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.targets[name]
}

// Next waits for the partition's head.
func (m *Memory) Next(ctx context.Context, target string, p int) (Entry, error) {
	t := m.target(target)
	if t == nil || p < 0 || p >= len(t.parts) {
		return Entry{}, ErrUnknownTarget
	}
	part := t.parts[p]
	for {
		m.mu.Lock()
		if len(part.q) > 0 {
			part.taken = true
			e := part.q[0].Entry
			m.mu.Unlock()
			return e, nil
		}
		part.taken = false
		m.mu.Unlock()
		select {
		case <-part.wake:
		case <-ctx.Done():
			return Entry{}, ctx.Err()
		}
	}
}

// head returns the partition's head if it is e (by delivery id); the
// caller holds m.mu.
func (m *Memory) head(e Entry) (*memTarget, *memPart, bool) {
	t := m.targets[e.Target]
	if t == nil || e.Partition < 0 || e.Partition >= len(t.parts) {
		return nil, nil, false
	}
	p := t.parts[e.Partition]
	return t, p, len(p.q) > 0 && p.q[0].ID == e.ID
}

// Attempted keeps the attempt count on the queued entry (and so in the
// snapshot).
func (m *Memory) Attempted(_ context.Context, e Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, p, ok := m.head(e); ok {
		p.q[0].Attempts, p.q[0].LastStatus, p.q[0].LastError = e.Attempts, e.LastStatus, e.LastError
	}
	return nil
}

// Done removes the delivered head.
func (m *Memory) Done(_ context.Context, e Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pop(e)
	return nil
}

func (m *Memory) pop(e Entry) {
	t, p, ok := m.head(e)
	if !ok {
		return
	}
	p.q[0] = memEntry{}
	p.q = p.q[1:]
	p.taken = false
	t.queued--
}

// Bury moves the head to the dead letters.
func (m *Memory) Bury(_ context.Context, e Entry, d DeadLetter) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.targets[e.Target]
	if t == nil {
		return ErrUnknownTarget
	}
	m.pop(e)
	m.addDead(t, d)
	return nil
}

// addDead appends d, dropping the oldest beyond MaxDead; the caller holds m.mu.
func (m *Memory) addDead(t *memTarget, d DeadLetter) {
	t.deadSeq++
	t.dead = append(t.dead, memDead{DeadLetter: d, seq: t.deadSeq})
	if over := len(t.dead) - t.limits.MaxDead; over > 0 {
		clear(t.dead[:over])
		t.dead = t.dead[over:]
	}
}

// Stats reads the target's queue.
func (m *Memory) Stats(_ context.Context, target string) (QueueStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.targets[target]
	if t == nil {
		return QueueStats{}, ErrUnknownTarget
	}
	s := QueueStats{Queued: int64(t.queued), Dead: int64(len(t.dead))}
	for _, p := range t.parts {
		if len(p.q) == 0 {
			continue
		}
		if p.taken {
			s.InFlight++
		}
		if at := p.q[0].EnqueuedAt; s.Oldest.IsZero() || at.Before(s.Oldest) {
			s.Oldest = at
		}
	}
	return s, nil
}

// Dead pages the dead letters; the cursor is the last letter's sequence.
func (m *Memory) Dead(_ context.Context, target, cursor string, limit int) ([]DeadLetter, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.targets[target]
	if t == nil {
		return nil, "", ErrUnknownTarget
	}
	var after uint64
	if cursor != "" {
		n, err := strconv.ParseUint(cursor, 10, 64)
		if err != nil {
			return nil, "", ErrBadCursor
		}
		after = n
	}
	i, _ := slices.BinarySearchFunc(t.dead, after+1, func(d memDead, s uint64) int { return cmpU64(d.seq, s) })
	out := []DeadLetter{}
	for ; i < len(t.dead) && len(out) < limit; i++ {
		out = append(out, t.dead[i].DeadLetter)
	}
	next := ""
	if i < len(t.dead) && len(out) > 0 {
		next = strconv.FormatUint(t.dead[i-1].seq, 10)
	}
	return out, next, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Redeliver queues dead letters again; the queue bound does not apply (an
// operator asked for it).
func (m *Memory) Redeliver(_ context.Context, target string, ids []string, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.targets[target]
	if t == nil {
		return 0, ErrUnknownTarget
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	kept := t.dead[:0]
	n := 0
	for _, d := range t.dead {
		if len(want) > 0 && !want[d.ID] {
			kept = append(kept, d)
			continue
		}
		m.push(t, Entry{ID: d.ID, Target: target, ProductID: d.ProductID, SessionID: d.SessionID, Body: d.Payload, EnqueuedAt: now})
		n++
	}
	clear(t.dead[len(kept):])
	t.dead = kept
	return n, nil
}

// DropDead forgets the target's dead letters.
func (m *Memory) DropDead(_ context.Context, target string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.targets[target]
	if t == nil {
		return 0, ErrUnknownTarget
	}
	n := len(t.dead)
	t.dead = nil
	return n, nil
}

// memSnapshot is one target's share of the snapshot.
type memSnapshot struct {
	Queue []Entry      `json:"queue"`
	Dead  []DeadLetter `json:"dead"`
}

// SnapshotPart saves every target's queue (in enqueue order, with attempt
// counts) and dead letters, and restores them at start. A target no longer
// configured is dropped at restore.
func (m *Memory) SnapshotPart() snapshot.Part {
	return snapshot.Value("forward",
		func(time.Time) map[string]memSnapshot {
			m.mu.Lock()
			defer m.mu.Unlock()
			out := make(map[string]memSnapshot, len(m.targets))
			for name, t := range m.targets {
				var q []memEntry
				for _, p := range t.parts {
					q = append(q, p.q...)
				}
				slices.SortFunc(q, func(a, b memEntry) int { return cmpU64(a.seq, b.seq) })
				s := memSnapshot{Queue: make([]Entry, len(q)), Dead: make([]DeadLetter, len(t.dead))}
				for i := range q {
					s.Queue[i] = q[i].Entry
				}
				for i := range t.dead {
					s.Dead[i] = t.dead[i].DeadLetter
				}
				out[name] = s
			}
			return out
		},
		func(in map[string]memSnapshot, _ time.Time) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			for name, s := range in {
				t := m.targets[name]
				if t == nil {
					continue
				}
				for _, e := range s.Queue {
					e.Target = name
					m.push(t, e)
				}
				for _, d := range s.Dead {
					m.addDead(t, d)
				}
			}
			return nil
		})
}

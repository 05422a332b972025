package index

import (
	"context"
	"sync"
)

// MemoryRejected is a RejectedLog holding the last max rejections in a ring.
type MemoryRejected struct {
	mu   sync.Mutex
	ring []Rejection
	next int
	full bool
}

// NewMemoryRejected keeps at most limit rejections (0 keeps none).
func NewMemoryRejected(limit int) *MemoryRejected {
	return &MemoryRejected{ring: make([]Rejection, limit)}
}

// Add records r, evicting the oldest when full.
func (m *MemoryRejected) Add(_ context.Context, r Rejection) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.ring) == 0 {
		return nil
	}
	m.ring[m.next] = r
	m.next = (m.next + 1) % len(m.ring)
	if m.next == 0 {
		m.full = true
	}
	return nil
}

// Recent returns up to limit rejections, newest first.
func (m *MemoryRejected) Recent(_ context.Context, limit int) ([]Rejection, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.next
	if m.full {
		n = len(m.ring)
	}
	if limit <= 0 || limit > n {
		limit = n
	}
	out := make([]Rejection, 0, limit)
	for i := 0; i < limit; i++ {
		j := (m.next - 1 - i + len(m.ring)) % len(m.ring)
		out = append(out, m.ring[j])
	}
	return out, nil
}

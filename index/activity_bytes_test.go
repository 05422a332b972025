package index

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/replayhook/replayhook/normalize"
)

// hostile is a delivery with fields at sizes a vendor could send: n
// actions of about 27 KB each.
func hostile(n int, tag string) *normalize.ActionsPayload {
	p := &normalize.ActionsPayload{Type: "actions", ProductID: "p", UserID: normalize.OptStr("u")}
	for i := range n {
		p.Actions = append(p.Actions, normalize.SlimAction{
			Index: i, Type: "click", Title: strings.Repeat("t", 2048),
			Description:  fmt.Sprintf("%s-%d-", tag, i) + strings.Repeat("d", 16<<10),
			RawURL:       "https://x.example/" + strings.Repeat("r", 4<<10),
			CanonicalURL: "https://x.example/" + strings.Repeat("c", 4<<10),
		})
	}
	return p
}

// counted is the sum of what each held session is counted for, and the
// sum of their actual sizes: both must equal Bytes.
func counted(m *MemoryActivity) (cost, size int64) {
	for i := range m.sessions.list {
		sh := &m.sessions.list[i]
		sh.mu.Lock()
		for _, k := range sh.lru.Keys() {
			e, _ := sh.lru.Peek(k)
			cost += e.cost
			size += e.size()
		}
		sh.mu.Unlock()
	}
	return cost, size
}

// 600 deliveries of ~270 KB (160 MB unbounded) into a store bounded at
// 8 MiB: the count stays under the bound, and so does the heap.
func TestHostileSizesStayUnderMaxBytes(t *testing.T) {
	const bound = 8 << 20
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	m := NewMemoryActivityLimits(ActivityLimits{MaxSessions: 100000, MaxActionsPerSession: 200, MaxBytes: bound, MaxBytesPerSession: 1 << 20})
	ctx := context.Background()
	for i := range 600 {
		key := SessionKey{ProductID: "p", SessionID: fmt.Sprintf("s%d", i)}
		if err := m.AddActions(ctx, key, hostile(10, "a"), 1); err != nil {
			t.Fatal(err)
		}
		if m.Bytes() > bound {
			t.Fatalf("after delivery %d: %d bytes counted, bound %d", i, m.Bytes(), bound)
		}
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if grown > bound+bound/4 {
		t.Fatalf("heap grew %d MiB for a %d MiB bound", grown>>20, bound>>20)
	}
	if cost, size := counted(m); cost != m.Bytes() || size != cost {
		t.Fatalf("Bytes %d, sessions counted %d, their sizes %d: the count drifted", m.Bytes(), cost, size)
	}
	if m.Len() < 20 || m.Evictions() == 0 {
		t.Fatalf("%d sessions held, %d evicted", m.Len(), m.Evictions())
	}
	// The newest session is there whole.
	s, ok, _ := m.Get(ctx, SessionKey{ProductID: "p", SessionID: "s599"})
	if !ok || len(s.Actions) != 10 {
		t.Fatalf("newest session: %v, %d actions", ok, len(s.Actions))
	}
	runtime.KeepAlive(m)
}

// One session of 200 actions of ~27 KB is held within the per-session
// bound, newest actions kept.
func TestOneSessionStaysUnderMaxBytesPerSession(t *testing.T) {
	const perSession = 256 << 10
	m := NewMemoryActivityLimits(ActivityLimits{MaxSessions: 10, MaxActionsPerSession: 200, MaxBytesPerSession: perSession})
	ctx := context.Background()
	key := SessionKey{ProductID: "p", SessionID: "s"}
	for i := range 20 {
		_ = m.AddActions(ctx, key, hostile(10, fmt.Sprint(i)), 1)
	}
	s, _, _ := m.Get(ctx, key)
	data := 0
	for _, a := range s.Actions {
		f := fields(&a.SlimAction)
		data += size(&f)
	}
	if data > perSession || len(s.Actions) == 0 || !strings.HasPrefix(s.Actions[len(s.Actions)-1].Description, "19-9-") {
		t.Fatalf("%d actions, %d bytes of data (bound %d)", len(s.Actions), data, perSession)
	}
	// Its buffers may hold up to about twice the live data (dropped
	// prefix and growth room); the store bound counts them as they are.
	if m.Bytes() > 5*perSession/2 {
		t.Fatalf("session counted %d bytes for a %d-byte data bound", m.Bytes(), perSession)
	}
}

// Evictions by count, replacements by Import and summaries keep the count
// equal to what is held.
func TestByteCountFollowsEvictionsAndImports(t *testing.T) {
	m := NewMemoryActivityLimits(ActivityLimits{MaxSessions: 10, MaxActionsPerSession: 5, MaxBytes: 1 << 30})
	ctx := context.Background()
	for i := range 100 {
		key := SessionKey{ProductID: "p", SessionID: fmt.Sprintf("s%d", i%30)}
		_ = m.AddActions(ctx, key, payload("u", "", "a", "b"), 1)
		_ = m.SetSummary(ctx, key, strings.Repeat("x", i), 1)
	}
	m.Import(m.Export())
	if cost, size := counted(m); cost != m.Bytes() || size != cost || m.Len() != 10 {
		t.Fatalf("Bytes %d, counted %d, sizes %d, %d sessions", m.Bytes(), cost, size, m.Len())
	}
}

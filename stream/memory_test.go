package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var t0 = time.Date(2025, 3, 14, 9, 45, 0, 0, time.UTC)

func docs(from, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, `{"n":%d}`, from+i)
	}
	return out
}

func ids(evs []Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = string(ev.Data)
	}
	return out
}

func mustAppend(t *testing.T, b Backend, product string, data [][]byte, at time.Time) {
	t.Helper()
	if err := b.Append(context.Background(), product, data, at); err != nil {
		t.Fatal(err)
	}
}

func TestMemoryBounds(t *testing.T) {
	ctx := context.Background()
	t.Run("count per product", func(t *testing.T) {
		clk := &clock{t: t0}
		m := NewMemory(MemoryLimits{Events: 3, MaxBytes: 1 << 20, Products: 10}, clk.Now)
		mustAppend(t, m, "p", docs(0, 5), clk.Now())
		mustAppend(t, m, "q", docs(100, 1), clk.Now())
		if n, _ := m.Len(); n != 4 {
			t.Fatalf("%d events kept, want 3 of p + 1 of q", n)
		}
		// A reader still before the dropped events is told so.
		if evs, err := m.Read(ctx, "p", ID{}, 10); !errors.Is(err, ErrBehind) || len(evs) != 3 {
			t.Fatalf("Read from before the buffer: %q %v", ids(evs), err)
		}
		last, _ := m.Last(ctx, "p")
		if _, err := m.Read(ctx, "q", last, 10); err != nil {
			t.Fatalf("Read from a kept id: %v", err)
		}
	})
	t.Run("age", func(t *testing.T) {
		clk := &clock{t: t0}
		m := NewMemory(MemoryLimits{Events: 100, Age: time.Minute, MaxBytes: 1 << 20, Products: 10}, clk.Now)
		mustAppend(t, m, "p", docs(0, 2), clk.Now())
		clk.Add(2 * time.Minute)
		mustAppend(t, m, "p", docs(2, 1), clk.Now())
		if n, _ := m.Len(); n != 1 {
			t.Fatalf("%d events kept, want the one younger than a minute", n)
		}
	})
	t.Run("bytes of every product together", func(t *testing.T) {
		clk := &clock{t: t0}
		m := NewMemory(MemoryLimits{Events: 1000, MaxBytes: 10 * (eventOverhead + 8), Products: 10}, clk.Now)
		for i := 0; i < 50; i++ {
			mustAppend(t, m, fmt.Sprint("p", i%3), [][]byte{[]byte(fmt.Sprintf("%08d", i))}, clk.Now())
			clk.Add(time.Millisecond)
		}
		n, b := m.Len()
		if n != 10 || b != 10*(eventOverhead+8) {
			t.Fatalf("kept %d events, %d bytes; want the newest 10", n, b)
		}
		evs, _ := m.Read(ctx, "p1", ID{}, 100) // p1's oldest kept are the newest overall
		if len(evs) == 0 || string(evs[len(evs)-1].Data) != "00000049" {
			t.Fatalf("p1 kept %q", ids(evs))
		}
	})
	t.Run("products", func(t *testing.T) {
		clk := &clock{t: t0}
		m := NewMemory(MemoryLimits{Events: 10, MaxBytes: 1 << 20, Products: 2}, clk.Now)
		for _, p := range []string{"a", "b", "a", "c"} {
			mustAppend(t, m, p, docs(0, 1), clk.Now())
		}
		for p, want := range map[string]bool{"a": true, "b": false, "c": true} {
			if got, _ := m.Known(ctx, p); got != want {
				t.Errorf("Known(%s) = %v, want %v (b is the least recently fed)", p, got, want)
			}
		}
		if n, _ := m.Len(); n != 3 {
			t.Fatalf("%d events kept after b was forgotten, want a's two and c's one", n)
		}
	})
}

func TestMemorySnapshotKeepsIDsAndBuffers(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: t0}
	lim := MemoryLimits{Events: 2, MaxBytes: 1 << 20, Products: 10}
	m := NewMemory(lim, clk.Now)
	mustAppend(t, m, "p", docs(0, 3), clk.Now()) // keeps 1, 2; dropped 0
	evs, _ := m.Read(ctx, "p", ID{}, 10)
	raw, err := json.Marshal(m.Export())
	if err != nil {
		t.Fatal(err)
	}
	// A restart: the clock is earlier than the saved ids (a clock step), yet
	// new ids still follow them.
	clk.Add(-time.Hour)
	back := NewMemory(lim, clk.Now)
	var rec MemoryRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	if err := back.Import(rec); err != nil {
		t.Fatal(err)
	}
	got, found, _ := back.Since(ctx, "p", evs[0].ID)
	if !found || len(got) != 1 || string(got[0].Data) != `{"n":2}` {
		t.Fatalf("Since(first kept) after restore = %q, %v", ids(got), found)
	}
	mustAppend(t, back, "p", docs(3, 1), clk.Now())
	last, _ := back.Last(ctx, "p")
	if !evs[1].ID.Less(last) {
		t.Fatalf("id after restore %v is not after %v", last, evs[1].ID)
	}
	if ok, _ := back.Known(ctx, "p"); !ok {
		t.Fatal("product forgotten by the snapshot")
	}
	bad := rec
	bad.Products = []ProductRecord{{Product: "p", Events: []EventRecord{{ID: "2-0"}, {ID: "1-0"}}}}
	if err := NewMemory(lim, clk.Now).Import(bad); err == nil {
		t.Fatal("out-of-order snapshot accepted")
	}
}

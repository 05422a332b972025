package stream

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// Erase drops the events naming the user (by user_id or email) from every
// product's buffer; the rest keep their ids and order, and resuming from a
// dropped id (or any kept one) still works without a reset.
func TestBackendErase(t *testing.T) {
	ctx := context.Background()
	backends(t, MemoryLimits{Events: 100, MaxBytes: 1 << 20, Products: 10}, func(t *testing.T, b Backend, clk *clock) {
		mustAppend(t, b, "p", [][]byte{
			[]byte(`{"user_id":"u_kept","email":"kept@x.example","n":0}`),
			[]byte(`{"user_id":"u_gone","email":"gone@x.example","n":1}`),
			[]byte(`{"user_id":"u_kept","n":2}`),
			[]byte(`{"email":"gone@x.example","n":3}`),
			[]byte(`{"user_id":"u_kept","n":4}`),
		}, clk.Now())
		mustAppend(t, b, "q", [][]byte{
			[]byte(`{"user_id":"u_gone","n":10}`),
			[]byte(`{"user_id":"u_other","n":11}`),
			[]byte(`not json`),
		}, clk.Now())
		before, _ := b.Read(ctx, "p", ID{}, 100)
		if len(before) != 5 {
			t.Fatalf("Read before: %q", ids(before))
		}
		var memBefore int64
		if m, ok := b.(*Memory); ok {
			_, memBefore = m.Len()
		}

		n, err := b.Erase(ctx, "u_gone", []string{"gone@x.example"})
		if err != nil || n != 3 {
			t.Fatalf("Erase = %d %v, want 3", n, err)
		}
		for _, p := range []string{"p", "q"} {
			evs, err := b.Read(ctx, p, ID{}, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				if s := string(ev.Data); strings.Contains(s, "u_gone") || strings.Contains(s, "gone@") {
					t.Errorf("%s still buffers %s", p, s)
				}
			}
		}
		after, _ := b.Read(ctx, "p", ID{}, 100)
		if len(after) != 3 || after[0].ID != before[0].ID || after[1].ID != before[2].ID || after[2].ID != before[4].ID {
			t.Fatalf("kept events changed: %q", ids(after))
		}
		if last, _ := b.Last(ctx, "p"); last != before[4].ID {
			t.Fatalf("Last = %v, want %v", last, before[4].ID)
		}
		// Resuming from a kept id, and from an erased one: no reset.
		if got, found, err := b.Since(ctx, "p", before[0].ID); err != nil || !found || len(got) != 2 || got[0].ID != before[2].ID {
			t.Fatalf("Since(kept) = %q %v %v", ids(got), found, err)
		}
		if got, found, err := b.Since(ctx, "p", before[1].ID); err != nil || !found || len(got) != 2 || got[0].ID != before[2].ID || got[1].ID != before[4].ID {
			t.Fatalf("Since(erased) = %q %v %v", ids(got), found, err)
		}
		if got, found, err := b.Since(ctx, "p", before[3].ID); err != nil || !found || len(got) != 1 || got[0].ID != before[4].ID {
			t.Fatalf("Since(erased, last but one) = %q %v %v", ids(got), found, err)
		}
		// An id never issued is still a reset.
		if _, found, _ := b.Since(ctx, "p", ID{MS: before[0].ID.MS - 1}); found {
			t.Fatal("Since(unknown id) found it")
		}
		q, _ := b.Read(ctx, "q", ID{}, 100)
		if len(q) != 2 || string(q[0].Data) != `{"user_id":"u_other","n":11}` {
			t.Fatalf("q after erasure: %q", ids(q))
		}
		// New events follow the kept ones.
		mustAppend(t, b, "p", docs(5, 1), clk.Now())
		if got, found, _ := b.Since(ctx, "p", before[4].ID); !found || len(got) != 1 || string(got[0].Data) != `{"n":5}` {
			t.Fatalf("Since(newest kept) after an append = %q %v", ids(got), found)
		}
		if m, ok := b.(*Memory); ok {
			events, bytes := m.Len()
			var want int64
			for _, p := range []string{"p", "q"} {
				evs, _ := m.Read(ctx, p, ID{}, 100)
				for _, ev := range evs {
					want += eventSize(ev)
				}
			}
			if events != 6 || bytes != want || bytes >= memBefore+eventSize(Event{Data: docs(5, 1)[0]}) {
				t.Fatalf("Len = %d events, %d bytes; want 6, %d", events, bytes, want)
			}
		}
		// Erasing again finds nothing.
		if n, err := b.Erase(ctx, "u_gone", []string{"gone@x.example"}); err != nil || n != 0 {
			t.Fatalf("second Erase = %d %v", n, err)
		}
	})
}

// The memory backend forgets an erased id once older events were dropped
// past it: resuming from it is then a reset, as for any dropped id.
func TestMemoryEraseThenDrop(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(MemoryLimits{Events: 3, MaxBytes: 1 << 20, Products: 10}, (&clock{t: t0}).Now)
	mustAppend(t, m, "p", [][]byte{[]byte(`{"user_id":"u","n":0}`), []byte(`{"n":1}`), []byte(`{"n":2}`)}, t0)
	all, _ := m.Read(ctx, "p", ID{}, 10)
	if n, _ := m.Erase(ctx, "u", nil); n != 1 {
		t.Fatalf("Erase = %d", n)
	}
	if _, found, _ := m.Since(ctx, "p", all[0].ID); !found {
		t.Fatal("Since(erased) before any drop: reset")
	}
	mustAppend(t, m, "p", docs(3, 2), t0) // drops n:1
	if _, found, _ := m.Since(ctx, "p", all[0].ID); found {
		t.Fatal("Since(erased) after n:1 was dropped: found, want a reset")
	}
	if len(m.rings["p"].erased) != 0 {
		t.Fatalf("erased ids kept after the drop: %v", m.rings["p"].erased)
	}
}

// Erase works through buffers longer than one batch, and a run of erased
// events across a batch boundary still resumes.
func TestBackendEraseBatches(t *testing.T) {
	ctx := context.Background()
	backends(t, MemoryLimits{Events: 5000, MaxBytes: 1 << 24, Products: 10}, func(t *testing.T, b Backend, clk *clock) {
		var data [][]byte
		for i := range 3 * eraseBatch {
			u := "keep"
			if i%3 != 0 || i >= eraseBatch-5 && i < eraseBatch+5 {
				u = "gone"
			}
			data = append(data, fmt.Appendf(nil, `{"user_id":%q,"n":%d}`, u, i))
		}
		mustAppend(t, b, "p", data, clk.Now())
		all, _ := b.Read(ctx, "p", ID{}, 10*eraseBatch)
		want := 0
		for _, ev := range all {
			if strings.Contains(string(ev.Data), "gone") {
				want++
			}
		}
		if n, err := b.Erase(ctx, "gone", nil); err != nil || n != want {
			t.Fatalf("Erase = %d %v, want %d", n, err, want)
		}
		for i, ev := range all {
			if !strings.Contains(string(ev.Data), "gone") {
				continue
			}
			got, found, err := b.Since(ctx, "p", ev.ID)
			if err != nil || !found {
				t.Fatalf("Since(erased #%d) = %v %v", i, found, err)
			}
			for _, g := range got {
				if strings.Contains(string(g.Data), "gone") || !ev.ID.Less(g.ID) {
					t.Fatalf("Since(erased #%d) returned %s", i, g.Data)
				}
			}
		}
	})
}

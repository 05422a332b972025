package stream

import (
	"context"
	"testing"
	"time"

	"github.com/replayhook/replayhook/internal/redistest"
)

// backends runs f against every Backend: the memory ring and Redis Streams
// on a real redis-server.
func backends(t *testing.T, lim MemoryLimits, f func(t *testing.T, b Backend, clk *clock)) {
	t.Run("memory", func(t *testing.T) {
		clk := &clock{t: t0}
		f(t, NewMemory(lim, clk.Now), clk)
	})
	t.Run("redis", func(t *testing.T) {
		clk := &clock{t: time.Now()} // Redis ids come from its own clock
		rdb := redistest.Start(t, redistest.Options{}).Client()
		f(t, NewRedis(rdb, "test:", RedisLimits{Events: lim.Events, Age: lim.Age, Products: lim.Products}, 50*time.Millisecond), clk)
	})
}

// The replay contract both backends keep: Since(id) is everything after
// id when id is still known, else a reset (found=false).
func TestBackendSince(t *testing.T) {
	ctx := context.Background()
	backends(t, MemoryLimits{Events: 100, MaxBytes: 1 << 20, Products: 10}, func(t *testing.T, b Backend, clk *clock) {
		if ok, _ := b.Known(ctx, "p"); ok {
			t.Fatal("known before any delivery")
		}
		mustAppend(t, b, "p", docs(0, 3), clk.Now())
		mustAppend(t, b, "q", docs(100, 2), clk.Now())
		mustAppend(t, b, "p", docs(3, 2), clk.Now())
		all, err := b.Read(ctx, "p", ID{}, 100)
		if err != nil || len(all) != 5 {
			t.Fatalf("Read: %q %v", ids(all), err)
		}
		for i := 1; i < len(all); i++ {
			if !all[i-1].ID.Less(all[i].ID) {
				t.Fatalf("ids out of order: %v then %v", all[i-1].ID, all[i].ID)
			}
		}
		if last, _ := b.Last(ctx, "p"); last != all[4].ID {
			t.Fatalf("Last = %v, want %v", last, all[4].ID)
		}
		got, found, err := b.Since(ctx, "p", all[1].ID)
		if err != nil || !found || len(got) != 3 || string(got[0].Data) != `{"n":2}` {
			t.Fatalf("Since(second) = %q %v %v", ids(got), found, err)
		}
		if got, found, _ := b.Since(ctx, "p", all[4].ID); !found || len(got) != 0 {
			t.Fatalf("Since(newest) = %q %v", ids(got), found)
		}
		unknown := ID{MS: all[0].ID.MS - 1, Seq: 0}
		if got, found, _ := b.Since(ctx, "p", unknown); found || len(got) != 0 {
			t.Fatalf("Since(unknown id) = %q %v; want a reset", ids(got), found)
		}
		if _, found, _ := b.Since(ctx, "never", all[0].ID); found {
			t.Fatal("Since on an unknown product found the id")
		}
		for p, want := range map[string]bool{"p": true, "q": true, "never": false} {
			if ok, _ := b.Known(ctx, p); ok != want {
				t.Errorf("Known(%s) = %v", p, ok)
			}
		}
	})
}

// Read waits for an append and returns it.
func TestBackendReadWaits(t *testing.T) {
	ctx := context.Background()
	backends(t, MemoryLimits{Events: 100, MaxBytes: 1 << 20, Products: 10}, func(t *testing.T, b Backend, clk *clock) {
		got := make(chan []Event, 1)
		go func() {
			var evs []Event
			for len(evs) == 0 {
				evs, _ = b.Read(ctx, "p", ID{}, 10)
			}
			got <- evs
		}()
		mustAppend(t, b, "p", docs(0, 2), clk.Now())
		if evs := <-got; len(evs) == 0 || string(evs[0].Data) != `{"n":0}` {
			t.Fatalf("Read after append: %q", ids(evs))
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		last, _ := b.Last(ctx, "p")
		if evs, err := b.Read(cctx, "p", last, 10); err != nil || len(evs) != 0 {
			t.Fatalf("Read with a cancelled context: %q %v", ids(evs), err)
		}
	})
}

// The Redis stream of a product stays within the count bound (MAXLEN ~
// trims whole nodes, so "within" allows one node's slack).
func TestRedisBounds(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, redistest.Options{})
	rdb := srv.Client()
	b := NewRedis(rdb, "test:", RedisLimits{Events: 100, Age: time.Minute, Products: 2}, 0)
	for i := 0; i < 20; i++ {
		mustAppend(t, b, "p", docs(i*50, 50), time.Now())
	}
	if n := rdb.XLen(ctx, "test:stream:p").Val(); n < 100 || n > 300 {
		t.Fatalf("stream holds %d entries for a bound of 100", n)
	}
	if ttl := rdb.PTTL(ctx, "test:stream:p").Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("stream ttl %v, want within the age bound", ttl)
	}
	for _, p := range []string{"a", "b", "c"} {
		mustAppend(t, b, p, docs(0, 1), time.Now())
	}
	if n := rdb.ZCard(ctx, "test:stream-products").Val(); n != 2 {
		t.Fatalf("%d products remembered, bound 2", n)
	}
}

package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/replayhook/replayhook/internal/redistest"
	"github.com/replayhook/replayhook/normalize"
)

func payloads(product string, from, n int) []normalize.ActionsPayload {
	out := make([]normalize.ActionsPayload, n)
	for i := range out {
		out[i] = normalize.ActionsPayload{ProductID: product, SessionID: normalize.OptStr(fmt.Sprint("s", from+i)), Actions: []normalize.SlimAction{}}
	}
	return out
}

// next reads one event or fails when the subscriber ended first.
func next(t *testing.T, sub *Subscriber) Event {
	t.Helper()
	select {
	case ev := <-sub.Events():
		return ev
	case <-sub.Done():
		t.Fatalf("subscriber ended: %s", sub.Reason())
	}
	return Event{}
}

func subscribe(t *testing.T, s *Stream, product, owner string) *Subscriber {
	t.Helper()
	sub, err := s.Subscribe(context.Background(), product, owner)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	return sub
}

func newMemoryStream(o Options) *Stream {
	return New(NewMemory(MemoryLimits{Events: 1000, MaxBytes: 1 << 24, Products: 10}, time.Now), o)
}

func TestEveryStoredPayloadInOrderPerProduct(t *testing.T) {
	ctx := context.Background()
	s := newMemoryStream(Options{MaxSubscribers: 10, MaxPerOwner: 10, SendQueue: 100})
	defer s.Close()
	a1, a2 := subscribe(t, s, "prod_a", "x"), subscribe(t, s, "prod_a", "y")
	b := subscribe(t, s, "prod_b", "x")
	// One delivery may carry several products: each goes to its own.
	mixed := append(append(payloads("prod_a", 0, 2), payloads("prod_b", 0, 1)...), payloads("prod_a", 2, 1)...)
	if err := s.Publish(ctx, mixed, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx, payloads("prod_a", 3, 2), time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []*Subscriber{a1, a2} {
		var prev ID
		for i := 0; i < 5; i++ {
			ev := next(t, sub)
			want := fmt.Sprintf(`"session_id":"s%d"`, i)
			if !contains(ev.Data, want) || !contains(ev.Data, `"type":"actions"`) || !prev.Less(ev.ID) {
				t.Fatalf("event %d: %s (id %v after %v)", i, ev.Data, ev.ID, prev)
			}
			prev = ev.ID
		}
	}
	if ev := next(t, b); !contains(ev.Data, `"product_id":"prod_b"`) {
		t.Fatalf("prod_b got %s", ev.Data)
	}
	select {
	case ev := <-b.Events():
		t.Fatalf("prod_b got another product's event: %s", ev.Data)
	default:
	}
}

func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }

// A subscriber that does not read is ended as slow once its queue is
// full; publishing never waits for it and the others get everything.
func TestSlowSubscriberIsDisconnectedNotWaitedFor(t *testing.T) {
	ctx := context.Background()
	s := newMemoryStream(Options{MaxSubscribers: 10, MaxPerOwner: 10, SendQueue: 4})
	defer s.Close()
	slow := subscribe(t, s, "p", "x")
	fast := subscribe(t, s, "p", "x")
	for i := 0; i < 50; i++ {
		if err := s.Publish(ctx, payloads("p", i, 1), time.Now()); err != nil {
			t.Fatal(err)
		}
		if ev := next(t, fast); !contains(ev.Data, fmt.Sprintf(`"s%d"`, i)) {
			t.Fatalf("the reading subscriber got %s for s%d", ev.Data, i)
		}
	}
	<-slow.Done()
	if slow.Reason() != ReasonSlow {
		t.Fatalf("slow subscriber ended with %q", slow.Reason())
	}
	if n := s.Subscribers()["p"]; n != 1 {
		t.Fatalf("%d subscribers left, want the reading one", n)
	}
}

func TestSubscriberBounds(t *testing.T) {
	s := newMemoryStream(Options{MaxSubscribers: 3, MaxPerOwner: 2, SendQueue: 1})
	defer s.Close()
	ctx := context.Background()
	x1 := subscribe(t, s, "p", "x")
	subscribe(t, s, "q", "x")
	if _, err := s.Subscribe(ctx, "p", "x"); !errors.Is(err, ErrTooMany) {
		t.Fatalf("third subscriber of one owner: %v", err)
	}
	subscribe(t, s, "p", "y")
	if _, err := s.Subscribe(ctx, "p", "z"); !errors.Is(err, ErrTooMany) {
		t.Fatalf("subscriber beyond the total: %v", err)
	}
	x1.Close()
	if x1.Reason() != ReasonClosed {
		t.Fatalf("closed subscriber's reason: %q", x1.Reason())
	}
	subscribe(t, s, "p", "z") // a place was freed
}

func TestCloseEndsEverySubscriber(t *testing.T) {
	s := newMemoryStream(Options{MaxSubscribers: 10, MaxPerOwner: 10, SendQueue: 1})
	subs := []*Subscriber{subscribe(t, s, "p", "x"), subscribe(t, s, "q", "y")}
	s.Close()
	for _, sub := range subs {
		if sub.Reason() != ReasonShutdown {
			t.Fatalf("reason %q", sub.Reason())
		}
	}
	if _, err := s.Subscribe(context.Background(), "p", "x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("subscribe after close: %v", err)
	}
	if len(s.Subscribers()) != 0 {
		t.Fatalf("subscribers after close: %v", s.Subscribers())
	}
}

// Two replicas on one Redis: a payload published on A reaches a
// subscriber of B, and B replays from an id A's subscriber saw.
func TestRedisReplicasShareTheStream(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, redistest.Options{})
	lim := RedisLimits{Events: 1000, Age: time.Minute, Products: 10}
	o := Options{MaxSubscribers: 10, MaxPerOwner: 10, SendQueue: 100}
	a := New(NewRedis(srv.Client(), "rh:", lim, 50*time.Millisecond), o)
	b := New(NewRedis(srv.Client(), "rh:", lim, 50*time.Millisecond), o)
	defer a.Close()
	defer b.Close()
	onA := subscribe(t, a, "p", "x")
	onB := subscribe(t, b, "p", "x")
	if err := a.Publish(ctx, payloads("p", 0, 3), time.Now()); err != nil {
		t.Fatal(err)
	}
	var seenOnA []Event
	for i := 0; i < 3; i++ {
		seenOnA = append(seenOnA, next(t, onA))
		if evB := next(t, onB); evB.ID != seenOnA[i].ID || string(evB.Data) != string(seenOnA[i].Data) {
			t.Fatalf("B got %v %s, A got %v %s", evB.ID, evB.Data, seenOnA[i].ID, seenOnA[i].Data)
		}
	}
	if err := a.Publish(ctx, payloads("p", 3, 2), time.Now()); err != nil {
		t.Fatal(err)
	}
	// A client that saw only the first event on A resumes on B.
	got, found, err := b.Since(ctx, "p", seenOnA[0].ID)
	if err != nil || !found || len(got) != 4 || !contains(got[0].Data, `"s1"`) || !contains(got[3].Data, `"s4"`) {
		t.Fatalf("resume on B: %q %v %v", ids(got), found, err)
	}
	if ok, _ := b.Known(ctx, "p"); !ok {
		t.Fatal("B does not know the product A fed")
	}
}

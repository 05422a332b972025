package forward_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/forward"
	"github.com/replayhook/replayhook/forward/forwardtest"
	"github.com/replayhook/replayhook/internal/redistest"
	"github.com/replayhook/replayhook/normalize"
)

// replica is one replayhook process's forwarder on a shared Redis.
type replica struct {
	rdb  *redis.Client
	f    *forward.Forwarder
	stop func()
}

func startReplica(t *testing.T, srv *redistest.Server, name string, lease time.Duration, targets ...config.ForwardTarget) *replica {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	store, err := forward.NewRedis(context.Background(), rdb, "test:", name, lease, forward.Targets(targets))
	if err != nil {
		t.Fatal(err)
	}
	w := &waits{}
	r := &replica{rdb: rdb, f: forward.New(targets, store, forward.Options{Sleep: w.sleep, Jitter: func(d time.Duration) time.Duration { return d }})}
	r.stop = r.f.Start()
	t.Cleanup(func() { r.stop(); _ = rdb.Close() })
	return r
}

// kill is a replica dying: its Redis connection goes (no ack, no lease
// release, no renewal) and its workers stop without being waited for.
func (r *replica) kill() {
	_ = r.rdb.Close()
	go r.stop()
}

// checkInOrder checks what a receiver de-duplicating on the delivery id
// sees: every payload, in order per session. With repeats false, no
// delivery may be accepted twice; a replica dying between the target's 2xx
// and its XACK may repeat one (at least once), which the delivery id lets
// the receiver drop.
func checkInOrder(t *testing.T, got []forwardtest.Request, sessions, per int, repeats bool) {
	t.Helper()
	seen := map[string]bool{}
	next := map[string]int{}
	for _, q := range got {
		if repeats && seen[q.Delivery] {
			continue
		}
		if !q.Verified || seen[q.Delivery] {
			t.Fatalf("delivery %s: verified=%v, accepted before=%v", q.Delivery, q.Verified, seen[q.Delivery])
		}
		seen[q.Delivery] = true
		s := normalize.Str(q.Payload.SessionID)
		if n, _ := strconv.Atoi(q.Payload.Actions[0].Title); n != next[s] {
			t.Fatalf("session %s: payload %d arrived, want %d", s, n, next[s])
		}
		next[s]++
	}
	if len(seen) != sessions*per {
		t.Fatalf("%d distinct deliveries, want %d", len(seen), sessions*per)
	}
}

// TestRedisTwoReplicasShareTheWork: two replicas publish and deliver
// through one redis-server; every payload arrives once, in order per
// session.
func TestRedisTwoReplicasShareTheWork(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rcv := forwardtest.New(t, secret, nil)
	tgt := targetTo("chat", rcv.URL)
	tgt.Concurrency = 4
	a := startReplica(t, srv, "a", time.Second, tgt)
	b := startReplica(t, srv, "b", time.Second, tgt)
	const sessions, per = 8, 6
	for i := range per {
		for s := range sessions {
			r := a
			if s%2 == 1 {
				r = b
			}
			publish(t, r.f, payload("prod_demo", "s"+strconv.Itoa(s), i))
		}
	}
	checkInOrder(t, rcv.WaitAccepted(t, sessions*per, 20*time.Second), sessions, per, false)
	waitStatus(t, a.f, func(s forward.TargetStatus) bool { return s.Queued == 0 && s.InFlight == 0 })
}

// TestRedisReplicaDiesMidDelivery: the replica holding the partitions dies
// while a request is in flight; the other takes the partitions when their
// leases expire, claims the pending entry, and delivers everything in
// order. Nothing is lost.
func TestRedisReplicaDiesMidDelivery(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	var once sync.Once
	inFlight := make(chan string)
	rcv := forwardtest.New(t, secret, func(q forwardtest.Request) forwardtest.Answer {
		hang := false
		once.Do(func() { hang = true })
		if hang {
			inFlight <- q.Delivery
			return forwardtest.Answer{Hang: true}
		}
		return forwardtest.Answer{Status: 200}
	})
	tgt := targetTo("chat", rcv.URL)
	tgt.Concurrency = 2
	tgt.Timeout = 3 * time.Second // the first request hangs until its replica is dead
	a := startReplica(t, srv, "a", time.Second, tgt)
	// a holds every partition before b starts.
	waitLeases(t, srv, "chat", 2)
	b := startReplica(t, srv, "b", time.Second, tgt)
	const sessions, per = 4, 5
	for i := range per {
		for s := range sessions {
			publish(t, b.f, payload("prod_demo", "s"+strconv.Itoa(s), i))
		}
	}
	first := <-inFlight
	a.kill()
	got := waitDistinct(t, rcv, sessions*per, 30*time.Second)
	checkInOrder(t, got, sessions, per, true)
	for _, q := range got {
		if q.Delivery == first && q.Seen < 2 {
			t.Fatalf("the in-flight delivery %s was not sent again", first)
		}
	}
}

// waitDistinct waits until n distinct deliveries were accepted.
func waitDistinct(t *testing.T, rcv *forwardtest.Receiver, n int, timeout time.Duration) []forwardtest.Request {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := rcv.Accepted()
		ids := map[string]bool{}
		for _, q := range got {
			ids[q.Delivery] = true
		}
		if len(ids) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d distinct deliveries accepted, want %d", len(ids), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitLeases waits until n partition leases of target are held.
func waitLeases(t *testing.T, srv *redistest.Server, target string, n int) {
	t.Helper()
	c := srv.Client()
	deadline := time.Now().Add(10 * time.Second)
	for {
		keys, _ := c.Keys(context.Background(), "test:fwd-lease:{"+target+":*").Result()
		if len(keys) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d leases held, want %d", len(keys), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRedisDeadLettersAndBound: dead letters on Redis page, redeliver and
// drop like the memory ones; a full partition refuses (ingest answers 503).
func TestRedisDeadLettersAndBound(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rcv := forwardtest.New(t, secret, func(q forwardtest.Request) forwardtest.Answer {
		if q.Seen == 1 {
			return forwardtest.Answer{Status: 410}
		}
		return forwardtest.Answer{Status: 200}
	})
	tgt := targetTo("chat", rcv.URL)
	tgt.Concurrency, tgt.MaxDead = 1, 2
	r := startReplica(t, srv, "a", time.Second, tgt)
	ctx := context.Background()
	for i := range 3 {
		publish(t, r.f, payload("p", "s", i))
	}
	rcv.WaitRequests(t, 3, 10*time.Second)
	waitStatus(t, r.f, func(s forward.TargetStatus) bool { return s.Queued == 0 && s.DeadLetters == 2 })
	page, next, err := r.f.Dead(ctx, "chat", "", 1)
	if err != nil || len(page) != 1 || next == "" || page[0].LastStatus != 410 || page[0].Attempts != 1 {
		t.Fatalf("page 1: %+v %q %v", page, next, err)
	}
	page2, next2, _ := r.f.Dead(ctx, "chat", next, 1)
	if len(page2) != 1 || next2 != "" || page2[0].ID == page[0].ID {
		t.Fatalf("page 2: %+v %q", page2, next2)
	}
	if n, err := r.f.Redeliver(ctx, "chat", nil); n != 2 || err != nil {
		t.Fatalf("redeliver: %d %v", n, err)
	}
	got := rcv.WaitAccepted(t, 2, 10*time.Second)
	if got[0].Delivery != page[0].ID || got[1].Delivery != page2[0].ID {
		t.Fatal("redelivered ids differ from the dead letters'")
	}
	if n, _ := r.f.DropDead(ctx, "chat"); n != 0 {
		t.Fatalf("dropped %d after redelivering all", n)
	}

	// max_queued 2 with one partition: the third waiting payload is refused.
	full := targetTo("full", "http://127.0.0.1:1/")
	full.Concurrency, full.MaxQueued = 1, 2
	rdb := srv.Client()
	store, err := forward.NewRedis(ctx, rdb, "test:", "x", time.Second, forward.Targets([]config.ForwardTarget{full}))
	if err != nil {
		t.Fatal(err)
	}
	f := forward.New([]config.ForwardTarget{full}, store, forward.Options{}) // not started: nothing drains
	publish(t, f, payload("p", "s", 0), payload("p", "s", 1))
	if err := f.Publish(ctx, []normalize.ActionsPayload{payload("p", "s", 2)}, t0); !errors.Is(err, forward.ErrQueueFull) {
		t.Fatalf("over the bound: %v", err)
	}
	// Redis down: Publish fails, so ingest answers 503 and the vendor retries.
	srv.Kill()
	if err := f.Publish(ctx, []normalize.ActionsPayload{payload("p", "other", 0)}, t0); err == nil || errors.Is(err, forward.ErrQueueFull) {
		t.Fatalf("with Redis down: %v", err)
	}
}

func waitStatus(t *testing.T, f *forward.Forwarder, ok func(forward.TargetStatus) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := f.Status(context.Background())
		if err == nil && ok(st[0]) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %+v %v", st, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

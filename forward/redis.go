package forward

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultLeaseTTL is how long a replica holds a partition without renewing
// it: after a replica dies, another takes its partitions (and claims the
// entries it left pending) within this time.
const DefaultLeaseTTL = 15 * time.Second

// Redis is the outbox of the Redis backend, shared by every replica. Each
// partition of a target is a Redis Stream with one consumer group named
// after the target. A replica delivers a partition while it holds the
// partition's lease (SET NX PX, renewed every third of its TTL), so a
// session's payloads are delivered by one replica at a time, in order.
// The holder first claims what a previous holder left pending (XAUTOCLAIM),
// then reads new entries (XREADGROUP); a delivered entry is acknowledged
// and deleted (XACK, XDEL), so XLEN is the queue depth. Dead letters are a
// stream per target trimmed to MaxDead (XADD MAXLEN).
//
// Attempt counts live in the worker: an entry taken over from a dead
// replica starts counting again (max_age still bounds it).
type Redis struct {
	rdb      redis.UniversalClient
	prefix   string
	consumer string
	ttl      time.Duration
	targets  map[string]Limits
}

var _ Store = (*Redis)(nil)

// NewRedis builds the Redis outbox for targets on rdb, under key prefix,
// as consumer (unique per replica: host, pid and a random part), and
// creates the consumer groups. leaseTTL 0 means DefaultLeaseTTL.
func NewRedis(ctx context.Context, rdb redis.UniversalClient, prefix, consumer string, leaseTTL time.Duration, targets map[string]Limits) (*Redis, error) {
	if leaseTTL <= 0 {
		leaseTTL = DefaultLeaseTTL
	}
	r := &Redis{rdb: rdb, prefix: prefix, consumer: consumer, ttl: leaseTTL, targets: targets}
	for name, l := range targets {
		for p := range max(l.Partitions, 1) {
			err := rdb.XGroupCreateMkStream(ctx, r.stream(name, p), name, "0").Err()
			if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
				return nil, fmt.Errorf("forward: consumer group for %s: %w", name, err)
			}
		}
	}
	return r, nil
}

// The keys of one partition share a hash slot (Cluster).
func (r *Redis) stream(target string, p int) string {
	return r.prefix + "fwd:{" + target + ":" + strconv.Itoa(p) + "}"
}
func (r *Redis) lease(target string, p int) string {
	return r.prefix + "fwd-lease:{" + target + ":" + strconv.Itoa(p) + "}"
}
func (r *Redis) deadKey(target string) string { return r.prefix + "fwd-dead:{" + target + "}" }

// addScript appends an entry unless the partition holds its share of
// max_queued already.
var addScript = redis.NewScript(`
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then
  return redis.error_reply('FULL forward queue')
end
return redis.call('XADD', KEYS[1], '*', 'id', ARGV[2], 'product', ARGV[3], 'session', ARGV[4], 'enq', ARGV[5], 'body', ARGV[6])
`)

// Add appends each entry to its partition's stream in one round trip. On
// an error some entries may be queued already; the vendor's retry then
// queues them again under new delivery ids (at least once).
func (r *Redis) Add(ctx context.Context, entries []Entry) error {
	pipe := r.rdb.Pipeline()
	for _, e := range entries {
		l, ok := r.targets[e.Target]
		if !ok {
			return ErrUnknownTarget
		}
		p := partitionOf(e.ProductID, e.SessionID, l.Partitions)
		share := (l.MaxQueued + l.Partitions - 1) / max(l.Partitions, 1)
		addScript.Eval(ctx, pipe, []string{r.stream(e.Target, p)}, share, e.ID, e.ProductID, e.SessionID, e.EnqueuedAt.UnixNano(), []byte(e.Body))
	}
	cmds, err := pipe.Exec(ctx)
	if err != nil {
		for _, c := range cmds {
			if c.Err() != nil && strings.Contains(c.Err().Error(), "FULL") {
				return ErrQueueFull
			}
		}
		return fmt.Errorf("forward: queue in redis: %w", err)
	}
	return nil
}

var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// Hold waits until this replica holds the partition's lease. The returned
// context ends when the lease cannot be renewed; release gives it up.
func (r *Redis) Hold(ctx context.Context, target string, p int) (context.Context, func(), error) {
	if _, ok := r.targets[target]; !ok {
		return nil, nil, ErrUnknownTarget
	}
	key := r.lease(target, p)
	for {
		ok, err := r.rdb.SetNX(ctx, key, r.consumer, r.ttl).Result()
		if err != nil && ctx.Err() == nil {
			return nil, nil, fmt.Errorf("forward: lease: %w", err)
		}
		if ok {
			break
		}
		if err := sleep(ctx, r.ttl/3); err != nil {
			return nil, nil, err
		}
	}
	hctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cancel()
		for sleep(hctx, r.ttl/3) == nil {
			n, err := renewScript.Run(hctx, r.rdb, []string{key}, r.consumer, r.ttl.Milliseconds()).Int()
			if err != nil || n == 0 {
				return // lost (or cannot tell): stop delivering this partition
			}
		}
	}()
	release := func() {
		cancel()
		wg.Wait()
		rctx, rcancel := context.WithTimeout(context.Background(), time.Second)
		defer rcancel()
		_ = releaseScript.Run(rctx, r.rdb, []string{key}, r.consumer).Err()
	}
	return hctx, release, nil
}

// Next returns the oldest entry of the partition that is pending (left by
// a previous holder, or this one) or, if none, the next new one.
func (r *Redis) Next(ctx context.Context, target string, p int) (Entry, error) {
	stream := r.stream(target, p)
	for {
		msgs, _, err := r.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: stream, Group: target, Consumer: r.consumer, MinIdle: 0, Start: "0-0", Count: 1,
		}).Result()
		if err != nil {
			return Entry{}, err
		}
		if len(msgs) == 0 {
			res, err := r.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
				Group: target, Consumer: r.consumer, Streams: []string{stream, ">"}, Count: 1, Block: 2 * time.Second,
			}).Result()
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil {
				return Entry{}, err
			}
			for _, s := range res {
				msgs = append(msgs, s.Messages...)
			}
		}
		if len(msgs) == 0 {
			continue
		}
		m := msgs[0]
		if m.Values == nil { // deleted while pending: drop its pending record
			_ = r.rdb.XAck(ctx, stream, target, m.ID).Err()
			continue
		}
		return decodeEntry(target, p, m), nil
	}
}

func decodeEntry(target string, p int, m redis.XMessage) Entry {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	enq, _ := strconv.ParseInt(str("enq"), 10, 64)
	return Entry{
		ID: str("id"), Target: target, Partition: p, ProductID: str("product"), SessionID: str("session"),
		Body: []byte(str("body")), EnqueuedAt: time.Unix(0, enq), ref: m.ID,
	}
}

// Attempted keeps nothing: attempt counts live in the worker.
func (r *Redis) Attempted(context.Context, Entry) error { return nil }

// Done acknowledges and deletes the entry.
func (r *Redis) Done(ctx context.Context, e Entry) error {
	stream := r.stream(e.Target, e.Partition)
	pipe := r.rdb.Pipeline()
	pipe.XAck(ctx, stream, e.Target, e.ref)
	pipe.XDel(ctx, stream, e.ref)
	_, err := pipe.Exec(ctx)
	return err
}

// Bury adds the dead letter, then acknowledges and deletes the entry (a
// crash in between leaves it queued: at least once).
func (r *Redis) Bury(ctx context.Context, e Entry, d DeadLetter) error {
	l, ok := r.targets[e.Target]
	if !ok {
		return ErrUnknownTarget
	}
	if err := r.addDead(ctx, r.rdb, e.Target, l.MaxDead, d); err != nil {
		return err
	}
	return r.Done(ctx, e)
}

func (r *Redis) addDead(ctx context.Context, c redis.Cmdable, target string, maxDead int, d DeadLetter) error {
	return c.XAdd(ctx, &redis.XAddArgs{
		Stream: r.deadKey(target), MaxLen: int64(maxDead),
		Values: []any{
			"id", d.ID, "product", d.ProductID, "session", d.SessionID, "enq", d.EnqueuedAt.UnixNano(), "dead", d.DeadAt.UnixNano(),
			"attempts", d.Attempts, "status", d.LastStatus, "error", d.LastError, "body", []byte(d.Payload),
		},
	}).Err()
}

func decodeDead(m redis.XMessage) DeadLetter {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	num := func(k string) int64 { n, _ := strconv.ParseInt(str(k), 10, 64); return n }
	return DeadLetter{
		ID: str("id"), ProductID: str("product"), SessionID: str("session"),
		EnqueuedAt: time.Unix(0, num("enq")).UTC(), DeadAt: time.Unix(0, num("dead")).UTC(),
		Attempts: int(num("attempts")), LastStatus: int(num("status")), LastError: str("error"), Payload: []byte(str("body")),
	}
}

// Stats reads every partition in one round trip.
func (r *Redis) Stats(ctx context.Context, target string) (QueueStats, error) {
	l, ok := r.targets[target]
	if !ok {
		return QueueStats{}, ErrUnknownTarget
	}
	pipe := r.rdb.Pipeline()
	lens := make([]*redis.IntCmd, l.Partitions)
	pend := make([]*redis.XPendingCmd, l.Partitions)
	heads := make([]*redis.XMessageSliceCmd, l.Partitions)
	for p := range l.Partitions {
		s := r.stream(target, p)
		lens[p] = pipe.XLen(ctx, s)
		pend[p] = pipe.XPending(ctx, s, target)
		heads[p] = pipe.XRangeN(ctx, s, "-", "+", 1)
	}
	dead := pipe.XLen(ctx, r.deadKey(target))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return QueueStats{}, err
	}
	var s QueueStats
	for p := range l.Partitions {
		s.Queued += lens[p].Val()
		s.InFlight += pend[p].Val().Count
		if h := heads[p].Val(); len(h) > 0 {
			if at := decodeEntry(target, p, h[0]).EnqueuedAt; s.Oldest.IsZero() || at.Before(s.Oldest) {
				s.Oldest = at
			}
		}
	}
	s.Dead = dead.Val()
	return s, nil
}

var streamID = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// Dead pages the dead-letter stream; the cursor is the last entry's id.
func (r *Redis) Dead(ctx context.Context, target, cursor string, limit int) ([]DeadLetter, string, error) {
	if _, ok := r.targets[target]; !ok {
		return nil, "", ErrUnknownTarget
	}
	start := "-"
	if cursor != "" {
		if !streamID.MatchString(cursor) {
			return nil, "", ErrBadCursor
		}
		start = "(" + cursor
	}
	msgs, err := r.rdb.XRangeN(ctx, r.deadKey(target), start, "+", int64(limit)+1).Result()
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(msgs) > limit {
		msgs = msgs[:limit]
		next = msgs[limit-1].ID
	}
	out := make([]DeadLetter, len(msgs))
	for i, m := range msgs {
		out[i] = decodeDead(m)
	}
	return out, next, nil
}

// Redeliver queues the chosen dead letters again, then deletes them from
// the dead-letter stream.
func (r *Redis) Redeliver(ctx context.Context, target string, ids []string, now time.Time) (int, error) {
	l, ok := r.targets[target]
	if !ok {
		return 0, ErrUnknownTarget
	}
	msgs, err := r.rdb.XRange(ctx, r.deadKey(target), "-", "+").Result()
	if err != nil {
		return 0, err
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var entries []Entry
	var refs []string
	for _, m := range msgs {
		d := decodeDead(m)
		if len(want) > 0 && !want[d.ID] {
			continue
		}
		entries = append(entries, Entry{ID: d.ID, Target: target, ProductID: d.ProductID, SessionID: d.SessionID, Body: d.Payload, EnqueuedAt: now})
		refs = append(refs, m.ID)
	}
	if len(entries) == 0 {
		return 0, nil
	}
	pipe := r.rdb.Pipeline()
	for _, e := range entries {
		p := partitionOf(e.ProductID, e.SessionID, l.Partitions)
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: r.stream(target, p), Values: []any{
			"id", e.ID, "product", e.ProductID, "session", e.SessionID, "enq", e.EnqueuedAt.UnixNano(), "body", []byte(e.Body),
		}})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, err
	}
	if err := r.rdb.XDel(ctx, r.deadKey(target), refs...).Err(); err != nil {
		return len(entries), err
	}
	return len(entries), nil
}

// DropDead deletes the dead-letter stream.
func (r *Redis) DropDead(ctx context.Context, target string) (int, error) {
	if _, ok := r.targets[target]; !ok {
		return 0, ErrUnknownTarget
	}
	pipe := r.rdb.TxPipeline()
	n := pipe.XLen(ctx, r.deadKey(target))
	pipe.Del(ctx, r.deadKey(target))
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, err
	}
	return int(n.Val()), nil
}

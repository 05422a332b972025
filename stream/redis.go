package stream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisLimits bound a Redis backend. Zero values are taken as 1 (Age: no
// age bound).
type RedisLimits struct {
	// Events bounds each product's stream (XADD MAXLEN ~).
	Events int
	// Age bounds it by age (XTRIM MINID ~), and an idle product's stream
	// expires after it.
	Age time.Duration
	// Products bounds the products remembered as fed (a sorted set by
	// last append, trimmed to this many).
	Products int
}

// DefaultBlock is how long one XREAD waits for new entries before the
// follower checks whether it should stop.
const DefaultBlock = 2 * time.Second

// Redis is the backend shared by every replica: one Redis Stream per
// product, whose entry ids are the events' ids, so an event ingested on
// one replica reaches subscribers on every replica and a client may resume
// on any of them. Entries hold the payload JSON ("d") and the append time
// in Unix nanoseconds ("t").
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
	limits RedisLimits
	block  time.Duration
}

// Compile-time guard.
var _ Backend = (*Redis)(nil)

// NewRedis returns the backend on rdb, with keys under prefix (the store's
// key prefix); block is how long one XREAD waits (<= 0: DefaultBlock).
func NewRedis(rdb redis.UniversalClient, prefix string, l RedisLimits, block time.Duration) *Redis {
	l.Events = max(l.Events, 1)
	l.Products = max(l.Products, 1)
	if block <= 0 {
		block = DefaultBlock
	}
	return &Redis{rdb: rdb, prefix: prefix, limits: l, block: block}
}

func (r *Redis) key(product string) string { return r.prefix + "stream:" + product }
func (r *Redis) productsKey() string       { return r.prefix + "stream-products" }

// erasedKey is the hash of the ids Erase deleted from product's stream,
// each to the id of the entry that followed it then ("" when none), so
// that resuming from one of them is not a reset.
func (r *Redis) erasedKey(product string) string { return r.prefix + "stream-erased:" + product }

// Append implements Backend: one pipeline of XADD per event, the age trim,
// the key's expiry and the product's place among the fed products.
func (r *Redis) Append(ctx context.Context, product string, data [][]byte, at time.Time) error {
	key := r.key(product)
	t := strconv.FormatInt(at.UnixNano(), 10)
	p := r.rdb.Pipeline()
	for _, d := range data {
		p.XAdd(ctx, &redis.XAddArgs{Stream: key, MaxLen: int64(r.limits.Events), Approx: true, Values: []any{"d", d, "t", t}})
	}
	if r.limits.Age > 0 {
		minID := strconv.FormatInt(at.Add(-r.limits.Age).UnixMilli(), 10)
		p.XTrimMinIDApprox(ctx, key, minID, 0)
		p.PExpire(ctx, key, r.limits.Age)
	}
	p.ZAdd(ctx, r.productsKey(), redis.Z{Score: float64(at.UnixMilli()), Member: product})
	p.ZRemRangeByRank(ctx, r.productsKey(), 0, int64(-r.limits.Products-1))
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("stream: redis append: %w", err)
	}
	return nil
}

// Since implements Backend: the entry id itself must still be in the
// stream (XRANGE id id), then everything after it. An id Erase deleted
// counts as known while an entry older than it, or the entry that followed
// it when it was erased, is still in the stream: trimming goes oldest
// first, so nothing after the id was trimmed.
func (r *Redis) Since(ctx context.Context, product string, id ID) ([]Event, bool, error) {
	key, s := r.key(product), id.String()
	p := r.rdb.Pipeline()
	self := p.XRangeN(ctx, key, s, s, 1)
	rest := p.XRangeN(ctx, key, "("+s, "+", int64(r.limits.Events))
	erased := p.HGet(ctx, r.erasedKey(product), s)
	older := p.XRevRangeN(ctx, key, s, "-", 1)
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, false, fmt.Errorf("stream: redis since: %w", err)
	}
	for _, err := range []error{self.Err(), rest.Err(), older.Err()} {
		if err != nil {
			return nil, false, fmt.Errorf("stream: redis since: %w", err)
		}
	}
	if err := erased.Err(); err != nil && !errors.Is(err, redis.Nil) {
		return nil, false, fmt.Errorf("stream: redis since: %w", err)
	}
	found := len(self.Val()) > 0
	if !found && erased.Err() == nil {
		found = len(older.Val()) > 0
		if next := erased.Val(); !found && next != "" {
			msgs, err := r.rdb.XRangeN(ctx, key, next, next, 1).Result()
			if err != nil {
				return nil, false, fmt.Errorf("stream: redis since: %w", err)
			}
			found = len(msgs) > 0
		}
	}
	if !found {
		return nil, false, nil
	}
	evs, err := decode(rest.Val())
	return evs, err == nil, err
}

// Erase implements Backend: for each product of the products set, XRANGE
// its stream in batches of eraseBatch and XDEL the entries naming the user
// (recording their ids first, in the same transaction, with the id of the
// entry that followed them). The recorded ids no longer resumable are
// pruned, and the record expires with the age bound.
func (r *Redis) Erase(ctx context.Context, userID string, emails []string) (int, error) {
	match := matcher(userID, emails)
	products, err := r.rdb.ZRange(ctx, r.productsKey(), 0, -1).Result()
	if err != nil {
		return 0, fmt.Errorf("stream: redis erase: %w", err)
	}
	total := 0
	for _, product := range products {
		n, err := r.eraseProduct(ctx, product, match)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// eraseProduct is Erase for one product's stream.
func (r *Redis) eraseProduct(ctx context.Context, product string, match func([]byte) bool) (int, error) {
	total := 0
	key, ekey := r.key(product), r.erasedKey(product)
	start := "-"
	var pending []string // erased ids waiting for the next kept entry
	flush := func(next string, del []string) error {
		if len(pending) == 0 {
			return nil
		}
		fields := make([]any, 0, 2*len(pending))
		for _, id := range pending {
			fields = append(fields, id, next)
		}
		_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, ekey, fields...)
			if r.limits.Age > 0 {
				p.PExpire(ctx, ekey, r.limits.Age)
			}
			if len(del) > 0 {
				p.XDel(ctx, key, del...)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("stream: redis erase: %w", err)
		}
		pending = pending[:0]
		return nil
	}
	for {
		msgs, err := r.rdb.XRangeN(ctx, key, start, "+", eraseBatch).Result()
		if err != nil {
			return total, fmt.Errorf("stream: redis erase: %w", err)
		}
		var del []string
		for _, m := range msgs {
			d, _ := m.Values["d"].(string)
			if match([]byte(d)) {
				pending = append(pending, m.ID)
				del = append(del, m.ID)
				continue
			}
			if len(pending) > 0 && len(del) == 0 {
				// Erased ids of the previous batch (already deleted):
				// record their follower.
				if err := flush(m.ID, nil); err != nil {
					return total, err
				}
			}
			if len(del) > 0 {
				if err := flush(m.ID, del); err != nil {
					return total, err
				}
				total += len(del)
				del = nil
			}
		}
		if len(del) > 0 {
			// Deleted now, recorded without a follower (updated when the
			// next batch has one).
			carry := append([]string(nil), pending...)
			if err := flush("", del); err != nil {
				return total, err
			}
			total += len(del)
			pending = carry
		}
		if len(msgs) < eraseBatch {
			break
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
	if err := r.pruneErased(ctx, key, ekey); err != nil {
		return total, err
	}
	return total, nil
}

// pruneErased drops the recorded ids no longer resumable: older than the
// stream's oldest entry with their follower gone too (or the stream gone).
func (r *Redis) pruneErased(ctx context.Context, key, ekey string) error {
	first, err := r.rdb.XRangeN(ctx, key, "-", "+", 1).Result()
	if err != nil {
		return fmt.Errorf("stream: redis erase: %w", err)
	}
	if len(first) == 0 {
		return r.rdb.Del(ctx, ekey).Err()
	}
	oldest, err := ParseID(first[0].ID)
	if err != nil {
		return err
	}
	rec, err := r.rdb.HGetAll(ctx, ekey).Result()
	if err != nil {
		return fmt.Errorf("stream: redis erase: %w", err)
	}
	var gone []string
	for id, next := range rec {
		a, err1 := ParseID(id)
		n, err2 := ParseID(next)
		if err1 != nil || a.Less(oldest) && (err2 != nil || n.Less(oldest)) {
			gone = append(gone, id)
		}
	}
	if len(gone) > 0 {
		return r.rdb.HDel(ctx, ekey, gone...).Err()
	}
	return nil
}

// Last implements Backend.
func (r *Redis) Last(ctx context.Context, product string) (ID, error) {
	msgs, err := r.rdb.XRevRangeN(ctx, r.key(product), "+", "-", 1).Result()
	if err != nil {
		return ID{}, fmt.Errorf("stream: redis last: %w", err)
	}
	if len(msgs) == 0 {
		return ID{}, nil
	}
	return ParseID(msgs[0].ID)
}

// Read implements Backend with XREAD BLOCK on the product's stream.
func (r *Redis) Read(ctx context.Context, product string, id ID, n int) ([]Event, error) {
	res, err := r.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{r.key(product), id.String()}, Count: int64(n), Block: r.block}).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil
	case err != nil:
		if ctx.Err() != nil {
			return nil, nil
		}
		return nil, fmt.Errorf("stream: redis read: %w", err)
	case len(res) == 0:
		return nil, nil
	}
	return decode(res[0].Messages)
}

// Known implements Backend.
func (r *Redis) Known(ctx context.Context, product string) (bool, error) {
	err := r.rdb.ZScore(ctx, r.productsKey(), product).Err()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, redis.Nil):
		return false, nil
	default:
		return false, fmt.Errorf("stream: redis known: %w", err)
	}
}

func decode(msgs []redis.XMessage) ([]Event, error) {
	out := make([]Event, 0, len(msgs))
	for _, m := range msgs {
		id, err := ParseID(m.ID)
		if err != nil {
			return nil, err
		}
		d, _ := m.Values["d"].(string)
		ns, _ := m.Values["t"].(string)
		t, _ := strconv.ParseInt(ns, 10, 64)
		out = append(out, Event{ID: id, Data: []byte(d), At: time.Unix(0, t)})
	}
	return out, nil
}

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
// stream (XRANGE id id), then everything after it.
func (r *Redis) Since(ctx context.Context, product string, id ID) ([]Event, bool, error) {
	key, s := r.key(product), id.String()
	p := r.rdb.Pipeline()
	self := p.XRangeN(ctx, key, s, s, 1)
	rest := p.XRangeN(ctx, key, "("+s, "+", int64(r.limits.Events))
	if _, err := p.Exec(ctx); err != nil {
		return nil, false, fmt.Errorf("stream: redis since: %w", err)
	}
	if len(self.Val()) == 0 {
		return nil, false, nil
	}
	evs, err := decode(rest.Val())
	return evs, err == nil, err
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

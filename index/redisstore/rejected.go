package redisstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/replayhook/replayhook/index"
)

// rejected is the Redis RejectedLog: one list, newest first, trimmed to
// RejectedMax, shared by every replica.
type rejected Store

var _ index.RejectedLog = (*rejected)(nil)

// Add records r, dropping the oldest beyond RejectedMax (0 keeps none).
// The list expires FallbackTTL after the last rejection.
func (r *rejected) Add(ctx context.Context, rej index.Rejection) error {
	if r.limits.RejectedMax == 0 {
		return nil
	}
	b, err := json.Marshal(rej)
	if err != nil {
		return fmt.Errorf("redisstore: encode rejection: %w", err)
	}
	key := (*Store)(r).rejectedKey()
	_, err = r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, key, b)
		p.LTrim(ctx, key, 0, int64(r.limits.RejectedMax)-1)
		p.PExpire(ctx, key, r.limits.FallbackTTL)
		return nil
	})
	if err != nil {
		return unavailable("add rejection", err)
	}
	return nil
}

// Recent returns up to limit rejections (all when limit <= 0), newest
// first.
func (r *rejected) Recent(ctx context.Context, limit int) ([]index.Rejection, error) {
	stop := int64(-1)
	if limit > 0 {
		stop = int64(limit) - 1
	}
	raw, err := r.rdb.LRange(ctx, (*Store)(r).rejectedKey(), 0, stop).Result()
	if err != nil {
		return nil, unavailable("recent rejections", err)
	}
	out := make([]index.Rejection, 0, len(raw))
	for _, s := range raw {
		var rej index.Rejection
		if err := json.Unmarshal([]byte(s), &rej); err != nil {
			return nil, fmt.Errorf("redisstore: malformed rejection: %w", err)
		}
		out = append(out, rej)
	}
	return out, nil
}

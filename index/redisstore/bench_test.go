package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/index/redisstore"
	"github.com/replayhook/replayhook/normalize"
)

// benchUsers is the number of users the benchmarks spread their calls over.
const benchUsers = 10_000

// filledRedisUsers returns a Redis user index (on its own server) holding
// benchUsers users with one session each, their ids and the clock used.
func filledRedisUsers(b *testing.B) (index.UserIndex, []string, time.Time) {
	b.Helper()
	srv := startRedis(b, false)
	st := newStore(b, srv, redisstore.Limits{Lookback: time.Hour, MaxSessionsPerUser: 20})
	ctx := context.Background()
	now := time.Now()
	seen := normalize.UnixSeconds(now) - 60
	ids := make([]string, benchUsers)
	for i := range ids {
		ids[i] = "user_" + strconv.Itoa(i)
		ref := index.SessionRef{SessionID: "sess_" + strconv.Itoa(i), ProductID: "prod_demo", LastSeenAt: seen}
		if err := st.Users().Link(ctx, ids[i], "u@x.io", ref, now); err != nil {
			b.Fatal(err)
		}
	}
	return st.Users(), ids, now
}

// BenchmarkRedisLink links existing users to one of four sessions each (the
// steady state of ingest): one EVALSHA round trip to a local Redis per
// call, from all CPUs.
func BenchmarkRedisLink(b *testing.B) {
	users, ids, now := filledRedisUsers(b)
	ctx := context.Background()
	sessions := []string{"s0", "s1", "s2", "s3"}
	seen := normalize.UnixSeconds(now)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			ref := index.SessionRef{SessionID: sessions[i%4], ProductID: "prod_demo", LastSeenAt: seen}
			if err := users.Link(ctx, ids[(i*7919)%len(ids)], "", ref, now); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkRedisLookup looks users up (the chat layer's read), from all
// CPUs.
func BenchmarkRedisLookup(b *testing.B) {
	users, ids, now := filledRedisUsers(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok, err := users.Lookup(ctx, ids[(i*7919)%len(ids)], now); err != nil || !ok {
				b.Errorf("Lookup = %v, %v", ok, err)
				return
			}
			i++
		}
	})
}

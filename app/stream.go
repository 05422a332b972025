package app

import (
	"time"

	"github.com/sirupsen/logrus"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index/redisstore"
	"github.com/replayhook/replayhook/snapshot"
	"github.com/replayhook/replayhook/stream"
	"github.com/replayhook/replayhook/webhooks"
)

// newStream builds the SSE stream of cfg's backend: Redis Streams shared by
// every replica when rs is set, else this replica's memory ring, which is
// then a snapshot part (returned) so ids and buffers survive a restart.
func newStream(cfg *config.Config, rs *redisstore.Store, log *logrus.Logger, now func() time.Time) (*stream.Stream, []snapshot.Part) {
	if rs != nil {
		b := stream.NewRedis(rs.Client(), rs.Prefix(), stream.RedisLimits{
			Events: cfg.Stream.ReplayEvents, Age: cfg.Stream.ReplayAge(), Products: cfg.Stream.MaxProducts,
		}, 0)
		return webhooks.NewStream(cfg.Stream, b, log), nil
	}
	st, mem := webhooks.NewMemoryStream(cfg.Stream, now)
	return st, []snapshot.Part{snapshot.Value("stream",
		func(time.Time) stream.MemoryRecord { return mem.Export() },
		func(rec stream.MemoryRecord, _ time.Time) error { return mem.Import(rec) })}
}

package app

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/drift/redisdrift"
	"github.com/replayhook/replayhook/index/redisstore"
	"github.com/replayhook/replayhook/webhooks"
)

// RedisStartTimeout bounds connecting to Redis at start; replayhook does
// not start without its store.
const RedisStartTimeout = 10 * time.Second

// redisLog turns go-redis's log lines into warnings of the service's log.
type redisLog struct{ log *logrus.Logger }

func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.WithField("component", "redis").Warn(fmt.Sprintf(format, v...))
}

// redisBackend is the stores and the drift tracker in Redis, shared by
// every replica with the same Redis and key prefix; Redis persists them, so
// nothing goes in the snapshot.
func redisBackend(cfg *config.Config, log *logrus.Logger) (backend, error) {
	ctx, cancel := context.WithTimeout(context.Background(), RedisStartTimeout)
	defer cancel()
	rc := cfg.Store.Redis
	st, err := redisstore.New(ctx, rc, redisstore.Limits{
		Lookback: cfg.Index.Lookback(), MaxSessionsPerUser: cfg.Index.MaxSessionsPerUser,
		MaxActionsPerSession: cfg.Activity.MaxActionsPerSession, DedupeWindow: cfg.Dedupe.Window(),
		AliasTTL: AliasTTL, RejectedMax: cfg.Rejected.MaxEntries,
	})
	if err != nil {
		return backend{}, fmt.Errorf("store.redis (%s): %w", rc.Endpoint(), err)
	}
	for _, w := range st.EvictionPolicyWarnings(ctx) {
		log.WithField("store", "redis").Warn(w)
	}
	// go-redis reports reconnections and Sentinel failovers through a
	// process-wide logger; make them structured lines of ours.
	redis.SetLogger(redisLog{log})
	limits, sources := driftOptions(cfg)
	// One window shared by every replica, kept in Redis: never reset by a
	// replica starting, never snapshotted.
	tracker := redisdrift.New(st.Client(), redisdrift.Options{Prefix: rc.KeyPrefix, Limits: limits, Sources: sources})
	return backend{
		users: st.Users(), activity: st.Activity(), dedupe: st.Dedupe(), aliases: st.Aliases(), rejected: st.Rejected(),
		drift:         tracker,
		ready:         st.Ping,
		ingestWorkers: IngestWorkers(cfg),
		// The drift queue is flushed before the client closes.
		closers: []func() error{tracker.Close, st.Close},
		redis:   st,
	}, nil
}

var _ webhooks.DriftTracker = (*redisdrift.Tracker)(nil)

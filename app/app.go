// Package app builds replayhook from its configuration: the stores of the
// configured backend (memory or Redis), each source's provider, Prometheus
// metrics, drift tracking and the HTTP server, wired as the service runs.
// main uses it to serve; the load tool (bench) uses it so that what it
// measures is the very same server.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/forward"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/index/redisstore"
	"github.com/replayhook/replayhook/logjson"
	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/all"
	"github.com/replayhook/replayhook/snapshot"
	"github.com/replayhook/replayhook/webhooks"
)

// NewLogger is replayhook's logger: JSON lines (logjson: logrus'
// JSONFormatter's exact output, without its reflection) or text, at the
// configured level, written to out.
func NewLogger(cfg config.Log, out io.Writer) *logrus.Logger {
	log := logrus.New()
	log.SetOutput(out)
	if cfg.Format == "text" {
		log.SetFormatter(&logrus.TextFormatter{DisableColors: true, FullTimestamp: true})
	} else {
		// logrus.JSONFormatter's exact lines, without its per-line reflection.
		log.SetFormatter(&logjson.Formatter{TimestampFormat: time.RFC3339Nano})
	}
	if lvl, err := logrus.ParseLevel(cfg.Level); err == nil {
		log.SetLevel(lvl)
	}
	return log
}

// BuildSources binds every configured source to its provider.
func BuildSources(cfg *config.Config, reg *providers.Registry) (map[string]*webhooks.Source, error) {
	out := make(map[string]*webhooks.Source, len(cfg.Sources))
	for i, s := range cfg.Sources {
		p, err := reg.New(s.Provider, providers.Settings{
			Secrets: s.Secrets, Tolerance: s.Tolerance(), SecretHeader: s.SecretHeader, Unsigned: s.Unsigned,
			URLToken: s.URLToken, IgnoreDeletions: !s.HonorsDeletions(), Custom: s.CustomSpec(),
		})
		if err != nil {
			return nil, fmt.Errorf("config: sources[%d] (%s): %v", i, s.Name, err)
		}
		out[s.Name] = &webhooks.Source{Name: s.Name, ProviderName: s.Provider, ProductID: s.ProductID, Provider: p}
	}
	return out, nil
}

// AliasTTL is how long an identify() call links an anonymous id to its user.
const AliasTTL = 30 * 24 * time.Hour

// App is everything replayhook builds from its configuration.
type App struct {
	// Server is the HTTP application.
	Server *webhooks.Server
	// Users is the user index (the load tool preloads it).
	Users index.UserIndex
	// Snapshot is the state to save at shutdown and periodically, and to
	// restore at start: the memory stores and the drift counters; none with
	// the Redis store, which keeps everything in Redis.
	Snapshot []snapshot.Part
	// Forwarder pushes stored payloads to the forward targets; nil without any.
	Forwarder *forward.Forwarder
	// savedAt is when the state was last written to or restored from the
	// snapshot (unix nanoseconds, 0 = never), for replayhook_snapshot_age_seconds.
	savedAt atomic.Int64
	// closers release what New opened, in order (the Redis drift queue
	// before the Redis client).
	closers []func() error
	// durable is the journal, snapshot and restore gate (durability.go).
	durable *durability
}

// RedisStartTimeout bounds connecting to Redis at start; replayhook does
// not start without its store.
const RedisStartTimeout = 10 * time.Second

// New builds the stores of cfg's backend (connecting to Redis within
// RedisStartTimeout), the sources' providers, metrics, drift tracking and
// the server, wired as replayhook runs. Close releases what it opened.
func New(cfg *config.Config, log *logrus.Logger, now func() time.Time) (*App, error) {
	sources, err := BuildSources(cfg, all.Registry())
	if err != nil {
		return nil, err
	}
	a := &App{}
	mo := webhooks.MetricsOptions{Now: now}
	var (
		rs       *redisstore.Store // nil with the memory store
		users    index.UserIndex
		activity index.ActivityStore
		dedupe   index.Deduper
		aliases  index.Aliases
		rejected index.RejectedLog
		ready    func(context.Context) error
		parts    []snapshot.Part
	)
	switch cfg.Store.Backend {
	case "redis":
		// Shared by every replica; Redis persists it, so no snapshot part.
		ctx, cancel := context.WithTimeout(context.Background(), RedisStartTimeout)
		defer cancel()
		store, err := redisstore.New(ctx, cfg.Store.Redis, redisstore.Limits{
			Lookback: cfg.Index.Lookback(), MaxSessionsPerUser: cfg.Index.MaxSessionsPerUser,
			MaxActionsPerSession: cfg.Activity.MaxActionsPerSession, DedupeWindow: cfg.Dedupe.Window(),
			AliasTTL: AliasTTL, RejectedMax: cfg.Rejected.MaxEntries,
		})
		if err != nil {
			return nil, fmt.Errorf("store.redis (%s): %w", cfg.Store.Redis.Endpoint(), err)
		}
		rs = store
		for _, w := range store.EvictionPolicyWarnings(ctx) {
			log.WithField("store", "redis").Warn(w)
		}
		// go-redis reports reconnections and Sentinel failovers through a
		// process-wide logger; make them structured lines of ours.
		redis.SetLogger(redisLog{log})
		users, activity, dedupe, aliases, rejected = rs.Users(), rs.Activity(), rs.Dedupe(), rs.Aliases(), rs.Rejected()
		ready = rs.Ping
	default:
		mu := index.NewMemoryUsers(index.UserLimits{
			Lookback: cfg.Index.Lookback(), MaxSessionsPerUser: cfg.Index.MaxSessionsPerUser, MaxUsers: cfg.Index.MaxUsers,
		})
		ma := index.NewMemoryActivityLimits(index.ActivityLimits{
			MaxSessions: cfg.Activity.MaxSessions, MaxActionsPerSession: cfg.Activity.MaxActionsPerSession,
			MaxBytes: cfg.Activity.MaxBytes, MaxBytesPerSession: cfg.Activity.MaxBytesPerSession,
		})
		md := index.NewMemoryDedupe(cfg.Dedupe.MaxKeys, cfg.Dedupe.Window())
		ml := index.NewMemoryAliases(cfg.Drift.MaxKnownIDs, AliasTTL)
		users, activity, dedupe, aliases = mu, ma, md, ml
		rejected = index.NewMemoryRejected(cfg.Rejected.MaxEntries)
		mo.Stores = []webhooks.StoreMetric{
			{Name: "users", Stats: mu, Capacity: cfg.Index.MaxUsers},
			{Name: "sessions", Stats: ma, Capacity: cfg.Activity.MaxSessions},
			{Name: "dedupe", Stats: md, Capacity: cfg.Dedupe.MaxKeys * max(len(cfg.Sources), 1)}, // max_keys per source
			{Name: "aliases", Stats: ml, Capacity: cfg.Drift.MaxKnownIDs},
		}
		mo.DedupeEvictedInsideWindow = md.EvictedInsideWindow
		// dedupe is saved first: a key confirmed in the snapshot was
		// stored before any later part was saved, so replaying the journal
		// may skip it (webhooks.Server.Replay).
		parts = []snapshot.Part{
			snapshot.Slice("dedupe", md.Export, func(r []index.DedupeRecord, now time.Time) { md.Import(r, now) }),
			snapshot.Records("users", mu.ExportEach, func(r []index.UserRecord, now time.Time) { mu.Import(r, now) }, 1024),
			snapshot.Records("activity", func(_ time.Time, emit func(index.SessionRecord) error) error { return ma.ExportEach(emit) },
				func(r []index.SessionRecord, _ time.Time) { ma.Import(r) }, 256),
			snapshot.Slice("aliases", ml.Export, func(r []index.AliasRecord, now time.Time) { ml.Import(r, now) }),
		}
	}
	for _, s := range cfg.Sources {
		mo.Sources = append(mo.Sources, s.Name)
	}
	if cfg.Snapshot.Path != "" {
		mo.SnapshotAt = a.LastSaved
	}
	metrics := webhooks.NewMetrics(mo)
	fwd, fparts, err := newForwarder(cfg, rs, metrics, log, now)
	if err != nil {
		return nil, err
	}
	a.Forwarder, parts = fwd, append(parts, fparts...)
	driftSources := make([]index.DriftSource, 0, len(cfg.Sources))
	for _, sc := range cfg.Sources {
		driftSources = append(driftSources, index.DriftSource{Name: sc.Name, Provider: sc.Provider, ProductID: sc.ProductID})
	}
	driftLimits := index.DriftLimits{
		MaxLookupMisses: cfg.Drift.MaxLookupMisses, MaxConflicts: cfg.Drift.MaxConflicts,
		MaxKnownIDs: cfg.Drift.MaxKnownIDs, MaxExamples: cfg.Drift.MaxExamples,
	}
	var drift webhooks.DriftTracker
	if rs != nil {
		// One window shared by every replica, kept in Redis: never reset
		// by a replica starting, never snapshotted.
		rd := rs.Drift(driftLimits, driftSources)
		a.closers = append(a.closers, rd.Close, rs.Close)
		drift = rd
	} else {
		md := index.NewDrift(driftLimits, driftSources)
		md.Reset(now())
		// The drift counters are this replica's own.
		parts = append(parts, snapshot.Value("drift",
			func(time.Time) index.DriftCounters { return md.Counters() },
			func(c index.DriftCounters, _ time.Time) error { md.RestoreCounters(c); return nil }))
		drift = md
	}
	st, streamParts := newStream(cfg, rs, log, now)
	parts = append(parts, streamParts...)
	if a.durable, err = newDurability(cfg, log); err != nil {
		a.Close()
		return nil, err
	}
	if a.durable.wal != nil {
		a.closers = append(a.closers, a.durable.wal.Close)
	}
	a.durable.register(metrics.Registry())
	deps := webhooks.Deps{
		Config:    cfg,
		Sources:   sources,
		Users:     users,
		Activity:  activity,
		Dedupe:    dedupe,
		Aliases:   aliases,
		Rejected:  rejected,
		Validator: normalize.NewValidator(),
		Metrics:   metrics,
		Drift:     drift,
		Observers: []webhooks.Observer{metrics, drift},
		Stream:    st,
		Outbound:  []webhooks.Outbound{st},
		Log:       log,
		Now:       now,
		Ready:     readyAll(ready, a.durable.ready),
		Journal:   a.durable.gate,
	}
	a.wireForward(&deps)
	a.Server, a.Snapshot, a.Users = webhooks.New(deps), parts, users
	return a, nil
}

// redisLog turns go-redis's log lines into warnings of the service's log.
type redisLog struct{ log *logrus.Logger }

func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.WithField("component", "redis").Warn(fmt.Sprintf(format, v...))
}

// Close releases what New opened (the Redis client and the drift queue's
// flush); nothing with the memory store.
func (a *App) Close() error {
	var errs []error
	for _, c := range a.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// MarkSaved records that the state was written to or restored from the
// snapshot at t.
func (a *App) MarkSaved(t time.Time) { a.savedAt.Store(t.UnixNano()) }

// LastSaved is when the state was last written to or restored from the
// snapshot; zero while never.
func (a *App) LastSaved() time.Time {
	if n := a.savedAt.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// readyAll is ready when every non-nil check is.
func readyAll(checks ...func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		for _, c := range checks {
			if c == nil {
				continue
			}
			if err := c(ctx); err != nil {
				return err
			}
		}
		return nil
	}
}

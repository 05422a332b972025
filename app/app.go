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
	"runtime"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/drift"
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
			return nil, fmt.Errorf("config: sources[%d] (%s): %w", i, s.Name, err)
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

// New builds the stores of cfg's backend (connecting to Redis within
// RedisStartTimeout), the sources' providers, metrics, drift tracking and
// the server, wired as replayhook runs. Close releases what it opened.
func New(cfg *config.Config, log *logrus.Logger, now func() time.Time) (*App, error) {
	sources, err := BuildSources(cfg, all.Registry())
	if err != nil {
		return nil, err
	}
	b, err := newBackend(cfg, log, now)
	if err != nil {
		return nil, err
	}
	a := &App{Users: b.users, Snapshot: b.parts, closers: b.closers}
	metrics := webhooks.NewMetrics(a.metricsOptions(cfg, b, now))
	fwd, forwardParts, err := newForwarder(cfg, b.redis, metrics, log, now)
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	a.Forwarder, a.Snapshot = fwd, append(a.Snapshot, forwardParts...)
	st, streamParts := newStream(cfg, b.redis, log, now)
	a.Snapshot = append(a.Snapshot, streamParts...)
	if a.durable, err = newDurability(cfg, log); err != nil {
		_ = a.Close()
		return nil, err
	}
	if a.durable.wal != nil {
		a.closers = append(a.closers, a.durable.wal.Close)
	}
	a.durable.register(metrics.Registry())
	deps := webhooks.Deps{
		Config:        cfg,
		Sources:       sources,
		Users:         b.users,
		Activity:      b.activity,
		Dedupe:        b.dedupe,
		Aliases:       b.aliases,
		Rejected:      b.rejected,
		Validator:     normalize.NewValidator(),
		Metrics:       metrics,
		Drift:         b.drift,
		Stream:        st,
		Outbound:      []webhooks.Outbound{st},
		Log:           log,
		Now:           now,
		Ready:         readyAll(b.ready, a.durable.ready),
		Journal:       a.durable.gate,
		IngestWorkers: b.ingestWorkers,
	}
	a.wireForward(&deps)
	a.Server = webhooks.New(deps)
	return a, nil
}

// backend is what a store backend provides the server: its stores and
// drift tracker, and what the app saves (snapshot parts), gauges (store
// capacities) and closes.
type backend struct {
	users    index.UserIndex
	activity index.ActivityStore
	dedupe   index.Deduper
	aliases  index.Aliases
	rejected index.RejectedLog
	drift    webhooks.DriftTracker
	ready    func(context.Context) error
	// ingestWorkers is how many deliveries run at once (IngestWorkers).
	ingestWorkers int
	// stores are the memory stores' sizes for metrics; none with Redis.
	stores []webhooks.StoreMetric
	// dedupeEvicted counts dedupe keys evicted inside their window, for
	// metrics; nil with Redis.
	dedupeEvicted func() map[string]uint64
	// parts are saved to and restored from the snapshot; none with Redis,
	// which keeps everything.
	parts []snapshot.Part
	// closers release what the backend opened, in order.
	closers []func() error
	// redis is the Redis store, for what keeps its own keys there (the
	// stream); nil with the memory backend.
	redis *redisstore.Store
}

// newBackend builds cfg's backend.
func newBackend(cfg *config.Config, log *logrus.Logger, now func() time.Time) (backend, error) {
	if cfg.Store.Backend == "redis" {
		return redisBackend(cfg, log)
	}
	return memoryBackend(cfg, now), nil
}

// IngestWorkers is how many deliveries cfg lets run at once:
// server.ingest_workers, or when 0 the CPUs Go uses (times 16 with Redis,
// whose round trips leave the CPU idle, and with durability: fsync, where
// each delivery waits for the journal's fsync and more of them share one).
// The server caps it at server.max_concurrent_ingests.
func IngestWorkers(cfg *config.Config) int {
	if n := cfg.Server.IngestWorkers; n > 0 {
		return n
	}
	n := runtime.GOMAXPROCS(0)
	if cfg.Store.Backend == "redis" || (cfg.JournalDir() != "" && cfg.Durability == config.DurabilityFsync) {
		n *= 16
	}
	return n
}

// driftOptions are the drift tracker's limits and sources from cfg.
func driftOptions(cfg *config.Config) (drift.Limits, []drift.Source) {
	sources := make([]drift.Source, 0, len(cfg.Sources))
	for _, sc := range cfg.Sources {
		sources = append(sources, drift.Source{Name: sc.Name, Provider: sc.Provider, ProductID: sc.ProductID})
	}
	return drift.Limits{
		MaxLookupMisses: cfg.Drift.MaxLookupMisses, MaxConflicts: cfg.Drift.MaxConflicts,
		MaxKnownIDs: cfg.Drift.MaxKnownIDs, MaxExamples: cfg.Drift.MaxExamples,
	}, sources
}

// metricsOptions are the metrics' sources, store gauges and snapshot age.
func (a *App) metricsOptions(cfg *config.Config, b backend, now func() time.Time) webhooks.MetricsOptions {
	mo := webhooks.MetricsOptions{Now: now, Stores: b.stores, DedupeEvictedInsideWindow: b.dedupeEvicted}
	for _, s := range cfg.Sources {
		mo.Sources = append(mo.Sources, s.Name)
	}
	if cfg.Snapshot.Path != "" {
		mo.SnapshotAt = a.LastSaved
	}
	return mo
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

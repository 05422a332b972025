package app

import (
	"context"
	"time"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/drift"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/snapshot"
	"github.com/replayhook/replayhook/webhooks"
)

// memoryBackend is the stores in this process's memory, each bounded by
// cfg, saved in the snapshot, and a drift tracker of this replica's own
// whose window starts now.
func memoryBackend(cfg *config.Config, now func() time.Time) backend {
	users := index.NewMemoryUsers(index.UserLimits{
		Lookback: cfg.Index.Lookback(), MaxSessionsPerUser: cfg.Index.MaxSessionsPerUser, MaxUsers: cfg.Index.MaxUsers,
	})
	activity := index.NewMemoryActivityLimits(index.ActivityLimits{
		MaxSessions: cfg.Activity.MaxSessions, MaxActionsPerSession: cfg.Activity.MaxActionsPerSession,
		MaxBytes: cfg.Activity.MaxBytes, MaxBytesPerSession: cfg.Activity.MaxBytesPerSession,
	})
	dedupe := index.NewMemoryDedupe(cfg.Dedupe.MaxKeys, cfg.Dedupe.Window())
	aliases := index.NewMemoryAliases(cfg.Drift.MaxKnownIDs, AliasTTL)
	tracker := drift.NewMemory(driftOptions(cfg))
	tracker.Reset(now())
	return backend{
		users: users, activity: activity, dedupe: dedupe, aliases: aliases,
		rejected:      index.NewMemoryRejected(cfg.Rejected.MaxEntries),
		drift:         tracker,
		ready:         func(context.Context) error { return nil },
		ingestWorkers: IngestWorkers(cfg),
		dedupeEvicted: dedupe.EvictedInsideWindow,
		stores: []webhooks.StoreMetric{
			{Name: "users", Stats: users, Capacity: cfg.Index.MaxUsers},
			{Name: "sessions", Stats: activity, Capacity: cfg.Activity.MaxSessions},
			{Name: "dedupe", Stats: dedupe, Capacity: cfg.Dedupe.MaxKeys * max(len(cfg.Sources), 1)}, // max_keys per source
			{Name: "aliases", Stats: aliases, Capacity: cfg.Drift.MaxKnownIDs},
		},
		parts: []snapshot.Part{
			// dedupe is saved first: a key confirmed in the snapshot was
			// stored before any later part was saved, so replaying the
			// journal may skip it (webhooks.Server.Replay).
			snapshot.Slice("dedupe", dedupe.Export, func(r []index.DedupeRecord, now time.Time) { dedupe.Import(r, now) }),
			snapshot.Records("users", users.ExportEach, func(r []index.UserRecord, now time.Time) { users.Import(r, now) }, 1024),
			snapshot.Records("activity", func(_ time.Time, emit func(index.SessionRecord) error) error { return activity.ExportEach(emit) },
				func(r []index.SessionRecord, _ time.Time) { activity.Import(r) }, 256),
			snapshot.Slice("aliases", aliases.Export, func(r []index.AliasRecord, now time.Time) { aliases.Import(r, now) }),
			// The drift counters are this replica's own.
			snapshot.Value("drift",
				func(time.Time) drift.Counters { return tracker.Counters() },
				func(c drift.Counters, _ time.Time) error { tracker.RestoreCounters(c); return nil }),
		},
	}
}

package app

import (
	"context"
	"encoding/json"
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
	activity := index.NewMemoryActivity(cfg.Activity.MaxSessions, cfg.Activity.MaxActionsPerSession)
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
		stores: []webhooks.StoreMetric{
			{Name: "users", Stats: users, Capacity: cfg.Index.MaxUsers},
			{Name: "sessions", Stats: activity, Capacity: cfg.Activity.MaxSessions},
			{Name: "dedupe", Stats: dedupe, Capacity: cfg.Dedupe.MaxKeys},
			{Name: "aliases", Stats: aliases, Capacity: cfg.Drift.MaxKnownIDs},
		},
		parts: []snapshot.Part{
			part("users", users.Export, func(r []index.UserRecord, now time.Time) { users.Import(r, now) }),
			part("activity", func(time.Time) []index.SessionRecord { return activity.Export() }, func(r []index.SessionRecord, _ time.Time) { activity.Import(r) }),
			part("dedupe", dedupe.Export, func(r []index.DedupeRecord, now time.Time) { dedupe.Import(r, now) }),
			part("aliases", aliases.Export, func(r []index.AliasRecord, now time.Time) { aliases.Import(r, now) }),
			// The drift counters are this replica's own.
			{
				Name: "drift",
				Save: func(time.Time) any { return tracker.Counters() },
				Load: func(raw json.RawMessage, _ time.Time) error {
					var c drift.Counters
					if err := json.Unmarshal(raw, &c); err != nil {
						return err
					}
					tracker.RestoreCounters(c)
					return nil
				},
			},
		},
	}
}

package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/journal"
	"github.com/replayhook/replayhook/snapshot"
)

// durability is what keeps acknowledged deliveries across restarts: the
// snapshot, the journal of the memory backend (nil without one) and the
// gate that holds deliveries back until both are restored.
type durability struct {
	path string // snapshot file; "" = snapshots off
	wal  *journal.Log
	gate *journal.Gate
	log  *logrus.Logger

	// saveMu makes snapshots one at a time; stopped (under it) refuses
	// every snapshot after shutdown began.
	saveMu  sync.Mutex
	stopped bool

	mu            sync.Mutex
	snapErr       error // the last snapshot's failure; nil once one succeeds
	snapFailures  uint64
	restoreReport snapshot.Report
}

// ErrStopping is SaveSnapshot's answer once StopSnapshots was called.
var ErrStopping = errors.New("snapshot: shutting down, no new snapshot")

// newDurability opens the journal when cfg keeps one (memory backend, a
// snapshot path, durability not off) and builds the closed gate in front
// of it.
func newDurability(cfg *config.Config, log *logrus.Logger) (*durability, error) {
	d := &durability{path: cfg.Snapshot.Path, log: log}
	var j journal.Journal = journal.Nop{}
	if dir := cfg.JournalDir(); dir != "" {
		w, rep, err := journal.Open(journal.Options{
			Dir: dir, Batch: cfg.Durability == config.DurabilityBatch,
			BatchWindow: cfg.Journal.BatchWindow, SegmentBytes: cfg.Journal.SegmentBytes,
		})
		if err != nil {
			return nil, err
		}
		if rep.CutBytes > 0 {
			log.WithFields(logrus.Fields{"dir": dir, "bytes": rep.CutBytes}).Warn("journal: cut a torn entry off the end (a crash during its write; it was never acknowledged)")
		}
		if rep.MovedAside != "" {
			log.WithFields(logrus.Fields{"dir": dir, "moved_to": rep.MovedAside}).Error("JOURNAL UNREADABLE: moved aside, starting a new one; deliveries after the snapshot are not replayed")
		}
		d.wal, j = w, w
	}
	d.gate = journal.NewGate(j)
	return d, nil
}

// register adds the durability metrics to reg.
func (d *durability) register(reg *prometheus.Registry) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "replayhook_disk_fault",
			Help: "1 while the journal or the last snapshot cannot be written (deliveries get 503 and /readyz fails), else 0.",
		}, func() float64 {
			if d.fault() != nil {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "replayhook_journal_failures_total",
			Help: "Journal write, fsync or truncation failures.",
		}, func() float64 {
			if d.wal == nil {
				return 0
			}
			return float64(d.wal.Failures())
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "replayhook_snapshot_failures_total",
			Help: "Snapshot writes that failed.",
		}, func() float64 {
			d.mu.Lock()
			defer d.mu.Unlock()
			return float64(d.snapFailures)
		}),
	)
}

// fault is the disk problem that makes the replica unready, if any.
func (d *durability) fault() error {
	var errs []error
	if d.wal != nil {
		errs = append(errs, d.wal.Admit())
	}
	d.mu.Lock()
	errs = append(errs, d.snapErr)
	d.mu.Unlock()
	return errors.Join(errs...)
}

// ready fails while the state is restoring and while the disk fails.
func (d *durability) ready(context.Context) error {
	if err := d.gate.Admit(); errors.Is(err, journal.ErrStarting) {
		return err
	}
	return d.fault()
}

// Restore loads the last good snapshot, replays the journal after it and
// then lets deliveries in. It logs one line saying what was and was not
// restored. Call it once, after the listener is up (/livez answers,
// /readyz fails until it returns).
func (a *App) Restore(now time.Time) error {
	d := a.durable
	defer d.gate.Open()
	if d.path == "" {
		return nil
	}
	start := time.Now()
	rep, err := snapshot.Restore(d.path, a.Snapshot, now)
	d.mu.Lock()
	d.restoreReport = rep
	d.mu.Unlock()
	fields := logrus.Fields{"path": d.path, "file": rep.File, "saved_at": rep.SavedAt, "journal_mark": rep.Mark,
		"restored_parts": rep.Loaded, "skipped_parts": rep.Skipped, "removed_temp_files": rep.RemovedTemp}
	for _, p := range rep.Problems {
		d.log.WithField("path", d.path).Error("SNAPSHOT DAMAGED: " + p)
	}
	switch {
	case err != nil:
		d.log.WithError(err).WithFields(fields).Error("SNAPSHOT NOT RESTORED: state starts from the journal alone")
	case rep.File == "":
		d.log.WithFields(fields).Info("no snapshot: first start")
	case len(rep.Skipped) > 0:
		d.log.WithFields(fields).Error("snapshot PARTLY restored: the skipped parts start empty")
	default:
		a.MarkSaved(now)
		d.log.WithFields(fields).Info("snapshot restored")
	}
	if d.wal != nil {
		jr, err := d.wal.Replay(rep.Mark, func(e *journal.Entry) error { return a.Server.Replay(context.Background(), e) })
		jf := logrus.Fields{"after": rep.Mark, "first": jr.First, "last": jr.Last, "replayed": jr.Applied,
			"corrupt": jr.Corrupt, "missing": jr.Missing, "failed": jr.Failed}
		switch {
		case err != nil:
			d.log.WithError(err).WithFields(jf).Error("JOURNAL NOT REPLAYED")
			return err
		case jr.Corrupt+jr.Missing+jr.Failed > 0:
			d.log.WithFields(jf).Error("journal replayed with losses: damaged or missing entries were skipped")
		default:
			d.log.WithFields(jf).Info("journal replayed")
		}
	}
	d.log.WithField("seconds", time.Since(start).Seconds()).Info("state restored: taking deliveries")
	return nil
}

// SaveSnapshot writes the snapshot covering the journal up to its mark,
// then truncates the journal up to the previous snapshot's mark (the one
// kept as the fallback). A failure makes /readyz fail until a snapshot
// succeeds. After StopSnapshots it writes nothing (ErrStopping).
//
// Cancelling ctx abandons the write between two records: the files already
// on disk stay as they were.
func (a *App) SaveSnapshot(ctx context.Context, now time.Time) error {
	d := a.durable
	if d.path == "" {
		return nil
	}
	d.saveMu.Lock()
	defer d.saveMu.Unlock()
	if d.stopped {
		return ErrStopping
	}
	var mark uint64
	if d.wal != nil {
		mark = d.wal.Mark()
	}
	parts := make([]snapshot.Part, len(a.Snapshot))
	for i, p := range a.Snapshot {
		save := p.Save
		p.Save = func(now time.Time, emit func(any) error) error {
			return save(now, func(rec any) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				return emit(rec)
			})
		}
		parts[i] = p
	}
	err := snapshot.Write(d.path, parts, mark, now)
	if err != nil && ctx.Err() != nil {
		return err // abandoned, not a disk fault
	}
	d.mu.Lock()
	d.snapErr = err
	if err != nil {
		d.snapFailures++
	}
	d.mu.Unlock()
	if err != nil {
		return err
	}
	a.MarkSaved(now)
	if d.wal != nil {
		prev, err := snapshot.ReadHeader(snapshot.Previous(d.path))
		if err != nil {
			return nil // no previous snapshot yet: keep the whole log
		}
		if err := d.wal.TruncateThrough(prev.JournalMark); err != nil {
			return fmt.Errorf("snapshot written, journal not truncated: %w", err)
		}
	}
	return nil
}

// StopSnapshots waits for a snapshot in progress and refuses every later
// one: shutdown calls it before its own final steps.
func (a *App) StopSnapshots() {
	d := a.durable
	d.saveMu.Lock()
	d.stopped = true
	d.saveMu.Unlock()
}

// SyncJournal fsyncs every journal entry written (shutdown, batch mode).
func (a *App) SyncJournal() error {
	if a.durable.wal == nil {
		return nil
	}
	return a.durable.wal.Sync()
}

// HasJournal reports whether deliveries are journaled (then the final
// snapshot at shutdown is optional).
func (a *App) HasJournal() bool { return a.durable.wal != nil }

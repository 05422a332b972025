package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/replayhook/replayhook/app"
)

// saveEvery writes the snapshot every interval until ctx ends; cancelling
// ctx also abandons a write in progress.
func saveEvery(ctx context.Context, a *app.App, interval time.Duration, log *logrus.Logger, now func() time.Time) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := a.SaveSnapshot(ctx, now())
			switch {
			case err == nil, ctx.Err() != nil, errors.Is(err, app.ErrStopping):
			default:
				log.WithError(err).Error("periodic snapshot failed")
			}
		}
	}
}

// serve runs the server. Start: the listener opens first (/livez answers,
// /readyz and deliveries answer 503), then the snapshot is restored and
// the journal replayed, then deliveries are taken. SIGTERM: /readyz fails
// for the drain delay, the listener closes and in-flight requests finish,
// a periodic snapshot in progress is abandoned and no other starts, the
// journal is fsynced; with a journal the final snapshot only runs in what
// is left of server.shutdown_timeout (the journal already holds every
// acknowledged delivery), without one it always runs.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "config file")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, path, err := loadConfig(*cfgPath, getenv)
	if err != nil {
		return err
	}
	if err := cfg.CheckListen(); err != nil {
		return err
	}
	log := app.NewLogger(cfg.Log, stdout)
	a, err := app.New(cfg, log, time.Now)
	if err != nil {
		return err
	}
	defer a.Close()
	// Forwarding starts once the outbox is restored; stop is idempotent.
	stopForwarding := func() {}
	defer func() { stopForwarding() }()
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Addr, err)
	}
	ln = a.Server.LimitListener(ln) // server.max_connections and max_connections_per_ip
	srv := a.Server.HTTPServer()
	log.WithFields(logrus.Fields{"addr": ln.Addr().String(), "config": path, "sources": len(cfg.Sources),
		"durability": cfg.Durability, "journal": cfg.JournalDir()}).Info("listening")
	if dev := cfg.DevSecrets(); len(dev) > 0 {
		log.WithField("keys", dev).Warn("development secrets in use: fine on loopback, set real ones before exposing the server")
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	restored := make(chan error, 1)
	go func() { restored <- a.Restore(time.Now()) }()
	saveCtx, stopSaving := context.WithCancel(context.Background())
	defer stopSaving()
	var saving sync.WaitGroup
	select {
	case err := <-errc:
		if rerr := <-restored; rerr != nil {
			log.WithError(rerr).Error("restore failed after the listener stopped serving")
		}
		return err
	case <-ctx.Done():
		// SIGTERM while restoring: the state on disk is unchanged, finish
		// reading it before closing the files under it.
		if err := <-restored; err != nil {
			log.WithError(err).Error("restore failed: stopping anyway")
		}
	case err := <-restored:
		if err != nil {
			log.WithError(err).Error("restore failed: serving what could be restored")
		}
		stopForwarding = a.StartForwarding()
		saving.Add(1)
		go func() {
			defer saving.Done()
			saveEvery(saveCtx, a, cfg.Snapshot.Interval, log, time.Now)
		}()
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
		}
	}

	// Graceful shutdown: readiness fails first, then the listener closes and
	// in-flight requests finish within the shutdown timeout.
	a.Server.Drain()
	log.WithField("drain_delay", cfg.Server.DrainDelay.String()).Info("draining")
	time.Sleep(cfg.Server.DrainDelay)
	deadline := time.Now().Add(cfg.Server.ShutdownTimeout)
	sctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.WithError(err).Error("shutdown did not finish in time")
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// No snapshot after this point but the final one: the periodic loop
	// stops, a write in progress is abandoned and waited for.
	stopSaving()
	saving.Wait()
	stopForwarding() // what is not delivered yet stays queued, in the snapshot
	if err := a.SyncJournal(); err != nil {
		log.WithError(err).Error("journal fsync at shutdown failed")
	}
	final := context.Background()
	if a.HasJournal() {
		final = sctx
	}
	if err := a.SaveSnapshot(final, time.Now()); err != nil {
		if !a.HasJournal() {
			log.WithError(err).Error("final snapshot failed: state since the last periodic snapshot is lost")
			return err
		}
		log.WithError(err).Warn("final snapshot not written in time: the journal holds every acknowledged delivery, the next start replays it")
	} else if cfg.Snapshot.Path != "" {
		log.WithField("path", cfg.Snapshot.Path).Info("snapshot written")
	}
	a.StopSnapshots()
	log.Info("stopped")
	return nil
}

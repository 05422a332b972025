package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/replayhook/replayhook/app"
	"github.com/replayhook/replayhook/snapshot"
)

// restore loads the snapshot, if any. A corrupt file is moved aside with a
// loud error and the server starts empty.
func restore(a *app.App, path string, log *logrus.Logger, now time.Time) {
	if path == "" {
		return
	}
	ok, savedAt, err := snapshot.Restore(path, a.Snapshot, now)
	switch {
	case err != nil:
		log.WithError(err).WithField("path", path).Error("SNAPSHOT NOT RESTORED: state starts empty")
	case ok:
		a.MarkSaved(now)
		log.WithFields(logrus.Fields{"path": path, "saved_at": savedAt}).Info("snapshot restored")
	}
}

// saveEvery writes the snapshot every interval until ctx ends.
func saveEvery(ctx context.Context, a *app.App, path string, interval time.Duration, log *logrus.Logger, now func() time.Time) {
	if path == "" || interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			at := now()
			if err := snapshot.Write(path, a.Snapshot, at); err != nil {
				log.WithError(err).Error("periodic snapshot failed")
			} else {
				a.MarkSaved(at)
			}
		}
	}
}

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
	restore(a, cfg.Snapshot.Path, log, time.Now())
	stopForwarding := a.StartForwarding()
	defer stopForwarding()
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Addr, err)
	}
	ln = a.Server.LimitListener(ln) // server.max_connections and max_connections_per_ip
	srv := a.Server.HTTPServer()
	log.WithFields(logrus.Fields{"addr": ln.Addr().String(), "config": path, "sources": len(cfg.Sources)}).Info("listening")
	if dev := cfg.DevSecrets(); len(dev) > 0 {
		log.WithField("keys", dev).Warn("development secrets in use: fine on loopback, set real ones before exposing the server")
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	saveCtx, stopSaving := context.WithCancel(context.Background())
	defer stopSaving()
	go saveEvery(saveCtx, a, cfg.Snapshot.Path, cfg.Snapshot.Interval, log, time.Now)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Graceful shutdown: readiness fails first, then the listener closes and
	// in-flight requests finish within the shutdown timeout.
	a.Server.Drain()
	log.WithField("drain_delay", cfg.Server.DrainDelay.String()).Info("draining")
	time.Sleep(cfg.Server.DrainDelay)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.WithError(err).Error("shutdown did not finish in time")
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	stopSaving()
	stopForwarding() // what is not delivered yet stays queued, in the snapshot
	if cfg.Snapshot.Path != "" {
		if err := snapshot.Write(cfg.Snapshot.Path, a.Snapshot, time.Now()); err != nil {
			log.WithError(err).Error("final snapshot failed: state since the last periodic snapshot is lost")
			return err
		}
		log.WithField("path", cfg.Snapshot.Path).Info("snapshot written")
	}
	log.Info("stopped")
	return nil
}

// Command replayhook receives session-replay vendors' webhooks, normalizes
// them into the Autoplay SDK's ActionsPayload, indexes user → recent
// sessions and answers the chat layer's lookups. See README.md.
//
// main only wires the process: flags, configuration, logger, listener,
// signals, snapshots and shutdown; package app builds every dependency from
// the configuration and passes it in; the packages do the work (providers,
// normalize, index, webhooks).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	yaml "go.yaml.in/yaml/v3"

	"github.com/replayhook/replayhook/app"
	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/all"
	"github.com/replayhook/replayhook/snapshot"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "replayhook:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  replayhook [serve] [--config PATH]                          run the server
  replayhook send --source NAME FILE [--config PATH] [--url URL]
                                                             sign FILE as NAME's vendor would and POST it
  replayhook check-config [--config PATH]                     validate and print the effective config (secrets masked)

The config path is --config, else $REPLAYHOOK_CONFIG, else ./config.yaml.`

// run is the whole program; ctx ends it (SIGINT/SIGTERM in main).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout)
	case "send":
		return send(ctx, args, getenv, stdout)
	case "check-config":
		return checkConfig(args, getenv, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// parseFlags parses fs from args, allowing flags after positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func loadConfig(path string, getenv func(string) string) (*config.Config, string, error) {
	if path == "" {
		path = getenv("REPLAYHOOK_CONFIG")
	}
	if path == "" {
		path = "config.yaml"
	}
	cfg, err := config.Load(path, getenv)
	return cfg, path, err
}

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
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Addr, err)
	}
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

func send(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "config file")
	source := fs.String("source", "", "source name from the config")
	target := fs.String("url", "", "server base URL or full webhook URL (default: http://<server.addr>)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *source == "" || len(pos) != 1 {
		return errors.New("usage: replayhook send --source NAME FILE [--config PATH] [--url URL]")
	}
	cfg, _, err := loadConfig(*cfgPath, getenv)
	if err != nil {
		return err
	}
	var sc *config.Source
	for i := range cfg.Sources {
		if cfg.Sources[i].Name == *source {
			sc = &cfg.Sources[i]
		}
	}
	if sc == nil {
		return fmt.Errorf("no source %q in the config", *source)
	}
	body, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	sources, err := app.BuildSources(&config.Config{Sources: []config.Source{*sc}}, all.Registry())
	if err != nil {
		return err
	}
	header := http.Header{"Content-Type": {"application/json"}}
	if signer, ok := sources[sc.Name].Provider.(providers.Signer); ok && len(sc.Secrets) > 0 {
		for k, v := range signer.Sign(body, sc.Secrets[0], time.Now()) {
			header[k] = v
		}
	}
	url := *target
	if url == "" {
		url = "http://" + cfg.Server.Addr
	}
	if !strings.Contains(url, "/webhooks/") {
		url = strings.TrimRight(url, "/") + "/webhooks/" + sc.Name
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header = header
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	fmt.Fprintf(stdout, "%s %s\n%s\n", resp.Proto, resp.Status, strings.TrimSpace(string(out)))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("server answered %s", resp.Status)
	}
	return nil
}

func checkConfig(args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "config file")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, path, err := loadConfig(*cfgPath, getenv)
	if err != nil {
		return err
	}
	if _, err := app.BuildSources(cfg, all.Registry()); err != nil {
		return err
	}
	masked := cfg.Masked()
	out, err := yaml.Marshal(&masked)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# effective configuration from %s (secrets masked)\n%s", path, out)
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(stdout, "# warning:", w)
	}
	if err := cfg.CheckListen(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "# ok")
	return nil
}

// Command replayhook receives session-replay vendors' webhooks, normalizes
// them into the Autoplay SDK's ActionsPayload, indexes user → recent
// sessions and answers the chat layer's lookups. See README.md.
//
// main only wires: run builds every dependency from the configuration and
// passes it in; the packages do the work (providers, normalize, index,
// webhooks).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"gopkg.in/yaml.v3"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/index/redisstore"
	"github.com/replayhook/replayhook/logjson"
	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/all"
	"github.com/replayhook/replayhook/snapshot"
	"github.com/replayhook/replayhook/webhooks"
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

func newLogger(cfg config.Log, out io.Writer) *logrus.Logger {
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

// buildSources binds every configured source to its provider.
func buildSources(cfg *config.Config, reg *providers.Registry) (map[string]*webhooks.Source, error) {
	out := make(map[string]*webhooks.Source, len(cfg.Sources))
	for i, s := range cfg.Sources {
		p, err := reg.New(s.Provider, providers.Settings{
			Secrets: s.Secrets, Tolerance: s.Tolerance(), SecretHeader: s.SecretHeader, Unsigned: s.Unsigned,
		})
		if err != nil {
			return nil, fmt.Errorf("config: sources[%d] (%s): %v", i, s.Name, err)
		}
		out[s.Name] = &webhooks.Source{Name: s.Name, ProviderName: s.Provider, ProductID: s.ProductID, Provider: p}
	}
	return out, nil
}

// aliasTTL is how long an identify() call links an anonymous id to its user.
const aliasTTL = 30 * 24 * time.Hour

// app is everything serve builds from the configuration.
type app struct {
	server   *webhooks.Server
	snapshot []snapshot.Part // state saved at shutdown and periodically
	// savedAt is when the state was last written to or restored from the
	// snapshot (unix nanoseconds, 0 = never), for replayhook_snapshot_age_seconds.
	savedAt atomic.Int64
	// closeStore closes a remote store (nil for the memory store).
	closeStore func() error
}

// redisStartTimeout bounds connecting to Redis at start; replayhook does
// not start without its store.
const redisStartTimeout = 10 * time.Second

func newApp(cfg *config.Config, log *logrus.Logger, now func() time.Time) (*app, error) {
	sources, err := buildSources(cfg, all.Registry())
	if err != nil {
		return nil, err
	}
	a := &app{}
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
		ctx, cancel := context.WithTimeout(context.Background(), redisStartTimeout)
		defer cancel()
		store, err := redisstore.New(ctx, cfg.Store.Redis, redisstore.Limits{
			Lookback: cfg.Index.Lookback(), MaxSessionsPerUser: cfg.Index.MaxSessionsPerUser,
			MaxActionsPerSession: cfg.Activity.MaxActionsPerSession, DedupeWindow: cfg.Dedupe.Window(),
			AliasTTL: aliasTTL, RejectedMax: cfg.Rejected.MaxEntries,
		})
		if err != nil {
			return nil, fmt.Errorf("store.redis (%s): %w", cfg.Store.Redis.Endpoint(), err)
		}
		rs = store
		a.closeStore = rs.Close
		users, activity, dedupe, aliases, rejected = rs.Users(), rs.Activity(), rs.Dedupe(), rs.Aliases(), rs.Rejected()
		ready = rs.Ping
	default:
		mu := index.NewMemoryUsers(index.UserLimits{
			Lookback: cfg.Index.Lookback(), MaxSessionsPerUser: cfg.Index.MaxSessionsPerUser, MaxUsers: cfg.Index.MaxUsers,
		})
		ma := index.NewMemoryActivity(cfg.Activity.MaxSessions, cfg.Activity.MaxActionsPerSession)
		md := index.NewMemoryDedupe(cfg.Dedupe.MaxKeys, cfg.Dedupe.Window())
		ml := index.NewMemoryAliases(cfg.Drift.MaxKnownIDs, aliasTTL)
		users, activity, dedupe, aliases = mu, ma, md, ml
		rejected = index.NewMemoryRejected(cfg.Rejected.MaxEntries)
		mo.Stores = []webhooks.StoreMetric{
			{Name: "users", Stats: mu, Capacity: cfg.Index.MaxUsers},
			{Name: "sessions", Stats: ma, Capacity: cfg.Activity.MaxSessions},
			{Name: "dedupe", Stats: md, Capacity: cfg.Dedupe.MaxKeys},
			{Name: "aliases", Stats: ml, Capacity: cfg.Drift.MaxKnownIDs},
		}
		parts = []snapshot.Part{
			part("users", mu.Export, func(r []index.UserRecord, now time.Time) { mu.Import(r, now) }),
			part("activity", func(time.Time) []index.SessionRecord { return ma.Export() }, func(r []index.SessionRecord, _ time.Time) { ma.Import(r) }),
			part("dedupe", md.Export, func(r []index.DedupeRecord, now time.Time) { md.Import(r, now) }),
			part("aliases", ml.Export, func(r []index.AliasRecord, now time.Time) { ml.Import(r, now) }),
		}
	}
	for _, s := range cfg.Sources {
		mo.Sources = append(mo.Sources, s.Name)
	}
	if cfg.Snapshot.Path != "" {
		mo.SnapshotAt = a.lastSaved
	}
	metrics := webhooks.NewMetrics(mo)
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
		closeStore := a.closeStore
		a.closeStore = func() error { return errors.Join(rd.Close(), closeStore()) }
		drift = rd
	} else {
		md := index.NewDrift(driftLimits, driftSources)
		md.Reset(now())
		// The drift counters are this replica's own.
		parts = append(parts,
			snapshot.Part{
				Name: "drift",
				Save: func(time.Time) any { return md.Counters() },
				Load: func(raw json.RawMessage, _ time.Time) error {
					var c index.DriftCounters
					if err := json.Unmarshal(raw, &c); err != nil {
						return err
					}
					md.RestoreCounters(c)
					return nil
				},
			})
		drift = md
	}
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
		Log:       log,
		Now:       now,
		Ready:     ready,
	}
	a.server, a.snapshot = webhooks.New(deps), parts
	return a, nil
}

// lastSaved is when the state was last written to or restored from the
// snapshot; zero while never.
func (a *app) lastSaved() time.Time {
	if n := a.savedAt.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// part adapts a store's typed Export/Import to a snapshot part.
func part[R any](name string, export func(time.Time) []R, load func([]R, time.Time)) snapshot.Part {
	return snapshot.Part{
		Name: name,
		Save: func(now time.Time) any { return export(now) },
		Load: func(raw json.RawMessage, now time.Time) error {
			var recs []R
			if err := json.Unmarshal(raw, &recs); err != nil {
				return err
			}
			load(recs, now)
			return nil
		},
	}
}

// restore loads the snapshot, if any. A corrupt file is moved aside with a
// loud error and the server starts empty.
func (a *app) restore(path string, log *logrus.Logger, now time.Time) {
	if path == "" {
		return
	}
	ok, savedAt, err := snapshot.Restore(path, a.snapshot, now)
	switch {
	case err != nil:
		log.WithError(err).WithField("path", path).Error("SNAPSHOT NOT RESTORED: state starts empty")
	case ok:
		a.savedAt.Store(now.UnixNano())
		log.WithFields(logrus.Fields{"path": path, "saved_at": savedAt}).Info("snapshot restored")
	}
}

// saveEvery writes the snapshot every interval until ctx ends.
func (a *app) saveEvery(ctx context.Context, path string, interval time.Duration, log *logrus.Logger, now func() time.Time) {
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
			if err := snapshot.Write(path, a.snapshot, at); err != nil {
				log.WithError(err).Error("periodic snapshot failed")
			} else {
				a.savedAt.Store(at.UnixNano())
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
	log := newLogger(cfg.Log, stdout)
	a, err := newApp(cfg, log, time.Now)
	if err != nil {
		return err
	}
	if a.closeStore != nil {
		defer a.closeStore()
	}
	a.restore(cfg.Snapshot.Path, log, time.Now())
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Addr, err)
	}
	srv := a.server.HTTPServer()
	log.WithFields(logrus.Fields{"addr": ln.Addr().String(), "config": path, "sources": len(cfg.Sources)}).Info("listening")
	if dev := cfg.DevSecrets(); len(dev) > 0 {
		log.WithField("keys", dev).Warn("development secrets in use: fine on loopback, set real ones before exposing the server")
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	saveCtx, stopSaving := context.WithCancel(context.Background())
	defer stopSaving()
	go a.saveEvery(saveCtx, cfg.Snapshot.Path, cfg.Snapshot.Interval, log, time.Now)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Graceful shutdown: readiness fails first, then the listener closes and
	// in-flight requests finish within the shutdown timeout.
	a.server.Drain()
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
		if err := snapshot.Write(cfg.Snapshot.Path, a.snapshot, time.Now()); err != nil {
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
	sources, err := buildSources(&config.Config{Sources: []config.Source{*sc}}, all.Registry())
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
	if _, err := buildSources(cfg, all.Registry()); err != nil {
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

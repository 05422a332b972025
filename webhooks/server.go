// Package webhooks is replayhook's HTTP layer: the Echo server, its
// middleware, the ingest pipeline behind POST /webhooks/{source}, and the
// lookup API the chat layer calls. routes.go lists every route.
package webhooks

import (
	"context"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/internal/buildinfo"
	"github.com/replayhook/replayhook/journal"
	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/stream"
)

// Source is a configured webhook endpoint bound to its provider.
type Source struct {
	Name         string
	ProviderName string
	// ProductID, when set, is stamped on every payload; payloads naming
	// another product are rejected.
	ProductID string
	Provider  providers.Provider
}

// Observer is told what the pipeline and the lookups see; identity-drift
// tracking and metrics implement it. Calls happen on the request path after
// the work is done: implementations must be fast and never block on I/O.
type Observer interface {
	// Delivery reports one webhook request's outcome: "accepted",
	// "duplicate", "ignored" or an error code such as "invalid_signature".
	Delivery(source, provider, outcome string)
	// Payload reports one stored payload; late means its event time was
	// older than the lookback when it arrived.
	Payload(source, provider string, p *normalize.ActionsPayload, late bool, now time.Time)
	// Lookup reports a chat-layer lookup by user id and whether it found sessions.
	Lookup(userID string, hit bool, now time.Time)
}

// Outbound takes the payloads one delivery stored, after they are stored
// and before the delivery is acknowledged: the SSE stream and push
// forwarding queue them here. Payloads are in ingest order and each has a
// session_id (session-less payloads are never stored). An error answers the
// vendor 503 so it retries: delivery is at least once, never lost, and a
// retry may publish a payload again.
type Outbound interface {
	Publish(ctx context.Context, payloads []normalize.ActionsPayload, now time.Time) error
}

// Deps is everything the server needs; main builds it.
type Deps struct {
	Config   *config.Config
	Sources  map[string]*Source
	Users    index.UserIndex
	Activity index.ActivityStore
	Dedupe   index.Deduper
	Aliases  index.Aliases
	// Rejected keeps recent rejected deliveries for GET /v1/deliveries/rejected.
	Rejected  index.RejectedLog
	Validator *normalize.Validator
	// Drift tracks identity drift; the server observes with it. Default:
	// drift.Disabled.
	Drift DriftTracker
	// Metrics exposes Prometheus metrics; the server observes with it.
	Metrics *Metrics
	// Observers are observers beyond Drift and Metrics; none by default.
	Observers []Observer
	// Outbound receives every stored payload before the acknowledgement;
	// none by default.
	Outbound []Outbound
	// Forwards serves the forwarding API; none by default.
	Forwards Forwards
	// Stream feeds GET /stream/{product_id}; nil means a memory stream fed
	// by this server's ingest (added to Outbound).
	Stream *stream.Stream
	Log    *logrus.Logger
	// Now is the clock (time.Now in production).
	Now func() time.Time
	// Ready reports whether the stores can serve; nil means always.
	Ready func(context.Context) error
	// IngestWorkers is how many deliveries run at once (never more than
	// server.max_concurrent_ingests); 0 means the CPUs Go uses. The
	// backend's builder sizes it (app.IngestWorkers).
	IngestWorkers int
	// Journal writes each delivery ahead of its acknowledgement and
	// admits deliveries (webhooks/journal.go); nil is journal.Nop.
	Journal journal.Journal
}

// Server is the HTTP application.
type Server struct {
	deps      Deps
	observers []Observer // Drift, Metrics, then Deps.Observers
	cfg       *config.Config
	echo      *echo.Echo
	tokens    []token
	ingestSem chan struct{} // deliveries in progress (running or waiting)
	workers   chan struct{} // deliveries running
	limits    limits        // abuse bounds (admission.go, listener.go, rejectgate.go)
	logFields sync.Pool     // logrus.Fields maps for the access log
	draining  atomic.Bool
	build     buildinfo.Info // for GET / and /livez
	streams   *streams
}

// New builds the server and registers its routes.
func New(d Deps) *Server {
	d = withDefaults(d)
	streams := newStreams(&d)
	s := &Server{
		streams:   streams,
		deps:      d,
		observers: observers(d),
		cfg:       d.Config,
		echo:      echo.New(),
		tokens:    newTokens(d.Config.Auth.Tokens),
		ingestSem: make(chan struct{}, d.Config.Server.MaxConcurrentIngests),
		workers:   make(chan struct{}, ingestWorkers(d.IngestWorkers, d.Config.Server.MaxConcurrentIngests)),
		build:     buildinfo.Read(),
		limits:    newLimits(d.Config, d.Now),
	}
	s.logFields.New = func() any { return make(logrus.Fields, 16) }
	e := s.echo
	e.HideBanner = true
	e.HidePort = true
	e.Logger.SetOutput(discard{})
	e.HTTPErrorHandler = s.HandleError
	e.JSONSerializer = plainJSON{}
	e.IPExtractor = ipExtractor(d.Config.Server.TrustedProxies)
	s.routes()
	return s
}

// ingestWorkers is n, or the CPUs Go uses when n <= 0, between 1 and
// limit.
func ingestWorkers(n, limit int) int {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return max(1, min(n, limit))
}

// Handler is the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Echo exposes the Echo instance (for route listing in tests and docs).
func (s *Server) Echo() *echo.Echo { return s.echo }

// HTTPServer returns an http.Server with the configured timeouts and limits
// (echo.New sets none).
func (s *Server) HTTPServer() *http.Server {
	c := s.cfg.Server
	hs := &http.Server{
		Addr:              c.Addr,
		Handler:           s.echo,
		ReadHeaderTimeout: min(c.ReadTimeout, 5*time.Second),
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
		ConnState:         s.limits.idle.track, // LimitListener closes the longest idle first when full
	}
	hs.RegisterOnShutdown(s.CloseStreams)
	return hs
}

// Drain makes /readyz fail so load balancers stop sending traffic; call it
// before shutting the HTTP server down.
func (s *Server) Drain() { s.draining.Store(true) }

func ipExtractor(cidrs []string) echo.IPExtractor {
	if len(cidrs) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, c := range cidrs {
		if _, n, err := net.ParseCIDR(c); err == nil {
			opts = append(opts, echo.TrustIPRange(n))
		}
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

package webhooks

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/replayhook/replayhook/drift"

	"github.com/sirupsen/logrus"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/logjson"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/autoplay"
)

// benchServer builds a Server like newHarness does (which needs a
// *testing.T), with bounds large enough for maxUsers and logs discarded.
func benchServer(b *testing.B, maxUsers int) (*Server, index.UserIndex, providers.Signer) {
	b.Helper()
	cfg := config.Default()
	cfg.Server.MaxBodyBytes = 64 << 10
	cfg.Index.MaxUsers = maxUsers
	cfg.Index.MaxSessionsPerUser = 3
	cfg.Activity.MaxSessions = maxUsers
	cfg.Dedupe.MaxKeys = maxUsers
	cfg.Auth.Tokens = []config.Token{{Name: "chat", Token: tokChat, Products: []string{"*"}}}
	log := logrus.New() // formatted as main does, then discarded
	log.SetOutput(io.Discard)
	log.SetFormatter(&logjson.Formatter{TimestampFormat: time.RFC3339Nano})
	ap, err := autoplay.New(providers.Settings{Secrets: []string{secretNew}})
	if err != nil {
		b.Fatal(err)
	}
	clk := &clock{t: T0}
	users := index.NewMemoryUsers(index.UserLimits{Lookback: cfg.Index.Lookback(), MaxSessionsPerUser: cfg.Index.MaxSessionsPerUser, MaxUsers: cfg.Index.MaxUsers})
	// The observers main wires: Prometheus metrics and the drift tracker.
	metrics := NewMetrics(MetricsOptions{Sources: []string{"autoplay"}, Now: clk.Now})
	drift := drift.NewMemory(drift.Limits{MaxLookupMisses: 1000, MaxConflicts: 1000, MaxKnownIDs: 10000, MaxExamples: 5},
		[]drift.Source{{Name: "autoplay", Provider: "autoplay", ProductID: "prod_demo"}})
	drift.Reset(T0)
	deps := Deps{
		Config:   &cfg,
		Sources:  map[string]*Source{"autoplay": {Name: "autoplay", ProviderName: "autoplay", ProductID: "prod_demo", Provider: ap}},
		Users:    users,
		Activity: index.NewMemoryActivity(cfg.Activity.MaxSessions, cfg.Activity.MaxActionsPerSession),
		Dedupe:   index.NewMemoryDedupe(cfg.Dedupe.MaxKeys, cfg.Dedupe.Window()),
		Aliases:  index.NewMemoryAliases(1000, time.Hour),
		Metrics:  metrics,
		Drift:    drift,
		Log:      log,
		Now:      clk.Now,
	}
	return New(deps), users, ap.(providers.Signer)
}

// benchBody is a ~1.5 KB autoplay actions payload with 5 actions for the
// given session and user (the reference delivery).
func benchBody(session, user string) []byte {
	return payloadSpec{product: "prod_demo", session: session, user: user, email: user + "@example.com", ts: T0.Add(-time.Second),
		actions: []string{
			"pageview|Landed on the pricing page of the shop, comparing the Pro and Team plans|https://shop.example.com/pricing",
			"click|Clicked the 'Start free trial' button in the Team plan column|https://shop.example.com/pricing",
			"input|Typed a company name into the signup form's organisation field|https://shop.example.com/signup",
			"click|Clicked 'Create account' at the bottom of the signup form|https://shop.example.com/signup",
			"pageview|Opened the onboarding checklist on the dashboard after signup|https://shop.example.com/app/onboarding",
		}}.body()
}

// BenchmarkIngestHandler is one signed autoplay delivery (≈1.5 KB, 5
// actions, a new session each iteration) through the whole Echo stack:
// request id, access log (formatted, discarded), back-pressure, verify,
// parse, validate, dedupe, index, metrics and drift observers, response.
// Bodies and signatures are made before the timer starts, so the figure is
// the server's cost alone.
func BenchmarkIngestHandler(b *testing.B) {
	srv, _, signer := benchServer(b, 1_000_000)
	h := srv.Handler()
	// A ring of distinct deliveries, each a new session; past the ring the
	// deliveries repeat and would be duplicates, so the ring is as long as
	// the benchmark (capped: beyond it the figure includes duplicates).
	type delivery struct {
		body   []byte
		header http.Header
	}
	n := min(max(b.N, 1), 200_000)
	ring := make([]delivery, n)
	for i := range ring {
		body := benchBody("sess_"+strconv.Itoa(i), "user_"+strconv.Itoa(i%100_000))
		ring[i] = delivery{body: body, header: http.Header(signer.Sign(body, secretNew, T0))}
	}
	req := httptest.NewRequest(http.MethodPost, "/webhooks/autoplay", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		d := ring[i%n]
		r := req.Clone(context.Background())
		r.Header = d.header
		r.Body = io.NopCloser(bytes.NewReader(d.body))
		r.ContentLength = int64(len(d.body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkUserLookup is GET /v1/users/{id} and /activity through the whole
// Echo stack with n users indexed (one session each, linked directly).
func BenchmarkUserLookup(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			srv, users, signer := benchServer(b, n)
			h := srv.Handler()
			ctx := context.Background()
			for i := range n {
				_ = users.Link(ctx, "user_"+strconv.Itoa(i), "", index.SessionRef{SessionID: "pre_" + strconv.Itoa(i), ProductID: "prod_demo", LastSeenAt: float64(T0.Add(-time.Minute).Unix())}, T0)
			}
			// A few users also have stored activity, so /activity renders text.
			for i := range 100 {
				body := benchBody("sess_"+strconv.Itoa(i), "user_"+strconv.Itoa(i))
				req := httptest.NewRequest(http.MethodPost, "/webhooks/autoplay", bytes.NewReader(body))
				for k, v := range signer.Sign(body, secretNew, T0) {
					req.Header[k] = v
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
			for _, path := range []string{"", "/activity"} {
				name := "user"
				if path != "" {
					name = "activity"
				}
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						// Users spread over the whole index (the first 100
						// also have activity, so /activity renders text).
						u := i % 100
						if path == "" {
							u = (i * 7919) % n
						}
						req := httptest.NewRequest(http.MethodGet, "/v1/users/user_"+strconv.Itoa(u)+path, nil)
						req.Header.Set("Authorization", "Bearer "+tokChat)
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, req)
						if rec.Code != http.StatusOK {
							b.Fatalf("GET %s: status %d: %s", req.URL, rec.Code, rec.Body)
						}
						i++
					}
				})
			}
		})
	}
}

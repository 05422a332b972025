package webhooks

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/autoplay"
)

// Test tokens: chat reads everything, scoped only prod_demo, other only prod_other.
const (
	tokChat   = "chat-token-0123456789"
	tokScoped = "scoped-token-0123456789"
	tokOther  = "other-token-0123456789"
	secretOld = "old-connector-secret"
	secretNew = "new-connector-secret"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// T0 is the fixtures' day: 2025-03-14 09:45 UTC.
var T0 = time.Date(2025, 3, 14, 9, 45, 0, 0, time.UTC)

type harness struct {
	t      *testing.T
	srv    *Server
	clock  *clock
	users  index.UserIndex
	act    index.ActivityStore
	dedupe index.Deduper
	logs   *bytes.Buffer
	cfg    *config.Config
	signer providers.Signer
}

type option func(*config.Config, *Deps)

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	cfg := config.Default()
	cfg.Server.MaxBodyBytes = 64 << 10
	cfg.Index.MaxSessionsPerUser = 3
	cfg.Auth.Tokens = []config.Token{
		{Name: "chat", Token: tokChat, Products: []string{"*"}},
		{Name: "scoped", Token: tokScoped, Products: []string{"prod_demo"}},
		{Name: "other", Token: tokOther, Products: []string{"prod_other"}},
	}
	clk := &clock{t: T0}
	logs := &bytes.Buffer{}
	log := logrus.New()
	log.SetOutput(&syncWriter{w: logs})
	log.SetFormatter(&logrus.JSONFormatter{})
	deps := Deps{Config: &cfg, Log: log, Now: clk.Now}
	for _, o := range opts {
		o(&cfg, &deps)
	}
	ap, err := autoplay.New(providers.Settings{Secrets: []string{secretOld, secretNew}})
	if err != nil {
		t.Fatal(err)
	}
	if deps.Sources == nil {
		deps.Sources = map[string]*Source{
			"autoplay": {Name: "autoplay", ProviderName: "autoplay", ProductID: "prod_demo", Provider: ap},
			"open":     {Name: "open", ProviderName: "autoplay", Provider: ap},
		}
	}
	if deps.Users == nil {
		deps.Users = index.NewMemoryUsers(index.UserLimits{Lookback: cfg.Index.Lookback(), MaxSessionsPerUser: cfg.Index.MaxSessionsPerUser, MaxUsers: cfg.Index.MaxUsers})
	}
	if deps.Activity == nil {
		deps.Activity = index.NewMemoryActivity(cfg.Activity.MaxSessions, cfg.Activity.MaxActionsPerSession)
	}
	if deps.Dedupe == nil {
		deps.Dedupe = index.NewMemoryDedupe(cfg.Dedupe.MaxKeys, cfg.Dedupe.Window())
	}
	if deps.Aliases == nil {
		deps.Aliases = index.NewMemoryAliases(1000, time.Hour)
	}
	h := &harness{t: t, clock: clk, users: deps.Users, act: deps.Activity, dedupe: deps.Dedupe, logs: logs, cfg: &cfg, signer: ap.(providers.Signer)}
	h.srv = New(deps)
	return h
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// sign returns the connector's headers for body signed with secret.
func sign(body []byte, secret string) http.Header {
	p, _ := autoplay.New(providers.Settings{Secrets: []string{"unused"}})
	return p.(providers.Signer).Sign(body, secret, T0)
}

// do sends a request through the full Echo stack.
func (h *harness) do(method, target string, body []byte, header http.Header) *httptest.ResponseRecorder {
	h.t.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// post signs body with secret as the connector would and posts it to source.
func (h *harness) post(source string, body []byte) *httptest.ResponseRecorder {
	return h.do(http.MethodPost, "/webhooks/"+source, body, h.signer.Sign(body, secretNew, h.clock.Now()))
}

func (h *harness) get(target, token string) *httptest.ResponseRecorder {
	hdr := http.Header{}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	return h.do(http.MethodGet, target, nil, hdr)
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("response %d is not JSON: %v\n%s", rec.Code, err, rec.Body)
	}
	return v
}

// act builds an actions payload body. ts is the event time of every action.
type payloadSpec struct {
	product, session, user, email string
	ts                            time.Time
	actions                       []string // "type:description:url"
}

func (p payloadSpec) body() []byte {
	acts := []map[string]any{}
	for i, a := range p.actions {
		parts := strings.SplitN(a, "|", 3)
		for len(parts) < 3 {
			parts = append(parts, "")
		}
		acts = append(acts, map[string]any{
			"index": i, "type": parts[0], "title": "t", "description": parts[1],
			"timestamp_start": normalize.UnixSeconds(p.ts), "timestamp_end": normalize.UnixSeconds(p.ts),
			"raw_url": parts[2] + "?q=1", "canonical_url": parts[2],
		})
	}
	m := map[string]any{
		"type": "actions", "product_id": p.product, "session_id": p.session, "user_id": p.user, "email": p.email,
		"count": len(acts), "forwarded_at": normalize.UnixSeconds(p.ts), "actions": acts,
	}
	b, _ := json.Marshal(m)
	return b
}

// failingActivity fails every write while fail is set.
type failingActivity struct {
	index.ActivityStore
	mu   sync.Mutex
	fail bool
}

func (f *failingActivity) AddActions(ctx context.Context, k index.SessionKey, p *normalize.ActionsPayload, at float64) error {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return errors.Join(index.ErrUnavailable, errors.New("disk on fire"))
	}
	return f.ActivityStore.AddActions(ctx, k, p, at)
}

func basic(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

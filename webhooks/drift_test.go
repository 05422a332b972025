package webhooks

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/drift"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/autoplay"
)

// anonProvider is the Autoplay provider plus a top-level "anonymous_id",
// standing in for vendors that send one next to the user id (Segment,
// rrweb recorders).
type anonProvider struct{ providers.Provider }

func (a anonProvider) Parse(req *providers.Request) (*providers.Delivery, error) {
	d, err := a.Provider.Parse(req)
	if err != nil {
		return nil, err
	}
	var extra struct {
		AnonymousID string `json:"anonymous_id"`
	}
	_ = json.Unmarshal(req.Body, &extra)
	for i := range d.Payloads {
		d.Payloads[i].AnonymousID = extra.AnonymousID
	}
	return d, nil
}

// withDrift wires a drift.Memory the way app does (as Deps.Drift, which the
// server also observes with) over three sources: "autoplay" (product prod_demo), "open" (no
// product) and "anon" (prod_demo, payloads may carry an anonymous_id). The
// window starts at T0.
func withDrift(out **drift.Memory) option {
	return func(cfg *config.Config, deps *Deps) {
		ap, err := autoplay.New(providers.Settings{Secrets: []string{secretOld, secretNew}})
		if err != nil {
			panic(err)
		}
		deps.Sources = map[string]*Source{
			"autoplay": {Name: "autoplay", ProviderName: "autoplay", ProductID: "prod_demo", Provider: ap},
			"open":     {Name: "open", ProviderName: "autoplay", Provider: ap},
			"anon":     {Name: "anon", ProviderName: "segment", ProductID: "prod_demo", Provider: anonProvider{ap}},
		}
		var srcs []drift.Source
		for _, s := range deps.Sources {
			srcs = append(srcs, drift.Source{Name: s.Name, Provider: s.ProviderName, ProductID: s.ProductID})
		}
		d := drift.NewMemory(drift.Limits{
			MaxLookupMisses: cfg.Drift.MaxLookupMisses, MaxConflicts: cfg.Drift.MaxConflicts,
			MaxKnownIDs: cfg.Drift.MaxKnownIDs, MaxExamples: cfg.Drift.MaxExamples,
		}, srcs)
		d.Reset(T0)
		deps.Drift = d
		*out = d
	}
}

// driftScenario sends deliveries and lookups producing every kind of drift.
func driftScenario(t *testing.T, h *harness) {
	t.Helper()
	accepted := func(source string, body []byte, status string) {
		t.Helper()
		rec := h.post(source, body)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"status":"`+status+`"`) {
			t.Fatalf("POST /webhooks/%s = %d %s, want %s", source, rec.Code, rec.Body, status)
		}
	}
	act := []string{"click|Place order|https://shop.example.com/checkout"}
	first := payloadSpec{session: "s1", user: "usr_48213", email: "Dana.Whitfield@example.com", ts: T0, actions: act}.body()
	noUser := payloadSpec{session: "s2", ts: T0, actions: act}.body()
	accepted("autoplay", first, "accepted")
	accepted("autoplay", noUser, "accepted")
	accepted("autoplay", payloadSpec{session: "s3", user: "anon_7f3a", ts: T0, actions: act}.body(), "accepted")
	accepted("autoplay", payloadSpec{session: "s3", user: "usr_48213", ts: T0, actions: act}.body(), "accepted")
	accepted("autoplay", payloadSpec{session: "s4", user: "auth0|48213", email: "dana.whitfield@example.com", ts: T0, actions: act}.body(), "accepted")
	accepted("autoplay", payloadSpec{session: "s5", user: "usr_late", ts: T0.Add(-time.Hour), actions: act}.body(), "accepted")
	accepted("autoplay", payloadSpec{session: "s6", user: "acme 55", ts: T0, actions: act}.body(), "accepted")
	accepted("autoplay", first, "duplicate")
	accepted("autoplay", []byte(`{"type":"ping"}`), "ignored")
	if rec := h.do(http.MethodPost, "/webhooks/autoplay", noUser, sign(noUser, "wrong-secret")); rec.Code != http.StatusUnauthorized {
		t.Fatalf("bad signature = %d", rec.Code)
	}
	if rec := h.post("autoplay", []byte(`not json`)); rec.Code != http.StatusBadRequest {
		t.Fatalf("malformed = %d %s", rec.Code, rec.Body)
	}
	accepted("open", payloadSpec{product: "prod_other", session: "s7", ts: T0, actions: act}.body(), "accepted")
	accepted("open", payloadSpec{product: "prod_other", session: "s8", user: "U_9", ts: T0, actions: act}.body(), "accepted")
	withAnon := strings.Replace(string(payloadSpec{session: "s9", user: "usr_9", ts: T0, actions: act}.body()), "{", `{"anonymous_id":"ph_anon_1",`, 1)
	accepted("anon", []byte(withAnon), "accepted")
	if rec := h.post("nope", noUser); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown source = %d", rec.Code)
	}

	lookups := []struct {
		id  string
		hit bool
	}{
		{"usr_48213", true}, {"USR_48213", false}, {"USR_48213", false}, {"48213", false},
		{"dana.whitfield@example.com", false}, {"acme55", false}, {"ph_anon_1", false},
		{"nobody", false}, {"nobody", false}, {"nobody", false}, {"9", false},
	}
	for _, l := range lookups {
		rec := h.get("/v1/users/"+url.PathEscape(l.id), tokChat)
		var u UserResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &u); err != nil || rec.Code != http.StatusOK || (len(u.Sessions) > 0) != l.hit {
			t.Fatalf("lookup %q = %d %s, want hit=%v", l.id, rec.Code, rec.Body, l.hit)
		}
	}
	h.clock.Add(10 * time.Minute)
}

func at(d time.Duration) time.Time { return T0.Add(d) }

// TestDriftEndToEnd sends deliveries producing every kind of drift through
// the real handlers, then checks GET /v1/drift field by field, per token
// scope, with ?limit=, and DELETE /v1/drift.
func TestDriftEndToEnd(t *testing.T) {
	var d *drift.Memory
	h := newHarness(t, withDrift(&d))
	driftScenario(t, h)

	rec := h.get("/v1/drift", tokChat)
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /v1/drift = %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &keys); err != nil {
		t.Fatal(err)
	}
	gotKeys := make([]string, 0, len(keys))
	for k := range keys {
		gotKeys = append(gotKeys, k)
	}
	slices.Sort(gotKeys)
	if want := []string{"email_conflicts", "generated_at", "lookup_misses", "session_conflicts", "sources", "totals", "window_seconds"}; !slices.Equal(gotKeys, want) {
		t.Errorf("top-level keys = %v, want %v", gotKeys, want)
	}

	got := decode[drift.Report](t, rec)
	none := map[string]int64{}
	want := drift.Report{
		GeneratedAt: at(10 * time.Minute), WindowSeconds: 600,
		Totals: drift.Totals{Deliveries: 15, Payloads: 10, MissingUserID: 2, Lookups: 11, LookupMisses: 10},
		Sources: []drift.SourceReport{
			{Source: "open", Provider: "autoplay", ProductID: "", Deliveries: 2, Payloads: 2, MissingUserID: 1, MissingUserIDRatio: 0.5,
				Rejected: none, Examples: []drift.Example{{SessionID: "s7", At: T0}}, LateExamples: []drift.Example{}},
			{Source: "autoplay", Provider: "autoplay", ProductID: "prod_demo", Deliveries: 11, Payloads: 7, MissingUserID: 1, MissingUserIDRatio: 0.1429,
				Late: 1, Rejected: map[string]int64{"invalid_signature": 1, "malformed_json": 1}, Examples: []drift.Example{{SessionID: "s2", At: T0}},
				LateExamples: []drift.Example{{SessionID: "s5", At: T0}}},
			{Source: drift.UnknownSource, Provider: "", ProductID: "", Deliveries: 1, Rejected: map[string]int64{"unknown_source": 1}, Examples: []drift.Example{}, LateExamples: []drift.Example{}},
			{Source: "anon", Provider: "segment", ProductID: "prod_demo", Deliveries: 1, Payloads: 1, Rejected: none, Examples: []drift.Example{}, LateExamples: []drift.Example{}},
		},
		LookupMisses: []drift.Miss{
			{UserID: "nobody", Count: 3, LastAt: T0, Candidates: []drift.Candidate{}},
			{UserID: "USR_48213", Count: 2, LastAt: T0, Candidates: []drift.Candidate{{UserID: "usr_48213", Reason: "case"}, {UserID: "auth0|48213", Reason: "prefix"}}},
			{UserID: "48213", Count: 1, LastAt: T0, Candidates: []drift.Candidate{{UserID: "usr_48213", Reason: "prefix"}, {UserID: "auth0|48213", Reason: "prefix"}}},
			{UserID: "9", Count: 1, LastAt: T0, Candidates: []drift.Candidate{{UserID: "U_9", Reason: "prefix"}, {UserID: "usr_9", Reason: "prefix"}}},
			{UserID: "acme55", Count: 1, LastAt: T0, Candidates: []drift.Candidate{{UserID: "acme 55", Reason: "whitespace"}}},
			{UserID: "dana.whitfield@example.com", Count: 1, LastAt: T0, Candidates: []drift.Candidate{{UserID: "usr_48213", Reason: "email"}, {UserID: "auth0|48213", Reason: "email"}}},
			{UserID: "ph_anon_1", Count: 1, LastAt: T0, Candidates: []drift.Candidate{{UserID: "usr_9", Reason: "anonymous_id"}}},
		},
		SessionConflicts: []drift.SessionConflict{{ProductID: "prod_demo", SessionID: "s3", UserIDs: []string{"anon_7f3a", "usr_48213"}}},
		EmailConflicts:   []drift.EmailConflict{{Email: "Dana.Whitfield@example.com", UserIDs: []string{"usr_48213", "auth0|48213"}}},
	}
	if got.GeneratedAt != want.GeneratedAt || got.WindowSeconds != want.WindowSeconds {
		t.Errorf("generated_at, window_seconds = %v, %d; want %v, %d", got.GeneratedAt, got.WindowSeconds, want.GeneratedAt, want.WindowSeconds)
	}
	if got.Totals != want.Totals {
		t.Errorf("totals = %+v\nwant %+v", got.Totals, want.Totals)
	}
	if len(got.Sources) != len(want.Sources) {
		t.Errorf("sources = %+v", got.Sources)
	}
	for i := range min(len(got.Sources), len(want.Sources)) {
		if !reflect.DeepEqual(got.Sources[i], want.Sources[i]) {
			t.Errorf("sources[%d] = %+v\nwant %+v", i, got.Sources[i], want.Sources[i])
		}
	}
	if len(got.LookupMisses) != len(want.LookupMisses) {
		t.Errorf("lookup_misses = %+v", got.LookupMisses)
	}
	for i := range min(len(got.LookupMisses), len(want.LookupMisses)) {
		if !reflect.DeepEqual(got.LookupMisses[i], want.LookupMisses[i]) {
			t.Errorf("lookup_misses[%d] = %+v\nwant %+v", i, got.LookupMisses[i], want.LookupMisses[i])
		}
	}
	if !reflect.DeepEqual(got.SessionConflicts, want.SessionConflicts) {
		t.Errorf("session_conflicts = %+v\nwant %+v", got.SessionConflicts, want.SessionConflicts)
	}
	if !reflect.DeepEqual(got.EmailConflicts, want.EmailConflicts) {
		t.Errorf("email_conflicts = %+v\nwant %+v", got.EmailConflicts, want.EmailConflicts)
	}

	t.Run("scoped to prod_demo", func(t *testing.T) {
		got := decode[drift.Report](t, h.get("/v1/drift", tokScoped))
		want := drift.Report{
			GeneratedAt: at(10 * time.Minute), WindowSeconds: 600,
			Totals:           drift.Totals{Deliveries: 12, Payloads: 8, MissingUserID: 1},
			Sources:          []drift.SourceReport{want.Sources[1], want.Sources[3]},
			LookupMisses:     []drift.Miss{},
			SessionConflicts: want.SessionConflicts,
			EmailConflicts:   want.EmailConflicts,
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("prod_demo report =\n%+v\nwant\n%+v", got, want)
		}
	})
	t.Run("scoped to prod_other", func(t *testing.T) {
		got := decode[drift.Report](t, h.get("/v1/drift", tokOther))
		want := drift.Report{
			GeneratedAt: at(10 * time.Minute), WindowSeconds: 600,
			Totals: drift.Totals{Payloads: 2, MissingUserID: 1},
			Sources: []drift.SourceReport{{Source: "open", Provider: "autoplay", ProductID: "prod_other", Payloads: 2, MissingUserID: 1,
				MissingUserIDRatio: 0.5, Rejected: none, Examples: []drift.Example{{SessionID: "s7", At: T0}}, LateExamples: []drift.Example{}}},
			LookupMisses: []drift.Miss{}, SessionConflicts: []drift.SessionConflict{}, EmailConflicts: []drift.EmailConflict{},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("prod_other report =\n%+v\nwant\n%+v", got, want)
		}
	})
	t.Run("limit", func(t *testing.T) {
		got := decode[drift.Report](t, h.get("/v1/drift?limit=1", tokChat))
		if len(got.Sources) != 1 || got.Sources[0].Source != "open" || len(got.LookupMisses) != 1 || got.LookupMisses[0].UserID != "nobody" ||
			len(got.SessionConflicts) != 1 || len(got.EmailConflicts) != 1 || got.Totals != want.Totals {
			t.Errorf("limit=1 report = %+v", got)
		}
		for _, bad := range []string{"0", "-1", "x", "10001"} {
			if rec := h.get("/v1/drift?limit="+bad, tokChat); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), CodeInvalidParameter) {
				t.Errorf("limit=%s = %d %s", bad, rec.Code, rec.Body)
			}
		}
	})
	t.Run("auth", func(t *testing.T) {
		for _, target := range []string{"/v1/drift", "/drift"} {
			if rec := h.get(target, ""); rec.Code != http.StatusUnauthorized {
				t.Errorf("GET %s without a token = %d", target, rec.Code)
			}
			if rec := h.get(target, "wrong-token-0123456789"); rec.Code != http.StatusUnauthorized {
				t.Errorf("GET %s with a wrong token = %d", target, rec.Code)
			}
		}
	})
	t.Run("reset", func(t *testing.T) {
		if rec := h.do(http.MethodDelete, "/v1/drift", nil, http.Header{"Authorization": {"Bearer " + tokScoped}}); rec.Code != http.StatusForbidden {
			t.Errorf("DELETE with a scoped token = %d %s", rec.Code, rec.Body)
		}
		if rec := h.do(http.MethodDelete, "/v1/drift", nil, http.Header{"Authorization": {"Bearer " + tokChat}}); rec.Code != http.StatusNoContent {
			t.Fatalf("DELETE = %d %s", rec.Code, rec.Body)
		}
		h.clock.Add(30 * time.Second)
		got := decode[drift.Report](t, h.get("/v1/drift", tokChat))
		if got.WindowSeconds != 30 || got.Totals != (drift.Totals{}) || len(got.LookupMisses)+len(got.SessionConflicts)+len(got.EmailConflicts) != 0 {
			t.Errorf("after reset: %+v", got)
		}
		if len(got.Sources) != 3 {
			t.Errorf("after reset the configured sources stay listed, got %+v", got.Sources)
		}
		// Known ids survive the reset: a new miss is still explained.
		h.get("/v1/users/USR_48213", tokChat)
		got = decode[drift.Report](t, h.get("/v1/drift", tokChat))
		if len(got.LookupMisses) != 1 || !reflect.DeepEqual(got.LookupMisses[0].Candidates, want.LookupMisses[1].Candidates) {
			t.Errorf("miss after reset = %+v", got.LookupMisses)
		}
		if life := d.Totals(); life.Deliveries != 15 || life.Lookups != 12 || life.LookupMisses != 11 {
			t.Errorf("lifetime totals = %+v", life)
		}
	})
}

func TestDriftDisabled(t *testing.T) {
	h := newHarness(t)
	for _, target := range []string{"/v1/drift", "/drift"} {
		if rec := h.get(target, tokChat); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "not enabled") {
			t.Errorf("GET %s without a tracker = %d %s", target, rec.Code, rec.Body)
		}
	}
}

// TestDriftPage checks the page's verdict, sections, masking, escaping,
// scope and headers (the browser test renders it for real).
func TestDriftPage(t *testing.T) {
	var d *drift.Memory
	h := newHarness(t, withDrift(&d))
	driftScenario(t, h)
	// A hostile id must come out escaped.
	h.get("/v1/users/"+url.PathEscape(`<script>alert(1)</script>`), tokChat)

	rec := h.get("/drift", tokChat)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /drift = %d %v", rec.Code, rec.Header())
	}
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "style-src 'sha256-") {
		t.Errorf("CSP = %q", csp)
	}
	page := rec.Body.String()
	text := pageText(page)
	for _, want := range []string{
		"50% of open payloads carry no user_id (and 1 more source); 11 chat lookups missed, 7 of them match a known user (2 by case, 2 once a prefix is removed, 1 but for white space, 1 by email, 1 through an anonymous id).",
		"Payloads without a user_id", "Autoplay connector: identify the user", "posthog.identify(userId)",
		"Lookups that differ from a known user id only in case", "Lower-case ids on one side",
		"Lookups that match a known user id once a prefix is removed",
		"Lookups that differ from a known user id only by white space",
		"Lookups by email", "Lookups with an anonymous id", "Lookups that match no known user",
		"Sessions that carry more than one user_id", "anon_7f3a → usr_48213",
		"Emails on several user ids", "D***@example.com",
		"Rejected deliveries", "invalid_signature", "The signing secret differs",
		"Late events", "1 of 7", "Recent late sessions",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("page text lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>") || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("a hostile id is not escaped")
	}
	if strings.Contains(text, "ana.whitfield@example.com") {
		t.Errorf("an email is shown unmasked by default")
	}
	if !strings.Contains(text, "d***@example.com") {
		t.Errorf("a lookup id that is an email is not shown masked")
	}
	if text := pageText(h.get("/drift?show_emails=1", tokChat).Body.String()); !strings.Contains(text, "Dana.Whitfield@example.com") {
		t.Errorf("show_emails=1 does not show emails")
	}
	if text := pageText(h.get("/drift?limit=1", tokChat).Body.String()); !strings.Contains(text, "1 more not shown") {
		t.Errorf("limit=1 does not say rows were left out")
	}

	// A token for prod_other sees its source only: no lookups, no conflicts of prod_demo.
	other := pageText(h.get("/drift", tokOther).Body.String())
	if !strings.Contains(other, "50% of open payloads carry no user_id.") || strings.Contains(other, "Lookups") ||
		strings.Contains(other, "s3") || strings.Contains(other, "Recent rejected deliveries") {
		t.Errorf("prod_other page:\n%s", other)
	}

	// Basic auth with the token as password, as a browser sends it.
	rec = h.do(http.MethodGet, "/drift", nil, http.Header{"Authorization": {"Basic " + basic("anyone", tokChat)}})
	if rec.Code != http.StatusOK {
		t.Errorf("Basic auth = %d", rec.Code)
	}
	rec = h.get("/drift", "")
	if rec.Code != http.StatusUnauthorized || !slices.ContainsFunc(rec.Header().Values("WWW-Authenticate"), func(v string) bool { return strings.HasPrefix(v, "Basic ") }) {
		t.Errorf("no credentials = %d %v: the browser must be asked for Basic credentials", rec.Code, rec.Header())
	}
}

func TestDriftPageRecentRejections(t *testing.T) {
	var d *drift.Memory
	h := newHarness(t, withDrift(&d), func(_ *config.Config, deps *Deps) { deps.Rejected = index.NewMemoryRejected(10) })
	body := payloadSpec{session: "s1", ts: T0}.body()
	h.do(http.MethodPost, "/webhooks/autoplay", body, sign(body, "wrong-secret"))
	text := pageText(h.get("/drift", tokChat).Body.String())
	if !strings.Contains(text, "Recent rejected deliveries") || !strings.Contains(text, "does not match the body") {
		t.Errorf("recent rejections missing:\n%s", text)
	}
	if text := pageText(h.get("/drift", tokScoped).Body.String()); strings.Contains(text, "Recent rejected deliveries") {
		t.Errorf("a scoped token sees the rejected-delivery log")
	}
}

// pageText is the page's visible text, roughly: tags dropped, entities
// decoded, white space collapsed.
func pageText(page string) string {
	var b strings.Builder
	inTag, inStyle := false, false
	for i := 0; i < len(page); i++ {
		switch {
		case strings.HasPrefix(page[i:], "<style"):
			inStyle = true
		case strings.HasPrefix(page[i:], "</style>"):
			inStyle = false
		}
		switch c := page[i]; {
		case c == '<':
			inTag = true
			b.WriteByte(' ')
		case c == '>':
			inTag = false
		case !inTag && !inStyle:
			b.WriteByte(c)
		}
	}
	return strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
}

package webhooks

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func sessionIDs(u UserResponse) []string {
	out := []string{}
	for _, s := range u.Sessions {
		out = append(out, s.ProductID+"/"+s.SessionID)
	}
	return out
}

func TestLookupNewestFirstCappedAndExpired(t *testing.T) {
	h := newHarness(t) // max_sessions_per_user: 3, lookback 300 s
	for i, sess := range []string{"s1", "s2", "s3", "s4"} {
		p := dana
		p.session = sess
		p.ts = T0.Add(time.Duration(i-10) * time.Second)
		if rec := h.post("autoplay", p.body()); rec.Code != 200 {
			t.Fatal(rec.Body)
		}
	}
	u := decode[UserResponse](t, h.get("/v1/users/usr_48213", tokChat))
	if got := strings.Join(sessionIDs(u), ","); got != "prod_demo/s4,prod_demo/s3,prod_demo/s2" {
		t.Fatalf("newest first, capped at 3: %s", got)
	}
	if u.Email == nil || *u.Email != "dana.whitfield@example.com" {
		t.Fatalf("email: %v", u.Email)
	}
	if u.Sessions[0].LastSeenAt <= u.Sessions[1].LastSeenAt {
		t.Fatalf("last_seen_at not descending: %+v", u.Sessions)
	}
	h.clock.Add(301 * time.Second)
	u = decode[UserResponse](t, h.get("/v1/users/usr_48213", tokChat))
	if len(u.Sessions) != 0 || u.Email != nil {
		t.Fatalf("refs older than the lookback must be dropped on read: %+v", u)
	}
}

func TestOldAndFutureTimestamps(t *testing.T) {
	h := newHarness(t)
	old := dana
	old.session, old.ts = "old", T0.Add(-time.Hour)
	future := dana
	future.session, future.ts = "future", T0.Add(24*time.Hour)
	h.post("autoplay", old.body())
	h.post("autoplay", future.body())
	u := decode[UserResponse](t, h.get("/v1/users/usr_48213", tokChat))
	if got := strings.Join(sessionIDs(u), ","); got != "prod_demo/future" {
		t.Fatalf("a late event must not be linked, a future one is clamped: %s", got)
	}
	if u.Sessions[0].LastSeenAt > float64(T0.Unix()) {
		t.Fatalf("future timestamp not clamped to the server clock: %v", u.Sessions[0].LastSeenAt)
	}
	// The late session is still readable on the session path.
	if rec := h.get("/v1/sessions/old?product_id=prod_demo", tokChat); rec.Code != 200 {
		t.Fatalf("late activity must be stored for the session path: %d", rec.Code)
	}
	// And the future session does not outlive its real age.
	h.clock.Add(301 * time.Second)
	if u := decode[UserResponse](t, h.get("/v1/users/usr_48213", tokChat)); len(u.Sessions) != 0 {
		t.Fatalf("a future timestamp must not make a ref immortal: %+v", u)
	}
}

func TestSameSessionInTwoProductsAndTrimming(t *testing.T) {
	h := newHarness(t)
	a := dana
	a.product, a.session, a.user = "prod_a", "shared", "  usr_48213 "
	b := dana
	b.product, b.session = "prod_b", " shared"
	h.post("open", a.body())
	h.post("open", b.body())
	u := decode[UserResponse](t, h.get("/v1/users/%20usr_48213%20", tokChat))
	if len(u.Sessions) != 2 || u.UserID != "usr_48213" {
		t.Fatalf("one session id in two products is two refs, ids trimmed both ways: %+v", u)
	}
	filtered := decode[UserResponse](t, h.get("/v1/users/usr_48213?product_id=prod_b", tokChat))
	if got := strings.Join(sessionIDs(filtered), ","); got != "prod_b/shared" {
		t.Fatalf("product filter: %s", got)
	}
	// Case is kept: a different case is a different user (the drift report names it).
	if u := decode[UserResponse](t, h.get("/v1/users/USR_48213", tokChat)); len(u.Sessions) != 0 {
		t.Fatalf("case must be kept: %+v", u)
	}
}

func TestMissingUserStoresSessionWithoutLink(t *testing.T) {
	h := newHarness(t)
	anon := dana
	anon.user, anon.email, anon.session = "", "", "ps_anon"
	res := decode[IngestResult](t, h.post("autoplay", anon.body()))
	if res.MissingUserID != 1 {
		t.Fatalf("%+v", res)
	}
	if h.users.Len() != 0 {
		t.Fatalf("a payload without user_id created a user link")
	}
	s := decode[SessionResponse](t, h.get("/v1/sessions/ps_anon?product_id=prod_demo", tokChat))
	if s.UserID != nil || len(s.Actions) != 2 || !strings.HasPrefix(s.Activity, "Recent activity:\n1. [0] pageview: User landed on checkout — https://shop.example.com/checkout") {
		t.Fatalf("session path without a user: %+v", s)
	}
}

func TestUnknownUserIsEmptyAndAllocatesNothing(t *testing.T) {
	h := newHarness(t)
	h.post("autoplay", dana.body())
	before := h.users.Len()
	rec := h.get("/v1/users/nobody", tokChat)
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"user_id":"nobody","email":null,"sessions":[]}` {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	rec = h.get("/v1/users/nobody/activity", tokChat)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"activity":""`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if h.users.Len() != before {
		t.Fatalf("a read created an entry: %d → %d", before, h.users.Len())
	}
}

func TestForgetUser(t *testing.T) {
	h := newHarness(t)
	h.post("autoplay", dana.body())
	if rec := h.do(http.MethodDelete, "/v1/users/usr_48213", nil, http.Header{"Authorization": {"Bearer " + tokScoped}}); rec.Code != 403 {
		t.Fatalf("a product-scoped token must not forget a user globally: %d", rec.Code)
	}
	if rec := h.do(http.MethodDelete, "/v1/users/usr_48213", nil, http.Header{"Authorization": {"Bearer " + tokChat}}); rec.Code != 204 {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	u := decode[UserResponse](t, h.get("/v1/users/usr_48213", tokChat))
	if len(u.Sessions) != 0 || u.Email != nil {
		t.Fatalf("reset must forget refs and email: %+v", u)
	}
	// Erasure is everywhere: the session was theirs, it is gone too.
	if rec := h.get("/v1/sessions/ps_1?product_id=prod_demo", tokChat); rec.Code != 404 {
		t.Fatalf("session of an erased user: %d %s", rec.Code, rec.Body)
	}
}

func TestTokens(t *testing.T) {
	h := newHarness(t)
	h.post("autoplay", dana.body())
	tests := []struct {
		name, target, auth string
		status             int
	}{
		{"no token", "/v1/users/usr_48213", "", 401},
		{"wrong token", "/v1/users/usr_48213", "Bearer nope-nope-nope", 401},
		{"basic auth with token as password", "/v1/users/usr_48213", "Basic " + basic("x", tokChat), 200},
		{"scoped token in scope", "/v1/users/usr_48213?product_id=prod_demo", "Bearer " + tokScoped, 200},
		{"scoped token outside scope", "/v1/users/usr_48213?product_id=prod_x", "Bearer " + tokScoped, 403},
		{"session outside scope", "/v1/sessions/ps_1?product_id=prod_demo", "Bearer " + tokOther, 403},
		{"session of the only product of the token", "/v1/sessions/ps_1", "Bearer " + tokScoped, 200},
		{"session needs a product", "/v1/sessions/ps_1", "Bearer " + tokChat, 400},
		{"unknown session", "/v1/sessions/nope?product_id=prod_demo", "Bearer " + tokChat, 404},
		{"bad max_actions", "/v1/users/usr_48213/activity?max_actions=0", "Bearer " + tokChat, 400},
		{"bad lookback", "/v1/users/usr_48213/activity?lookback_seconds=x", "Bearer " + tokChat, 400},
		{"id too long", "/v1/users/" + strings.Repeat("u", 300), "Bearer " + tokChat, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{}
			if tt.auth != "" {
				hdr.Set("Authorization", tt.auth)
			}
			rec := h.do(http.MethodGet, tt.target, nil, hdr)
			if rec.Code != tt.status {
				t.Fatalf("%d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == 401 && decode[map[string]string](t, rec)["error"] != "unauthorized" {
				t.Fatalf("%s", rec.Body)
			}
		})
	}
	// A token limited to another product sees nothing of this user, not even the email.
	u := decode[UserResponse](t, h.get("/v1/users/usr_48213", tokOther))
	if len(u.Sessions) != 0 || u.Email != nil {
		t.Fatalf("scoped token saw another product's data: %+v", u)
	}
}

func TestActivityTextIsByteExact(t *testing.T) {
	h := newHarness(t)
	older := payloadSpec{product: "prod_demo", session: "s_old", user: "u1", ts: T0.Add(-60 * time.Second),
		actions: []string{"pageview|User landed on the main Dashboard page|https://app.example.com/dashboard"}}
	newer := payloadSpec{product: "prod_demo", session: "s_new", user: "u1", ts: T0.Add(-5 * time.Second),
		actions: []string{"click|User clicked Export CSV button|https://app.example.com/dashboard", "submit|User submitted the form|https://app.example.com/reports/:id"}}
	h.post("autoplay", older.body())
	h.post("autoplay", newer.body())
	h.post("autoplay", []byte(`{"type":"summary","product_id":"prod_demo","session_id":"s_new","summary":"Exported a CSV.","replaces":3,"forwarded_at":1741945000}`))

	want := "Session s_new (prod_demo):\n" +
		"Summary: Exported a CSV.\n\n" +
		"Recent activity:\n" +
		"1. [0] click: User clicked Export CSV button \u2014 https://app.example.com/dashboard\n" +
		"2. [1] submit: User submitted the form \u2014 https://app.example.com/reports/:id\n\n" +
		"Session s_old (prod_demo):\n" +
		"Recent activity:\n" +
		"1. [0] pageview: User landed on the main Dashboard page \u2014 https://app.example.com/dashboard"
	got := decode[UserActivityResponse](t, h.get("/v1/users/u1/activity", tokChat))
	if got.Activity != want {
		t.Fatalf("activity text:\n%q\nwant\n%q", got.Activity, want)
	}
	if len(got.Sessions) != 2 || len(got.Sessions[0].Actions) != 2 {
		t.Fatalf("sessions: %+v", got.Sessions)
	}
	// max_actions keeps the newest N; lookback_seconds narrows sessions and actions.
	got = decode[UserActivityResponse](t, h.get("/v1/users/u1/activity?max_actions=1&lookback_seconds=30", tokChat))
	wantNarrow := "Session s_new (prod_demo):\nSummary: Exported a CSV.\n\nRecent activity:\n1. [1] submit: User submitted the form \u2014 https://app.example.com/reports/:id"
	if got.Activity != wantNarrow {
		t.Fatalf("narrowed:\n%q\nwant\n%q", got.Activity, wantNarrow)
	}
	s := decode[SessionResponse](t, h.get("/v1/sessions/s_old?product_id=prod_demo", tokChat))
	if s.Activity != "Recent activity:\n1. [0] pageview: User landed on the main Dashboard page \u2014 https://app.example.com/dashboard" {
		t.Fatalf("session text %q", s.Activity)
	}
}

func TestOpsEndpointsAndErrors(t *testing.T) {
	h := newHarness(t)
	if rec := h.get("/livez", ""); rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	if rec := h.get("/readyz", ""); rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	h.srv.Drain()
	if rec := h.get("/readyz", ""); rec.Code != 503 {
		t.Fatalf("readyz must fail while draining: %d", rec.Code)
	}
	if rec := h.get("/livez", ""); rec.Code != 200 {
		t.Fatal("livez must stay up while draining")
	}
	if rec := h.get("/nope", ""); rec.Code != 404 || decode[map[string]string](t, rec)["error"] != "not_found" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if rec := h.do(http.MethodGet, "/webhooks/autoplay", nil, nil); rec.Code != 405 || decode[map[string]string](t, rec)["error"] != "method_not_allowed" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

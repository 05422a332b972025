package webhooks

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/amplitude"
	"github.com/replayhook/replayhook/providers/highlight"
	"github.com/replayhook/replayhook/providers/posthog"
	"github.com/replayhook/replayhook/providers/segment"
)

const vendorSecret = "vendor-secret-0123456789"

// vendorFixture reads a vendor package's fixture: the deliveries in the
// vendors' published format the provider tests use.
func vendorFixture(t *testing.T, vendor, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "providers", vendor, "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withVendors serves real vendor sources: posthog, segment (and
// segment-keep with honor_deletions: false), highlight with a URL token,
// with an hour of lookback so the fixtures' times link.
func withVendors(t *testing.T) option {
	return func(cfg *config.Config, d *Deps) {
		cfg.Index.LookbackSeconds = 3600
		src := func(name, provider string, f providers.Factory, s providers.Settings) *Source {
			s.Secrets = []string{vendorSecret}
			p, err := f(s)
			if err != nil {
				t.Fatal(err)
			}
			return &Source{Name: name, ProviderName: provider, Provider: p}
		}
		d.Sources = map[string]*Source{
			"posthog":      src("posthog", posthog.Name, posthog.New, providers.Settings{}),
			"segment":      src("segment", segment.Name, segment.New, providers.Settings{}),
			"segment-keep": src("segment-keep", segment.Name, segment.New, providers.Settings{IgnoreDeletions: true}),
			"highlight":    src("highlight", highlight.Name, highlight.New, providers.Settings{URLToken: true}),
			"amplitude":    src("amplitude", amplitude.Name, amplitude.New, providers.Settings{}),
		}
		d.Rejected = index.NewMemoryRejected(20)
	}
}

// send posts body to source as the vendor's real sender does (its Signer,
// plus the URL token when the source takes one).
func (h *harness) send(source string, body []byte) *httptest.ResponseRecorder {
	h.t.Helper()
	p := h.srv.deps.Sources[source].Provider
	target := "/webhooks/" + source
	if q := p.(providers.QuerySigner).SignQuery(vendorSecret); q != nil {
		target += "?" + q.Encode()
	}
	return h.do(http.MethodPost, target, body, p.(providers.Signer).Sign(body, vendorSecret, h.clock.Now()))
}

func wantAnswer(t *testing.T, rec *httptest.ResponseRecorder, want string) {
	t.Helper()
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != want {
		t.Fatalf("answer %d %s, want 200 %s", rec.Code, rec.Body, want)
	}
}

func userSessions(t *testing.T, h *harness, user string) []string {
	t.Helper()
	rec := h.get("/v1/users/"+user, tokChat)
	if rec.Code == http.StatusNotFound {
		return nil
	}
	return sessionIDs(decode[UserResponse](t, rec))
}

// An anonymous event in session S, then an identify naming S: the user
// lookup lists S at once, without waiting for the user's next event.
func TestIdentifyLinksTheSessionItNames(t *testing.T) {
	tests := []struct {
		vendor, source, anonymous, identify, session, identifyAnswer string
	}{
		{"posthog", "posthog", "webhook-destination-pageview-anonymous.json", "webhook-destination-identify.json", "01959371-6a02-7f4d-8e13-2b9c5d7e0f38",
			`{"status":"accepted","source":"posthog","payloads":0,"identities":2,"missing_user_id":0}`},
		{"segment", "segment", "page-anonymous.json", "identify-session.json", "1741944978000",
			`{"status":"accepted","source":"segment","payloads":0,"identities":2,"missing_user_id":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.vendor, func(t *testing.T) {
			h := newHarness(t, withVendors(t))
			wantAnswer(t, h.send(tt.source, vendorFixture(t, tt.vendor, tt.anonymous)),
				`{"status":"accepted","source":"`+tt.source+`","payloads":1,"identities":0,"missing_user_id":1}`)
			if got := userSessions(t, h, "usr_48213"); len(got) != 0 {
				t.Fatalf("before the identify the user has no sessions, got %v", got)
			}
			wantAnswer(t, h.send(tt.source, vendorFixture(t, tt.vendor, tt.identify)), tt.identifyAnswer)
			if got := userSessions(t, h, "usr_48213"); !slices.Equal(got, []string{"/" + tt.session}) {
				t.Fatalf("after the identify the user lookup lists %v, want the session %s", got, tt.session)
			}
			// The session's earlier anonymous activity is the user's.
			act := h.get("/v1/users/usr_48213/activity", tokChat)
			if act.Code != http.StatusOK || !strings.Contains(act.Body.String(), "Trail Runner 2") {
				t.Fatalf("activity %d %s", act.Code, act.Body)
			}
		})
	}
}

// readAPIs is every read API's answer about the user and their session.
func readAPIs(t *testing.T, h *harness, session string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, target := range []string{
		"/v1/users/usr_48213", "/v1/users/usr_48213/activity", "/v1/users/dana.whitfield@example.com",
		"/v1/sessions/" + session,
	} {
		rec := h.get(target, tokChat)
		out[target] = rec.Result().Status + " " + strings.ReplaceAll(rec.Body.String(), `"generated_at"`, "")
	}
	return out
}

// A Segment delete erases the user exactly as DELETE /v1/users/{id} does,
// whatever that covers, through every read API; honor_deletions: false
// keeps the user.
func TestSegmentDeleteErasesLikeTheAPI(t *testing.T) {
	const session = "1741944978000?product_id="
	setup := func(source string) *harness {
		h := newHarness(t, withVendors(t))
		for _, f := range []string{"page-anonymous.json", "identify-session.json", "track.json"} {
			if rec := h.send(source, vendorFixture(t, "segment", f)); rec.Code != http.StatusOK {
				t.Fatalf("%s: %d %s", f, rec.Code, rec.Body)
			}
		}
		if got := userSessions(t, h, "usr_48213"); len(got) != 1 {
			t.Fatalf("setup: user sessions %v", got)
		}
		for target, answer := range readAPIs(t, h, session) {
			if !strings.HasPrefix(answer, "200 ") && !strings.Contains(target, "@") {
				t.Fatalf("setup: %s answers %s", target, answer)
			}
		}
		return h
	}

	byVendor := setup("segment")
	wantAnswer(t, byVendor.send("segment", vendorFixture(t, "segment", "delete.json")),
		`{"status":"accepted","source":"segment","payloads":0,"identities":0,"erased":1,"missing_user_id":0}`)
	if got := userSessions(t, byVendor, "usr_48213"); len(got) != 0 {
		t.Fatalf("after the delete the user lookup lists %v", got)
	}

	byAPI := setup("segment")
	if rec := byAPI.do(http.MethodDelete, "/v1/users/usr_48213", nil, http.Header{"Authorization": {"Bearer " + tokChat}}); rec.Code != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", rec.Code, rec.Body)
	}
	gotVendor, gotAPI := readAPIs(t, byVendor, session), readAPIs(t, byAPI, session)
	for target, api := range gotAPI {
		if gotVendor[target] != api {
			t.Errorf("%s after a Segment delete:\n  %s\nafter DELETE /v1/users:\n  %s", target, gotVendor[target], api)
		}
	}

	kept := setup("segment-keep")
	rec := kept.send("segment-keep", vendorFixture(t, "segment", "delete.json"))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"status":"ignored"`) || !strings.Contains(rec.Body.String(), "honor_deletions: false") {
		t.Fatalf("honor_deletions false: %d %s", rec.Code, rec.Body)
	}
	if got := userSessions(t, kept, "usr_48213"); len(got) != 1 {
		t.Fatalf("honor_deletions false kept nothing: %v", got)
	}
}

// Highlight's sender sets no header: the secret comes as ?token=, and the
// token is never logged, kept in the rejected list or in metrics.
func TestHighlightURLToken(t *testing.T) {
	var m *Metrics
	h := newHarness(t, withVendors(t), withTestMetrics(&m))
	body := vendorFixture(t, "highlight", "new-session-alert.json")
	post := func(target string) *httptest.ResponseRecorder {
		return h.do(http.MethodPost, target, body, http.Header{"Content-Type": {"application/json"}})
	}
	if rec := post("/webhooks/highlight?token=" + vendorSecret); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"status":"accepted"`) {
		t.Fatalf("no headers, ?token=: %d %s", rec.Code, rec.Body)
	}
	const wrong = "wrong-token-value-987654"
	for _, target := range []string{"/webhooks/highlight", "/webhooks/highlight?token=" + wrong, "/webhooks/highlight?token=" + wrong + "&token=" + vendorSecret} {
		if rec := post(target); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "invalid_signature") {
			t.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
		}
	}
	// The same token on a source that did not opt in is refused.
	if rec := h.do(http.MethodPost, "/webhooks/segment?token="+vendorSecret, vendorFixture(t, "segment", "track.json"), nil); rec.Code != http.StatusUnauthorized {
		t.Fatalf("segment without url_token: %d %s", rec.Code, rec.Body)
	}
	rejected := h.get("/v1/deliveries/rejected", tokChat)
	metrics := h.get("/metrics", "")
	for what, text := range map[string]string{"access log": h.logs.String(), "rejected list": rejected.Body.String(), "metrics": metrics.Body.String()} {
		for _, secret := range []string{vendorSecret, wrong} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s holds %q", what, secret)
			}
		}
	}
	if !strings.Contains(rejected.Body.String(), "invalid_signature") {
		t.Fatalf("rejected list: %s", rejected.Body)
	}
}

// The answer counts what was stored and what was only used for identity:
// an Amplitude server-side event (session_id -1) stores nothing but links
// the device to the user.
func TestAnswerCountsIdentityOnlyDeliveries(t *testing.T) {
	h := newHarness(t, withVendors(t))
	body := []byte(`{"event_type":"Subscription Renewed","user_id":"usr_48213","device_id":"d7c3a1f2-8e4b-4a90-b6c5-3f2e1d0c9b8a",` +
		`"session_id":-1,"event_time":"2025-03-14 09:42:00.000000","insert_id":"srv-7f1c2b9a-0042","event_properties":{"plan":"pro"},` +
		`"library":"http/2.0","platform":null}`)
	wantAnswer(t, h.send("amplitude", body), `{"status":"accepted","source":"amplitude","payloads":0,"identities":1,"missing_user_id":0}`)
	wantAnswer(t, h.send("amplitude", vendorFixture(t, "amplitude", "element-clicked.json")),
		`{"status":"accepted","source":"amplitude","payloads":1,"identities":1,"missing_user_id":0}`)
}

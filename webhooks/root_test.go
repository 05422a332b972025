package webhooks

import (
	"net/http"
	"strings"
	"testing"
)

func TestRootDescribesTheService(t *testing.T) {
	h := newHarness(t)
	rec := h.get("/", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET / = %d: %s", rec.Code, rec.Body)
	}
	got := decode[RootInfo](t, rec)
	if got.Service != "replayhook" || got.Version == "" || got.Revision == "" {
		t.Fatalf("GET / = %+v", got)
	}
	for _, link := range []string{"livez", "readyz", "metrics", "api"} {
		if got.Links[link] == "" {
			t.Errorf("GET / has no %s link: %+v", link, got.Links)
		}
	}
	live := decode[map[string]string](t, h.get("/livez", ""))
	if live["status"] != "ok" || live["version"] != got.Version || live["revision"] != got.Revision {
		t.Fatalf("/livez = %v, want the build GET / reports", live)
	}
}

// TestOptionsIsNotServed: OPTIONS is a method no route has (405 with Allow,
// JSON error), on every kind of route.
func TestOptionsIsNotServed(t *testing.T) {
	h := newHarness(t)
	for target, allow := range map[string]string{
		"/webhooks/autoplay": "OPTIONS, POST",
		"/v1/users/usr_1":    "OPTIONS, GET, DELETE",
		"/livez":             "OPTIONS, GET, HEAD",
	} {
		rec := h.do(http.MethodOptions, target, nil, nil)
		if rec.Code != http.StatusMethodNotAllowed || !strings.Contains(rec.Body.String(), `"error":"method_not_allowed"`) {
			t.Errorf("OPTIONS %s = %d %s", target, rec.Code, rec.Body)
		}
		if got := rec.Header().Get("Allow"); !sameMethods(got, allow) {
			t.Errorf("OPTIONS %s: Allow %q, want the methods %q", target, got, allow)
		}
	}
}

func sameMethods(a, b string) bool {
	set := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, x := range strings.Split(s, ",") {
			if x = strings.TrimSpace(x); x != "OPTIONS" {
				m[x] = true
			}
		}
		return m
	}
	sa, sb := set(a), set(b)
	if len(sa) != len(sb) {
		return false
	}
	for k := range sa {
		if !sb[k] {
			return false
		}
	}
	return true
}

// TestErrorsNameBothProductsUnescaped: product_mismatch names the payload's
// product and the source's, and JSON keeps "<" and "&" as they are.
func TestErrorsNameBothProductsUnescaped(t *testing.T) {
	h := newHarness(t)
	body := []byte(`{"type":"actions","product_id":"<b>&evil","session_id":"s"}`)
	rec := h.post("autoplay", body)
	want := `{"error":"product_mismatch","message":"payload product_id \"<b>&evil\" differs from \"prod_demo\", the product configured for source \"autoplay\""}`
	if rec.Code != http.StatusUnprocessableEntity || strings.TrimSpace(rec.Body.String()) != want {
		t.Fatalf("got %d %s\nwant %s", rec.Code, rec.Body, want)
	}
	long := []byte(`{"type":"actions","product_id":"` + strings.Repeat("p", 200) + `","session_id":"s"}`)
	if rec := h.post("autoplay", long); strings.Count(rec.Body.String(), "p") > 120 {
		t.Fatalf("a long product id is clipped in the message: %s", rec.Body)
	}
}

func TestRouteLabel(t *testing.T) {
	m := NewMetrics(MetricsOptions{})
	for in, want := range map[string]string{
		"/v1/users/:user_id":          "/v1/users/{user_id}",
		"/v1/users/:user_id/activity": "/v1/users/{user_id}/activity",
		"/webhooks/:source":           "/webhooks/{source}",
		"/livez":                      "/livez",
		UnmatchedRoute:                UnmatchedRoute,
	} {
		if got := m.routeLabel(in); got != want {
			t.Errorf("routeLabel(%q) = %q, want %q", in, got, want)
		}
		if got := m.routeLabel(in); got != want { // cached
			t.Errorf("cached routeLabel(%q) = %q", in, got)
		}
	}
}

func TestBuildInfoMetric(t *testing.T) {
	m := NewMetrics(MetricsOptions{})
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "replayhook_build_info" {
			continue
		}
		labels := map[string]string{}
		for _, l := range f.GetMetric()[0].GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if f.GetMetric()[0].GetGauge().GetValue() != 1 || labels["version"] == "" || labels["revision"] == "" || !strings.HasPrefix(labels["goversion"], "go") {
			t.Fatalf("replayhook_build_info = %v", f)
		}
		return
	}
	t.Fatal("no replayhook_build_info metric")
}

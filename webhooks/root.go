package webhooks

import (
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/replayhook/replayhook/internal/buildinfo"
)

// RootInfo is what GET / answers: what this service is, which build, and
// where to go next.
type RootInfo struct {
	Service  string            `json:"service"`
	Version  string            `json:"version"`
	Revision string            `json:"revision"`
	Links    map[string]string `json:"links"`
}

// docsURL is where the documentation of this module lives.
const docsURL = "https://github.com/replayhook/replayhook/blob/main/"

// handleRoot answers GET / so that opening the base URL tells a person (or
// a probe) what answers here, instead of a bare 404.
func (s *Server) handleRoot(c echo.Context) error {
	return c.JSON(http.StatusOK, RootInfo{
		Service: "replayhook", Version: s.build.Version, Revision: s.build.Revision,
		Links: map[string]string{
			"api":        docsURL + "docs/openapi.yaml",
			"operations": docsURL + "docs/operations.md",
			"livez":      "/livez",
			"readyz":     "/readyz",
			"metrics":    "/metrics",
			"drift":      "/drift",
		},
	})
}

// refuseOptions answers OPTIONS with 405 and the route's Allow header, like
// every other method a route does not serve. The API is called by servers
// (vendors, the chat layer), never cross-origin from a browser, so there is
// no CORS preflight to answer; Echo would otherwise answer 204 on every
// route, an undocumented method.
func (s *Server) refuseOptions(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method != http.MethodOptions {
			return next(c)
		}
		if allow, ok := c.Get(echo.ContextKeyHeaderAllow).(string); ok && allow != "" {
			c.Response().Header().Set(echo.HeaderAllow, allow)
		}
		return apiErr(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method not allowed on this route")
	}
}

// plainJSON writes JSON answers without HTML escaping: "<" stays "<", not
// "\u003c" (answers are application/json, never HTML, and carry nosniff).
type plainJSON struct{ echo.DefaultJSONSerializer }

// Serialize writes i as JSON to the response.
func (plainJSON) Serialize(c echo.Context, i any, indent string) error {
	enc := json.NewEncoder(c.Response())
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	return enc.Encode(i)
}

// routeLabel writes an Echo route template as the OpenAPI path does:
// "/v1/users/:user_id" -> "/v1/users/{user_id}". Answers are cached per
// Metrics: route templates are a fixed set.
func (m *Metrics) routeLabel(route string) string {
	if !strings.Contains(route, ":") {
		return route
	}
	if v, ok := m.routeLabels.Load(route); ok {
		return v.(string)
	}
	parts := strings.Split(route, "/")
	for i, p := range parts {
		if name, ok := strings.CutPrefix(p, ":"); ok {
			parts[i] = "{" + name + "}"
		}
	}
	label := strings.Join(parts, "/")
	m.routeLabels.Store(route, label)
	return label
}

// buildInfoMetric is replayhook_build_info: always 1, labelled with the
// running build, so dashboards can show versions and mark deploys.
func buildInfoMetric(in buildinfo.Info) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "replayhook_build_info",
		Help: "Always 1; labelled with the version and VCS revision of the running build (as `replayhook version` prints).",
		ConstLabels: prometheus.Labels{
			"version": in.Version, "revision": in.Revision, "goversion": in.GoVersion,
		},
	})
	g.Set(1)
	return g
}

// clip shortens s to at most n bytes on a rune boundary, for quoting a
// client's value in a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

package webhooks

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/replayhook/replayhook/stream"
)

type fakeStats struct{}

func (fakeStats) Len() int          { return 1 }
func (fakeStats) Evictions() uint64 { return 0 }

// exportedMetrics gathers every metric family the server exports, with
// every optional part on (stores, snapshots), after one request so the
// labelled series exist, by name -> its label names.
func exportedMetrics(t *testing.T) map[string]map[string]bool {
	t.Helper()
	m := NewMetrics(MetricsOptions{
		Sources:    []string{"autoplay"},
		Stores:     []StoreMetric{{Name: "users", Stats: fakeStats{}, Capacity: 10}},
		SnapshotAt: func() time.Time { return time.Time{} },
	})
	newStreamMetrics(m, stream.New(stream.NewMemory(stream.MemoryLimits{Events: 1, MaxBytes: 1 << 10, Products: 1}, time.Now), stream.Options{MaxSubscribers: 1, MaxPerOwner: 1, SendQueue: 1}))
	m.Delivery("autoplay", "autoplay", "accepted")
	m.ObserveIngest("autoplay", time.Millisecond)
	m.ObserveRequest(http.MethodGet, "/livez", 200, time.Millisecond)
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	for _, f := range families {
		labels := map[string]bool{}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		names := []string{f.GetName()}
		switch {
		case f.GetType().String() == "HISTOGRAM":
			labels["le"] = true
			names = append(names, f.GetName()+"_bucket", f.GetName()+"_sum", f.GetName()+"_count")
		case f.GetType().String() == "SUMMARY":
			labels["quantile"] = true
			names = append(names, f.GetName()+"_sum", f.GetName()+"_count")
		}
		for _, n := range names {
			out[n] = labels
		}
	}
	// A gauge whose series exist only while someone subscribes: its name
	// and labels from its description.
	d := regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`).FindStringSubmatch(subscribersDesc.String())
	if d == nil {
		t.Fatalf("cannot read %s", subscribersDesc)
	}
	labels := map[string]bool{}
	for _, l := range strings.Split(d[2], ",") {
		labels[strings.TrimSpace(l)] = true
	}
	out[d[1]] = labels
	// Metrics other packages register on the same registry (app's disk
	// fault gauge, forwarding's counters): their names from the source;
	// labels unchecked (nil).
	for _, glob := range []string{"../app/*.go", "../forward/*.go"} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range regexp.MustCompile(`Name:\s*"(replayhook_[a-z0-9_]+)"`).FindAllStringSubmatch(string(src), -1) {
				for _, suffix := range []string{"", "_bucket", "_sum", "_count"} { // a histogram's series
					if _, ok := out[m[1]+suffix]; !ok {
						out[m[1]+suffix] = nil
					}
				}
			}
		}
	}
	return out
}

// metricRef is a metric name in a PromQL expression and its {...} matchers.
var metricRef = regexp.MustCompile(`\b((?:replayhook|go|process|promhttp)_[a-z0-9_]+)(\{[^}]*\})?`)
var matcherKey = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)

// checkExpr fails when expr names a metric the server does not export or
// matches on a label that metric does not have (job and instance come
// from Prometheus).
func checkExpr(t *testing.T, where, expr string, exported map[string]map[string]bool) int {
	t.Helper()
	refs := metricRef.FindAllStringSubmatch(expr, -1)
	for _, r := range refs {
		labels, ok := exported[r[1]]
		if !ok {
			t.Errorf("%s: %s is not a metric replayhook exports (expr %q)", where, r[1], expr)
			continue
		}
		for _, k := range matcherKey.FindAllStringSubmatch(r[2], -1) {
			if labels != nil && k[1] != "job" && k[1] != "instance" && !labels[k[1]] {
				t.Errorf("%s: %s has no label %q (expr %q)", where, r[1], k[1], expr)
			}
		}
	}
	return len(refs)
}

// TestDashboardUsesExportedMetrics: every expression of the Grafana
// dashboard names metrics and labels the server exports.
func TestDashboardUsesExportedMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	raw, err := os.ReadFile("../deploy/grafana/replayhook.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if s, ok := c.(string); ok && (k == "expr" || (k == "query" && strings.Contains(s, "("))) {
					exprs = append(exprs, s)
				}
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
	if len(exprs) < 10 {
		t.Fatalf("found only %d expressions in the dashboard", len(exprs))
	}
	used := map[string]bool{}
	for _, e := range exprs {
		if checkExpr(t, "dashboard", e, exported) == 0 {
			t.Errorf("dashboard expression names no replayhook metric: %q", e)
		}
		for _, r := range metricRef.FindAllStringSubmatch(e, -1) {
			used[strings.TrimSuffix(r[1], "_bucket")] = true
		}
	}
	// Every replayhook_* family has a panel.
	var missing []string
	for name := range exported {
		if strings.HasPrefix(name, "replayhook_") && exported[name] != nil && !strings.HasSuffix(name, "_bucket") && !strings.HasSuffix(name, "_sum") && !strings.HasSuffix(name, "_count") && !used[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("metrics with no dashboard panel: %v", missing)
	}
}

// TestAlertsUseExportedMetrics: the same for the alert rules, which must
// also each carry a severity.
func TestAlertsUseExportedMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	raw, err := os.ReadFile("../deploy/prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert  string            `yaml:"alert"`
				Expr   string            `yaml:"expr"`
				Labels map[string]string `yaml:"labels"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if s := r.Labels["severity"]; s != "page" && s != "ticket" {
				t.Errorf("%s: severity %q, want page or ticket", r.Alert, s)
			}
			if checkExpr(t, r.Alert, r.Expr, exported) == 0 && !strings.HasPrefix(r.Expr, "up{") {
				t.Errorf("%s names no replayhook metric: %q", r.Alert, r.Expr)
			}
		}
	}
	if n < 10 {
		t.Fatalf("found only %d rules", n)
	}
}

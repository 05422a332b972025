// Package archtest keeps docs/architecture.md true: every package of the
// module imports only what the doc's import rules allow it.
package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/replayhook/replayhook"

// rules are the doc's two tables: the module packages each package may
// import, and the packages a library is confined to. Keys and entries are
// paths relative to the module ("." is main), "*" one path element.
type rules struct {
	imports   map[string][]string
	libraries map[string][]string
}

// parseRules reads the tables under "## Import rules" in the doc.
func parseRules(doc string) (rules, error) {
	r := rules{imports: map[string][]string{}, libraries: map[string][]string{}}
	_, section, ok := strings.Cut(doc, "\n## Import rules\n")
	if !ok {
		return r, errors.New(`no "## Import rules" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	row := regexp.MustCompile("^\\| `([^`]+)` \\| (.*) \\|$")
	code := regexp.MustCompile("`([^`]+)`")
	table := r.imports
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "| Library |") {
			table = r.libraries
			continue
		}
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		allowed := []string{}
		for _, c := range code.FindAllStringSubmatch(m[2], -1) {
			allowed = append(allowed, c[1])
		}
		table[m[1]] = allowed
	}
	if len(r.imports) == 0 || len(r.libraries) == 0 {
		return r, errors.New("the import rules tables are empty")
	}
	return r, nil
}

// match reports whether pkg matches pattern ("*" is one path element).
func match(pattern, pkg string) bool {
	ok, err := path.Match(pattern, pkg)
	return err == nil && ok
}

// rowFor is the most specific row for pkg: its own, else a pattern.
func (r rules) rowFor(pkg string) (allowed []string, ok bool) {
	if a, ok := r.imports[pkg]; ok {
		return a, true
	}
	for pattern, a := range r.imports {
		if strings.Contains(pattern, "*") && match(pattern, pkg) {
			return a, true
		}
	}
	return nil, false
}

// violations lists what pkg (module-relative) must not import.
func (r rules) violations(pkg string, imports []string) []string {
	allowed, ok := r.rowFor(pkg)
	if !ok {
		return []string{pkg + " has no row in the import rules"}
	}
	var out []string
	for _, imp := range imports {
		if rel, inModule := relative(imp); inModule {
			if !slices.ContainsFunc(allowed, func(p string) bool { return match(p, rel) }) {
				out = append(out, pkg+" imports "+rel)
			}
			continue
		}
		for lib, owners := range r.libraries {
			if (imp == lib || strings.HasPrefix(imp, lib+"/")) &&
				!slices.ContainsFunc(owners, func(p string) bool { return match(p, pkg) }) {
				out = append(out, pkg+" imports "+imp)
			}
		}
	}
	return out
}

// relative is imp relative to the module, and whether it is in it.
func relative(imp string) (string, bool) {
	if imp == module {
		return ".", true
	}
	rel, ok := strings.CutPrefix(imp, module+"/")
	return rel, ok
}

// TestRulesCatchViolations: the checker itself can fail.
func TestRulesCatchViolations(t *testing.T) {
	r, err := parseRules("intro\n## Import rules\n\n| Package | May import |\n| --- | --- |\n" +
		"| `index` | `normalize` |\n| `providers/*` | `providers` |\n\n| Library | Only in |\n| --- | --- |\n" +
		"| `github.com/labstack/echo/v4` | `webhooks` |\n\n## Next\n| `ignored` | `x` |\n")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pkg     string
		imports []string
		want    []string
	}{
		{"index", []string{"context", module + "/normalize"}, nil},
		{"index", []string{module + "/webhooks"}, []string{"index imports webhooks"}},
		{"index", []string{"github.com/labstack/echo/v4/middleware"}, []string{"index imports github.com/labstack/echo/v4/middleware"}},
		{"providers/posthog", []string{module + "/providers", module + "/index"}, []string{"providers/posthog imports index"}},
		{"ignored", nil, []string{"ignored has no row in the import rules"}},
		{"webhooks", nil, []string{"webhooks has no row in the import rules"}},
	}
	for _, tt := range tests {
		if got := r.violations(tt.pkg, tt.imports); !slices.Equal(got, tt.want) {
			t.Errorf("violations(%s, %v) = %q, want %q", tt.pkg, tt.imports, got, tt.want)
		}
	}
}

// TestImportsFollowTheArchitecture lists every package of the module with
// go list and checks its imports (not its tests') against
// docs/architecture.md.
func TestImportsFollowTheArchitecture(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := parseRules(string(doc))
	if err != nil {
		t.Fatalf("docs/architecture.md: %v", err)
	}
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	n := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel, _ := relative(p.ImportPath)
		for _, v := range r.violations(rel, p.Imports) {
			t.Errorf("%s (docs/architecture.md, Import rules)", v)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("go list found %d packages", n)
	}
}

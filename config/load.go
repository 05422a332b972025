package config

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Load reads the file at path with getenv for ${VAR} expansion.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, getenv)
}

// Parse builds a Config from YAML bytes: defaults, then the document with
// environment references expanded, then validation. The expanded tree is
// checked against the Config type and decoded as it is (never re-encoded),
// so every message names the key and the line of the file.
func Parse(data []byte, getenv func(string) string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("config: not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	cfg := Default()
	src := newSourceMap()
	if root.Kind != 0 {
		ex := expander{getenv: getenv, origins: map[*yaml.Node]origin{}}
		ex.expand(&root, "")
		if len(ex.problems) > 0 {
			return nil, report(src, ex.problems)
		}
		doc := &root
		if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
			doc = doc.Content[0]
		}
		c := checker{src: src}
		c.check(doc, reflect.TypeOf(cfg), "", ex.origins, 0)
		if len(c.problems) > 0 {
			return nil, report(src, c.problems)
		}
		if err := doc.Decode(&cfg); err != nil {
			return nil, fmt.Errorf("config: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		attachCustomLines(&cfg, &root)
	}
	cfg.src = src
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// report joins problems into one error, one problem a line.
func report(src *sourceMap, problems []problem) error {
	if len(problems) == 1 {
		return fmt.Errorf("config: %s", src.format(problems[0]))
	}
	lines := make([]string, len(problems))
	for i, p := range problems {
		lines[i] = "\n  " + src.format(p)
	}
	return fmt.Errorf("config: %d problems:%s", len(problems), strings.Join(lines, ""))
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expander expands ${VAR} and ${VAR:-default} in every scalar value (not in
// keys), so an expanded value can never change the document's structure,
// and remembers which variables each value came from.
type expander struct {
	getenv   func(string) string
	origins  map[*yaml.Node]origin
	problems []problem
}

func (e *expander) expand(n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		o := origin{raw: n.Value}
		var missing []string
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if v := e.getenv(m[1]); v != "" {
				o.set = append(o.set, m[1])
				return v
			}
			if m[2] != "" {
				o.unset = append(o.unset, m[1])
				return m[3]
			}
			missing = append(missing, m[1])
			return ""
		})
		e.origins[n] = o
		if len(missing) > 0 {
			e.problems = append(e.problems, problem{path: orRoot(path),
				msg: fmt.Sprintf("environment variable %s is not set and ${%s} has no default (set it, or write ${%s:-} for an empty default) (line %d)", missing[0], missing[0], missing[0], n.Line)})
			return
		}
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			n.Tag = "" // plain in the file: let the decoder resolve "8080", "true" from an env value
		}
		return
	}
	for i, c := range n.Content {
		switch n.Kind {
		case yaml.MappingNode:
			if i%2 == 0 {
				continue // keys are not expanded
			}
			e.expand(c, joinPath(path, n.Content[i-1].Value))
		case yaml.SequenceNode:
			e.expand(c, fmt.Sprintf("%s[%d]", path, i))
		default:
			e.expand(c, path)
		}
	}
}

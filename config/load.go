package config

import (
	"bytes"
	"fmt"
	"os"
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
// environment references expanded, then validation.
func Parse(data []byte, getenv func(string) string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("config: %v", err)
	}
	cfg := Default()
	if root.Kind != 0 {
		if err := expandNode(&root, getenv); err != nil {
			return nil, err
		}
		expanded, err := yaml.Marshal(&root)
		if err != nil {
			return nil, fmt.Errorf("config: %v", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(expanded))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil {
			return nil, fmt.Errorf("config: %s", decodeMessage(err, keyLines(&root)))
		}
		attachCustomLines(&cfg, &root)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandNode expands ${VAR} and ${VAR:-default} in every scalar value (not in
// keys), so an expanded value can never change the document's structure.
func expandNode(n *yaml.Node, getenv func(string) string) error {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		var missing []string
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if v := getenv(m[1]); v != "" {
				return v
			}
			if m[2] != "" {
				return m[3]
			}
			missing = append(missing, m[1])
			return ""
		})
		if len(missing) > 0 {
			return fmt.Errorf("config: line %d: environment variable %s is not set and has no default (write ${%s:-} for an empty default)", n.Line, missing[0], missing[0])
		}
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			return nil // quoted in the file: stays a string
		}
		n.Tag = "" // plain: let the decoder resolve "8080", "true" from an env value
		return nil
	}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 {
			continue // keys are not expanded
		}
		if err := expandNode(c, getenv); err != nil {
			return err
		}
	}
	return nil
}

var fieldNotFound = regexp.MustCompile(`line (\d+): field (\S+) not found in type config\.(\w+)`)

var badValue = regexp.MustCompile(`line (\d+): cannot unmarshal (\S+) ` + "`" + `([^` + "`" + `]*)` + "`" + ` into (\S+)`)

// keyLines maps line numbers to the dotted key whose value starts there.
func keyLines(root *yaml.Node) map[int]string {
	out := map[int]string{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := n.Content[i].Value
				if path != "" {
					p = path + "." + p
				}
				if _, seen := out[n.Content[i+1].Line]; !seen || n.Content[i+1].Kind == yaml.ScalarNode {
					out[n.Content[i+1].Line] = p
				}
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if c.Kind == yaml.ScalarNode {
					out[c.Line] = p
				}
				walk(c, p)
			}
		}
	}
	walk(root, "")
	return out
}

func decodeMessage(err error, lines map[int]string) string {
	msg := err.Error()
	if m := badValue.FindAllStringSubmatch(msg, -1); m != nil && !strings.Contains(msg, "not found in type") {
		parts := make([]string, 0, len(m))
		for _, x := range m {
			var line int
			fmt.Sscan(x[1], &line)
			key := lines[line]
			if key == "" {
				key = "line " + x[1]
			}
			parts = append(parts, fmt.Sprintf("%s: %q is not a valid %s (line %s)", key, x[3], x[4], x[1]))
		}
		return strings.Join(parts, "; ")
	}
	if m := fieldNotFound.FindAllStringSubmatch(msg, -1); m != nil {
		parts := make([]string, 0, len(m))
		for _, x := range m {
			section := sectionOf[x[3]]
			key := x[2]
			if section != "" {
				key = section + "." + key
			}
			parts = append(parts, fmt.Sprintf("unknown key %q (line %s)", key, x[1]))
		}
		return strings.Join(parts, "; ")
	}
	return strings.TrimPrefix(msg, "yaml: ")
}

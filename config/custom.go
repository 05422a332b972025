package config

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/replayhook/replayhook/providers/custom"
)

// Custom is a source's custom: block (provider custom): its verify
// scheme, where its events are and the field map. It remembers the line of
// every key so that a problem names the key and its line. A field may be
// written as a path ("user_id: user.id"), a list of paths tried in order,
// or the full form (paths, template, const, map, format).
type Custom struct {
	custom.Spec `yaml:",inline"`
	line        int
	lines       map[string]int
}

var subLine = regexp.MustCompile(`line (\d+)`)

// UnmarshalYAML decodes the block strictly (an unknown key is an error)
// after expanding the field shorthands, recording each key's line.
func (c *Custom) UnmarshalYAML(n *yaml.Node) error {
	c.line, c.lines = n.Line, map[string]int{}
	recordLines(n, "", c.lines)
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "fields" && n.Content[i+1].Kind == yaml.MappingNode {
				fields := n.Content[i+1]
				for j := 1; j < len(fields.Content); j += 2 {
					fields.Content[j] = expandField(fields.Content[j])
				}
			}
		}
	}
	out, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	dec.KnownFields(true)
	if err := dec.Decode(&c.Spec); err != nil {
		// Lines of the re-encoded block count from its first key.
		msg := subLine.ReplaceAllStringFunc(strings.TrimPrefix(err.Error(), "yaml: "), func(s string) string {
			k, _ := strconv.Atoi(strings.TrimPrefix(s, "line "))
			return "line " + strconv.Itoa(k+n.Line-1)
		})
		return fmt.Errorf("custom: %s", strings.ReplaceAll(msg, "custom.", ""))
	}
	return nil
}

// expandField turns a field's shorthand (a path, a list of paths) into
// the full form.
func expandField(v *yaml.Node) *yaml.Node {
	if v.Kind != yaml.ScalarNode && v.Kind != yaml.SequenceNode {
		return v
	}
	paths := v
	if v.Kind == yaml.ScalarNode {
		paths = &yaml.Node{Kind: yaml.SequenceNode, Line: v.Line, Column: v.Column, Content: []*yaml.Node{v}}
	}
	return &yaml.Node{Kind: yaml.MappingNode, Line: v.Line, Column: v.Column, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: "paths", Line: v.Line, Column: v.Column}, paths,
	}}
}

func recordLines(n *yaml.Node, path string, out map[string]int) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			out[p] = n.Content[i].Line
			recordLines(n.Content[i+1], p, out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			out[p] = c.Line
			recordLines(c, p, out)
		}
	}
}

// Line is the line of key inside the block ("fields.user_id.paths[1]"), or
// of its nearest written parent, or of the block.
func (c *Custom) Line(key string) int {
	for key != "" {
		if l, ok := c.lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return c.line
}

// validateCustom checks every source's custom: block: present exactly for
// provider custom, and compiling (each problem names its key and line).
func (c *Config) validateCustom() []string {
	var problems []string
	for i, s := range c.Sources {
		key := fmt.Sprintf("sources[%d].custom", i)
		switch {
		case s.Provider == custom.Name && s.Custom == nil:
			problems = append(problems, fmt.Sprintf("%s: source %q has provider custom but no custom: block (verify, events, fields)", key, s.Name))
			continue
		case s.Provider != custom.Name && s.Custom != nil:
			problems = append(problems, fmt.Sprintf("%s (line %d): only a source with provider custom has a custom: block", key, s.Custom.line))
			continue
		case s.Custom == nil:
			continue
		}
		for _, e := range custom.Check(&s.Custom.Spec) {
			problems = append(problems, fmt.Sprintf("%s.%s (line %d): %s", key, e.Key, s.Custom.Line(e.Key), e.Msg))
		}
		if s.Custom.Verify.Scheme == "none" && !s.Unsigned {
			problems = append(problems, fmt.Sprintf("%s.verify.scheme (line %d): none needs unsigned: true on the source (local development only, loopback)",
				key, s.Custom.Line("verify.scheme")))
		}
	}
	return problems
}

// CustomSpec is the source's custom: block for its provider (nil without one).
func (s Source) CustomSpec() any {
	if s.Custom == nil {
		return nil
	}
	return &s.Custom.Spec
}

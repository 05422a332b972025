package config

import (
	"fmt"
	"reflect"
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
	unknown     []string
}

// UnmarshalYAML decodes the block after expanding the field shorthands.
// Its lines and unknown keys are taken from the file itself afterwards
// (attachCustomLines), since the decoder sees a re-encoded document.
func (c *Custom) UnmarshalYAML(n *yaml.Node) error {
	c.line = n.Line
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
	return n.Decode(&c.Spec)
}

// attachCustomLines records, for every source's custom: block, the line of
// each key as written in the file and the keys no field of Spec takes.
func attachCustomLines(cfg *Config, root *yaml.Node) {
	sources := child(docRoot(root), "sources")
	if sources == nil || sources.Kind != yaml.SequenceNode {
		return
	}
	for i, sn := range sources.Content {
		n := child(sn, "custom")
		if i >= len(cfg.Sources) || n == nil || cfg.Sources[i].Custom == nil {
			continue
		}
		c := cfg.Sources[i].Custom
		c.line, c.lines, c.unknown = n.Line, map[string]int{}, nil
		recordLines(n, "", c.lines)
		c.unknown = unknownKeys(n, reflect.TypeFor[custom.Spec](), "")
	}
}

func docRoot(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return n.Content[0]
	}
	return n
}

func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// unknownKeys lists the keys of mapping n (and of its nested mappings and
// lists) that no yaml tag of t names.
func unknownKeys(n *yaml.Node, t reflect.Type, path string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			p := k
			if path != "" {
				p = path + "." + k
			}
			f, ok := fieldByTag(t, k)
			if !ok {
				out = append(out, p)
				continue
			}
			out = append(out, unknownKeys(n.Content[i+1], f.Type, p)...)
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Struct:
		for i := 0; i+1 < len(n.Content); i += 2 {
			out = append(out, unknownKeys(n.Content[i+1], t.Elem(), path+"."+n.Content[i].Value)...)
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, c := range n.Content {
			out = append(out, unknownKeys(c, t.Elem(), path+"["+strconv.Itoa(i)+"]")...)
		}
	}
	return out
}

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
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
		for _, k := range s.Custom.unknown {
			problems = append(problems, fmt.Sprintf("%s.%s (line %d): unknown key", key, k, s.Custom.Line(k)))
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

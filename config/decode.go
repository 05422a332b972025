package config

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// origin is where one value of the file came from, so an error can point at
// it: its line, and the ${VAR} references it was expanded from.
type origin struct {
	line  int
	value string // after expansion
	raw   string // as written in the file, when it held a ${VAR} reference
	set   []string
	unset []string
}

// sourceMap remembers, for every key path ("server.addr",
// "sources[1].secrets[0]"), the origin of its value, and the name of every
// list element that has one ("sources[1]" -> "posthog"), so messages can say
// "sources[1] (posthog).secrets[0]" and the line it is on.
type sourceMap struct {
	origins map[string]origin
	labels  map[string]string
}

func newSourceMap() *sourceMap {
	return &sourceMap{origins: map[string]origin{}, labels: map[string]string{}}
}

// problem is one thing wrong with the configuration, at a key path.
type problem struct {
	path string
	msg  string
	// got appends the offending value (masked for secrets) to msg.
	got bool
	// raw is a message that already names its key and line (a section's
	// own validation): printed as it is.
	raw string
}

// lookup returns the origin of path, or of its nearest parent that has one
// (a missing key is reported on the line of the mapping that lacks it).
func (m *sourceMap) lookup(path string) (origin, bool) {
	if m == nil {
		return origin{}, false
	}
	for p := path; p != ""; p = parentPath(p) {
		if o, ok := m.origins[p]; ok {
			return o, p == path
		}
	}
	return origin{}, false
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return ""
	}
	return p[:i]
}

// display inserts list elements' names into a key path:
// "sources[1].secrets[0]" -> "sources[1] (posthog).secrets[0]".
func (m *sourceMap) display(path string) string {
	if m == nil || len(m.labels) == 0 {
		return path
	}
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		b.WriteByte(path[i])
		if path[i] == ']' {
			if l, ok := m.labels[path[:i+1]]; ok {
				fmt.Fprintf(&b, " (%s)", l)
			}
		}
	}
	return b.String()
}

// secretPath reports whether the value at path must never be printed.
var secretPath = regexp.MustCompile(`(^auth\.tokens\[\d+\]\.token$|^sources\[\d+\]\.secrets(\[\d+\])?$|password$)`)

// format renders a problem as "key: message, got "v" (line N, from ${VAR})".
func (m *sourceMap) format(p problem) string {
	if p.raw != "" {
		return p.raw
	}
	var b strings.Builder
	b.WriteString(m.display(p.path))
	if p.msg != "" {
		b.WriteString(": ")
		b.WriteString(p.msg)
	}
	o, exact := m.lookup(p.path)
	if p.got && exact {
		fmt.Fprintf(&b, ", got %s", shownValue(p.path, o.value))
	}
	if o.line > 0 {
		fmt.Fprintf(&b, " (line %d%s)", o.line, o.envNote(exact))
	}
	return b.String()
}

// shownValue is the value as an error may show it: quoted, a secret masked,
// a password in a Redis URL masked.
func shownValue(path, v string) string {
	if secretPath.MatchString(path) {
		return "(hidden)"
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return v
	}
	return fmt.Sprintf("%q", maskURLPassword(v))
}

// envNote says which environment variable a value came from.
func (o origin) envNote(exact bool) string {
	if !exact || o.raw == "" {
		return ""
	}
	var parts []string
	for _, v := range o.set {
		parts = append(parts, "from $"+v)
	}
	for _, v := range o.unset {
		parts = append(parts, "$"+v+" not set, the file's default applies")
	}
	return ", " + strings.Join(parts, ", ")
}

// envVars lists the environment variables that set, or would set, path.
func (m *sourceMap) envVars(path string) []string {
	if m == nil {
		return nil
	}
	o, ok := m.origins[path]
	if !ok {
		return nil
	}
	return append(append([]string(nil), o.set...), o.unset...)
}

// checker walks the expanded YAML tree against the Config type before it is
// decoded, so every unknown key and badly typed value is reported with its
// own line, in the words of the file (no Go type names).
type checker struct {
	src      *sourceMap
	problems []problem
}

var durationType = reflect.TypeOf(time.Duration(0))

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

func (c *checker) add(path, msg string, got bool) {
	c.problems = append(c.problems, problem{path: path, msg: msg, got: got})
}

func (c *checker) record(path string, n *yaml.Node, o origin) {
	o.line = n.Line
	if n.Kind == yaml.ScalarNode {
		o.value = n.Value
	}
	c.src.origins[path] = o
}

func (c *checker) check(n *yaml.Node, t reflect.Type, path string, origins map[*yaml.Node]origin, depth int) {
	if n.Kind == yaml.AliasNode && n.Alias != nil && depth < 32 {
		c.check(n.Alias, t, path, origins, depth+1)
		return
	}
	if path != "" {
		c.record(path, n, origins[n])
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // an empty value keeps the default
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem() // an optional value: checked as the value
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		// A type that decodes itself (it may take several shapes): its own
		// decoder judges it when the document is decoded, and its errors
		// name the key and line themselves.
		return
	}
	switch {
	case t.Kind() == reflect.Struct && t != durationType:
		if n.Kind != yaml.MappingNode {
			c.add(orRoot(path), "must be a mapping of keys (key: value on the lines below, indented)", false)
			return
		}
		fields := yamlFields(t)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && depth < 32 {
				c.check(v, t, path, origins, depth+1) // a YAML merge key
				continue
			}
			kp := joinPath(path, k.Value)
			if line, dup := seen[k.Value]; dup {
				c.src.origins[kp] = origin{line: k.Line}
				c.add(kp, fmt.Sprintf("set twice (first on line %d)", line), false)
				continue
			}
			seen[k.Value] = k.Line
			ft, ok := fields[k.Value]
			if !ok {
				c.src.origins[kp] = origin{line: k.Line}
				c.add(kp, "unknown key"+suggest(k.Value, t), false)
				continue
			}
			c.check(v, ft, kp, origins, depth)
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			c.add(path, "must be a list such as [a, b]", n.Kind == yaml.ScalarNode)
			return
		}
		for i, e := range n.Content {
			ep := fmt.Sprintf("%s[%d]", path, i)
			if name := mappingValue(e, "name"); name != "" {
				c.src.labels[ep] = name
			}
			c.check(e, t.Elem(), ep, origins, depth)
		}
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			c.add(orRoot(path), "must be a mapping of names to values (name: value on the lines below, indented)", false)
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			kp := joinPath(path, k.Value)
			if err := k.Decode(reflect.New(t.Key()).Interface()); err != nil {
				c.src.origins[kp] = origin{line: k.Line}
				c.add(kp, fmt.Sprintf("%q is not %s", k.Value, describeType(t.Key())), false)
				continue
			}
			c.check(v, t.Elem(), kp, origins, depth)
		}
	default:
		if n.Kind != yaml.ScalarNode {
			c.add(path, "must be "+describeType(t)+", not a list or mapping", false)
			return
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			c.add(path, fmt.Sprintf("%s is not %s", shownValue(path, n.Value), describeType(t)), false)
		}
	}
}

func orRoot(path string) string {
	if path == "" {
		return "the file"
	}
	return path
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// mappingValue is the scalar value of key in mapping n, or "".
func mappingValue(n *yaml.Node, key string) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}

// yamlFields maps the yaml key of each field of struct t to its type.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") && f.Type.Kind() == reflect.Struct {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// describeType names what a value of type t is written as in the file.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		return "a duration with a unit, such as 10s, 500ms or 2m"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "a whole number"
	case t.Kind() == reflect.String:
		return "text"
	case t.Kind() == reflect.Slice:
		return "a list such as [a, b]"
	case t.Kind() == reflect.Map:
		return "a mapping of names to values"
	default:
		return "a mapping of keys"
	}
}

// suggest is `; did you mean "x"?` for the known key of t closest to key,
// when one is close enough to be a typo.
func suggest(key string, t reflect.Type) string {
	names := make([]string, 0, t.NumField())
	for name := range yamlFields(t) {
		names = append(names, name)
	}
	sort.Strings(names)
	best, bestD := "", 0
	lower := strings.ToLower(key)
	for _, name := range names {
		d := editDistance(lower, name)
		if len(lower) >= 3 && (strings.HasPrefix(name, lower) || strings.HasPrefix(lower, name)) {
			d = min(d, 2) // a shortened or lengthened key: "max_body" for "max_body_bytes"
		}
		if best == "" || d < bestD {
			best, bestD = name, d
		}
	}
	limit := len(key) / 2
	if limit < 2 {
		limit = 2
	}
	if best == "" || bestD > limit {
		return fmt.Sprintf(" (known keys: %s)", strings.Join(names, ", "))
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// editDistance is the Levenshtein distance between a and b, in bytes (keys
// are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

package custom

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/vendorjson"
)

// Mapper is a compiled Spec: it turns a body into events. It holds no
// state between calls and is safe for concurrent use.
type Mapper struct {
	// keys are the first components of the event paths (see path).
	keys      []string
	events    string
	fields    []compiledField
	filters   []Filter
	dedupeKey path
	canonical bool
}

// path is one gjson path, read from the event or (root) the body's top level.
// A path whose first component is a plain key is read through the
// object's key index (see keys): the object is scanned once for all paths,
// not once per path.
type path struct {
	expr string
	root bool
	// key is the index of the first component in Mapper.keys (-1: not a
	// plain key, read by gjson alone); rest is the path after it.
	key  int
	rest string
}

func newPath(p string) path {
	if rest, ok := strings.CutPrefix(p, "^"); ok {
		return path{expr: rest, root: true, key: -1}
	}
	return path{expr: p, key: -1}
}

// plainKey splits expr into a first component without gjson syntax and
// the rest.
func plainKey(expr string) (first, rest string, ok bool) {
	first, rest, _ = strings.Cut(expr, ".")
	if first == "" || strings.ContainsAny(first, "\\*?#|@!{}[]()=<>%\"") {
		return "", "", false
	}
	return first, rest, true
}

func (p path) String() string {
	if p.root {
		return "^" + p.expr
	}
	return p.expr
}

func (p path) get(root, ev gjson.Result) gjson.Result {
	if p.root {
		return root.Get(p.expr)
	}
	return ev.Get(p.expr)
}

// read is get through the event's key index when the path has a plain
// first key.
func (p path) read(root, ev gjson.Result, idx []gjson.Result) gjson.Result {
	if p.root || p.key < 0 || idx == nil {
		return p.get(root, ev)
	}
	v := idx[p.key]
	if p.rest == "" || !v.Exists() {
		return v
	}
	return v.Get(p.rest)
}

// index reads the top-level values of ev that the paths start with, in
// one scan (the first occurrence of a key wins, as gjson's does).
func (m *Mapper) index(ev gjson.Result, idx []gjson.Result) []gjson.Result {
	if len(m.keys) == 0 {
		return nil
	}
	idx = idx[:len(m.keys)]
	for i := range idx {
		idx[i] = gjson.Result{}
	}
	ev.ForEach(func(k, v gjson.Result) bool {
		for i, name := range m.keys {
			if k.Str == name && !idx[i].Exists() {
				idx[i] = v
			}
		}
		return true
	})
	return idx
}

// keyOf registers p's first component in m.keys.
func (m *Mapper) keyOf(p path) path {
	if p.root {
		return p
	}
	first, rest, ok := plainKey(p.expr)
	if !ok {
		return p
	}
	for i, k := range m.keys {
		if k == first {
			p.key, p.rest = i, rest
			return p
		}
	}
	m.keys = append(m.keys, first)
	p.key, p.rest = len(m.keys)-1, rest
	return p
}

type compiledField struct {
	name  string
	paths []path
	// labels are "path <p>" for each path, made once for Value.From.
	labels   []string
	template []segment
	konst    string
	mapping  map[string]string
	format   string
}

// segment is literal text, or (isPath) a placeholder read by path.
type segment struct {
	text   string
	isPath bool
	path   path
}

// parseTemplate splits "{a.b} and {c}" into segments; a literal brace is
// written {{ or }}.
func parseTemplate(t string) ([]segment, error) {
	var out []segment
	var lit strings.Builder
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '{' && i+1 < len(t) && t[i+1] == '{', c == '}' && i+1 < len(t) && t[i+1] == '}':
			lit.WriteByte(c)
			i++
		case c == '{':
			end := strings.IndexByte(t[i:], '}')
			if end < 0 {
				return nil, errors.New("unclosed { in template")
			}
			p := t[i+1 : i+end]
			if msg := checkPath(p); msg != "" {
				return nil, errors.New("placeholder {" + p + "}: " + msg)
			}
			if lit.Len() > 0 {
				out = append(out, segment{text: lit.String()})
				lit.Reset()
			}
			out = append(out, segment{isPath: true, path: newPath(p)})
			i += end
		case c == '}':
			return nil, errors.New("} without { in template (write }} for a literal brace)")
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		out = append(out, segment{text: lit.String()})
	}
	return out, nil
}

// Compile checks s (see Check) and builds its Mapper.
func Compile(s *Spec) (*Mapper, error) {
	if errs := Check(s); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return nil, errors.New("custom: " + strings.Join(msgs, "; "))
	}
	m := &Mapper{events: s.Events, filters: s.Filters}
	if s.DedupeKey != "" {
		m.dedupeKey = newPath(s.DedupeKey)
	}
	for _, name := range FieldNames {
		f, ok := s.Fields[name]
		if !ok {
			continue
		}
		cf := compiledField{name: name, konst: f.Const, mapping: f.Map, format: f.Format}
		for _, p := range f.Paths {
			cf.paths = append(cf.paths, m.keyOf(newPath(p)))
			cf.labels = append(cf.labels, "path "+p)
		}
		cf.template, _ = parseTemplate(f.Template) // checked above
		for i := range cf.template {
			if cf.template[i].isPath {
				cf.template[i].path = m.keyOf(cf.template[i].path)
			}
		}
		m.fields = append(m.fields, cf)
		m.canonical = m.canonical || name == FieldCanonicalURL
	}
	return m, nil
}

// Value is one mapped field: its value and where it came from ("path
// user.id", "template", "const", "" when unmapped or blank), and whether
// the field's map translated it (Mapped: " (mapped)", " (mapped *)").
type Value struct {
	Field, Value, From, Mapped string
}

// Source is From with Mapped: where the value came from, in words.
func (v Value) Source() string { return v.From + v.Mapped }

// Mapped is one event of a delivery as the Mapper read it.
type Mapped struct {
	Event normalize.Event
	// CanonicalURL is the mapped canonical_url ("" derives it from raw_url).
	CanonicalURL string
	Values       []Value
	// Skipped says why a filter skipped the event ("" when kept).
	Skipped string
	key     string
}

// Result is a delivery as the Mapper read it.
type Result struct {
	ID     string
	Events []Mapped
}

// Map reads body into events. It never panics; it returns an error
// wrapping ErrMalformedJSON for a body that is not JSON, and ErrInvalidPayload
// for one too deep, too large or without the events where the Spec says.
func (m *Mapper) Map(body []byte) (*Result, error) {
	if d := depth(body); d > MaxDepth {
		return nil, vendorjson.FieldError("body", "nested deeper than "+strconv.Itoa(MaxDepth)+" levels")
	}
	if !gjson.ValidBytes(body) {
		return nil, providers.Reject(providers.ErrMalformedJSON, "body is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() && !root.IsArray() {
		return nil, providers.Reject(providers.ErrMalformedJSON, "body is neither a JSON object nor an array")
	}
	list, field := root, "body"
	if m.events != "" {
		list, field = newPath(m.events).get(root, root), m.events
		if !list.IsArray() {
			return nil, vendorjson.FieldError(field, "not an array of events")
		}
	}
	var events []gjson.Result
	if list.IsArray() {
		n := 0
		var tooMany bool
		list.ForEach(func(_, v gjson.Result) bool {
			if n++; n > MaxEvents {
				tooMany = true
				return false
			}
			events = append(events, v)
			return true
		})
		if tooMany {
			return nil, vendorjson.FieldError(field, "more than "+strconv.Itoa(MaxEvents)+" events in one delivery")
		}
	} else {
		events = []gjson.Result{list}
	}
	res := &Result{Events: make([]Mapped, 0, len(events))}
	idx := make([]gjson.Result, len(m.keys))
	for i, ev := range events {
		if !ev.IsObject() {
			name := field
			if list.IsArray() {
				name += "[" + strconv.Itoa(i) + "]"
			}
			return nil, vendorjson.FieldError(name, "not an object")
		}
		res.Events = append(res.Events, m.mapEvent(root, ev, m.index(ev, idx)))
	}
	res.ID = m.deliveryID(res.Events)
	return res, nil
}

func (m *Mapper) mapEvent(root, ev gjson.Result, idx []gjson.Result) Mapped {
	out := Mapped{Values: make([]Value, 0, len(m.fields))}
	for _, f := range m.fields {
		v := f.read(root, ev, idx)
		out.Values = append(out.Values, v)
		e := &out.Event
		switch f.name {
		case FieldSessionID:
			e.SessionID = v.Value
		case FieldUserID:
			e.UserID = v.Value
		case FieldAnonymousID:
			e.AnonymousID = v.Value
		case FieldEmail:
			e.Email = v.Value
		case FieldTimestamp:
			e.Time = parseTime(v.Value, f.format)
		case FieldType:
			e.Kind = v.Value
		case FieldLabel:
			e.Label = v.Value
		case FieldTitle:
			e.Title = v.Value
		case FieldDescription:
			e.Description = v.Value
		case FieldRawURL:
			e.URL = v.Value
		case FieldCanonicalURL:
			out.CanonicalURL = v.Value
		case FieldProductID:
			e.ProductID = v.Value
		}
	}
	if out.Event.Kind == "" {
		out.Event.Kind = "custom"
	}
	for _, f := range m.filters {
		if skip(f, root, ev) {
			out.Skipped = f.Reason
			break
		}
	}
	if !isActionType(out.Event.Kind) && out.Skipped == "" {
		out.Skipped = "action type " + vendorjson.QuoteBounded(out.Event.Kind) + " is not one of " + strings.Join(ActionTypes, ", ")
	}
	if m.dedupeKey.expr != "" {
		out.key = text(m.dedupeKey.get(root, ev))
	}
	return out
}

func skip(f Filter, root, ev gjson.Result) bool {
	v := text(newPath(f.Path).get(root, ev))
	match := v != ""
	if len(f.Equals) > 0 {
		match = slices.Contains(f.Equals, v)
	}
	return match == (f.Action == "skip")
}

// read is the field's value: the first non-blank path, else the template
// (blank when every placeholder is), else the const; then the map.
func (f compiledField) read(root, ev gjson.Result, idx []gjson.Result) Value {
	v := Value{Field: f.name}
	for i, p := range f.paths {
		if s := text(p.read(root, ev, idx)); s != "" {
			v.Value, v.From = s, f.labels[i]
			break
		}
	}
	if v.From == "" && len(f.template) > 0 {
		var b strings.Builder
		anyPath := false
		for _, seg := range f.template {
			if !seg.isPath {
				b.WriteString(seg.text)
				continue
			}
			s := text(seg.path.read(root, ev, idx))
			anyPath = anyPath || s != ""
			b.WriteString(s)
		}
		if s := strings.TrimSpace(b.String()); anyPath && s != "" {
			v.Value, v.From = s, "template"
		}
	}
	if v.From == "" && f.konst != "" {
		v.Value, v.From = f.konst, "const"
	}
	if f.mapping != nil {
		if to, ok := f.mapping[v.Value]; ok {
			v.Value, v.Mapped = to, " (mapped)"
		} else if to, ok := f.mapping["*"]; ok {
			v.Value, v.Mapped = to, " (mapped *)"
		}
	}
	return v
}

// text is a JSON value read as text by the kit's rule (vendorjson.String):
// a string trimmed, a number by its digits, a boolean by its literal;
// null, objects and arrays are blank, so a wrong type is a missing value.
func text(r gjson.Result) string {
	switch r.Type {
	case gjson.String:
		return strings.TrimSpace(r.Str)
	case gjson.Number:
		return vendorjson.Number(r.Raw)
	case gjson.True:
		return "true"
	case gjson.False:
		return "false"
	}
	return ""
}

// parseTime reads s by format; anything it cannot read is zero (unknown:
// the receive time is used), as the kit's rule does.
func parseTime(s, format string) time.Time {
	var scale float64
	switch format {
	case "", "auto":
		return vendorjson.ParseTime(s)
	case "rfc3339":
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}
		}
		return sane(t)
	case "s":
		scale = 1e6
	case "ms":
		scale = 1e3
	case "us":
		scale = 1
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f*scale >= 1e17 {
		return time.Time{}
	}
	return sane(time.UnixMicro(int64(math.Round(f * scale))))
}

func sane(t time.Time) time.Time {
	if t.Before(vendorjson.MinTime) || !t.Before(vendorjson.MaxTime) {
		return time.Time{}
	}
	return t.UTC()
}

// deliveryID is the event's key, or for several events "batch:" + the hash
// of their sorted keys (a resent batch in any order is a duplicate); ""
// (the raw body's hash) when any event has none.
func (m *Mapper) deliveryID(events []Mapped) string {
	if m.dedupeKey.expr == "" || len(events) == 0 {
		return ""
	}
	keys := make([]string, 0, len(events))
	for _, e := range events {
		if e.key == "" {
			return ""
		}
		keys = append(keys, e.key)
	}
	if len(keys) == 1 {
		return vendorjson.DedupeID(keys[0])
	}
	slices.Sort(keys)
	b, _ := json.Marshal(keys) // a []string always marshals
	sum := sha256.Sum256(b)
	return "batch:" + hex.EncodeToString(sum[:])
}

// depth is the deepest nesting of objects and arrays in body, counted
// without recursion so a hostile body cannot grow the stack; it stops
// counting past MaxDepth.
func depth(body []byte) int {
	d, maxD, inStr := 0, 0, false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			if d++; d > maxD {
				maxD = d
				if maxD > MaxDepth {
					return maxD
				}
			}
		case '}', ']':
			d--
		}
	}
	return maxD
}

// userPaths names where user_id is read, for messages.
func (m *Mapper) userPaths() string {
	for _, f := range m.fields {
		if f.name != FieldUserID {
			continue
		}
		var s []string
		for _, p := range f.paths {
			s = append(s, p.String())
		}
		if len(s) > 0 {
			return strings.Join(s, ", ")
		}
		return "a template or const"
	}
	return "not mapped yet"
}

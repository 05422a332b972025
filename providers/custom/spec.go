package custom

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/standard"
)

// Spec is a source's custom: block: how its deliveries are verified and
// mapped. config decodes it from YAML; Compile checks it once at start.
type Spec struct {
	Verify Verify `yaml:"verify"`
	// Events is the path of the array of events inside the body; empty
	// means the body itself (an object is one event, an array a batch).
	Events string `yaml:"events"`
	// Fields maps each field name (see FieldNames) to where its value is.
	Fields map[string]Field `yaml:"fields"`
	// Filters keep or skip events; every filter must let an event through.
	Filters []Filter `yaml:"filters"`
	// DedupeKey is the path of each event's idempotency key; a batch's key
	// is derived from all of them. Empty, or any event without one, means
	// the hash of the raw body.
	DedupeKey string `yaml:"dedupe_key"`
}

// Verify picks one of the kit's schemes by options.
type Verify struct {
	// Scheme is hmac, standard_webhooks, token, url_token or none.
	Scheme string `yaml:"scheme"`
	// Header carries the signature (hmac) or the secret (token; empty means
	// Authorization: Bearer).
	Header string `yaml:"header"`
	// Hash is sha1, sha256 (default) or sha512; Encoding hex (default) or
	// base64.
	Hash     string `yaml:"hash"`
	Encoding string `yaml:"encoding"`
	// Prefix precedes each signature ("sha256=").
	Prefix string `yaml:"prefix"`
	// Message is what is signed: {body}, {header:Name} and literal text
	// ("{header:X-Timestamp}.{body}"); empty means the body.
	Message string `yaml:"message"`
	// Timestamp names the signed unix time ("header:X-Timestamp"), checked
	// against the source's tolerance_seconds.
	Timestamp string `yaml:"timestamp"`
	// Separator makes the header a list of signatures (" ", ","), so a
	// sender rotating its secret can send both.
	Separator string `yaml:"separator"`
}

// Field is where one field's value comes from: the first non-blank of
// Paths, else Template, else Const; then Map translates it.
type Field struct {
	Paths []string `yaml:"paths"`
	// Template joins values: "{first_name} {last_name}" (each placeholder a
	// path); blank when every placeholder is.
	Template string `yaml:"template"`
	Const    string `yaml:"const"`
	// Map translates a value ("Page Viewed": pageview); "*" catches every
	// other value. A value with no entry and no "*" stays as it is.
	Map map[string]string `yaml:"map"`
	// Format is the timestamp's: auto (default, the kit's rule), s, ms, us
	// or rfc3339.
	Format string `yaml:"format"`
}

// Filter keeps or skips events by a field's value.
type Filter struct {
	// Path is read from the event; Equals lists the values that match
	// (empty: any non-blank value matches).
	Path   string   `yaml:"path"`
	Equals []string `yaml:"equals"`
	// Action is skip (a matching event is skipped) or keep (an event that
	// does not match is skipped).
	Action string `yaml:"action"`
	// Reason says why in the "ignored" answer.
	Reason string `yaml:"reason"`
}

// The field names a Spec maps. Label is what normalize derives the title
// and description from when they are not mapped.
const (
	FieldSessionID    = "session_id"
	FieldUserID       = "user_id"
	FieldAnonymousID  = "anonymous_id"
	FieldEmail        = "email"
	FieldTimestamp    = "timestamp"
	FieldType         = "type"
	FieldLabel        = "label"
	FieldTitle        = "title"
	FieldDescription  = "description"
	FieldRawURL       = "raw_url"
	FieldCanonicalURL = "canonical_url"
	FieldProductID    = "product_id"
)

// FieldNames lists every mappable field, in the order map prints them.
var FieldNames = []string{FieldSessionID, FieldUserID, FieldAnonymousID, FieldEmail, FieldTimestamp, FieldType,
	FieldLabel, FieldTitle, FieldDescription, FieldRawURL, FieldCanonicalURL, FieldProductID}

// ActionTypes are the action types an ActionsPayload accepts.
var ActionTypes = []string{"pageview", "click", "submit", "type", "focus", "blur", "custom", "error", "note", "session"}

// Bounds that keep one delivery's mapping cheap whatever the body.
const (
	// MaxEvents bounds the events of one delivery (422 beyond).
	MaxEvents = 1000
	// MaxDepth bounds the nesting of the body (422 beyond), checked before
	// anything else reads it.
	MaxDepth = 64
	// maxPathBytes, maxPaths, maxFilters, maxMapEntries bound a Spec.
	maxPathBytes  = 512
	maxPaths      = 16
	maxFilters    = 32
	maxMapEntries = 256
)

// SpecError is one problem of a Spec, naming its key inside the custom:
// block ("fields.user_id.paths[1]").
type SpecError struct {
	Key, Msg string
}

func (e *SpecError) Error() string { return e.Key + ": " + e.Msg }

// Check lists every problem of s, sorted by key; nil means Compile will
// accept it.
func Check(s *Spec) []*SpecError {
	var errs []*SpecError
	add := func(key, format string, args ...any) {
		errs = append(errs, &SpecError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	checkVerify(s.Verify, add)
	if s.Events != "" {
		if msg := checkPath(s.Events); msg != "" {
			add("events", "%s", msg)
		}
	}
	if s.DedupeKey != "" {
		if msg := checkPath(s.DedupeKey); msg != "" {
			add("dedupe_key", "%s", msg)
		}
	}
	known := map[string]bool{}
	for _, n := range FieldNames {
		known[n] = true
	}
	if len(s.Fields) == 0 {
		add("fields", "map at least session_id (and user_id) to a path")
	}
	names := make([]string, 0, len(s.Fields))
	for n := range s.Fields {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := s.Fields[n]
		key := "fields." + n
		if !known[n] {
			add(key, "unknown field (known: %s)", strings.Join(FieldNames, ", "))
			continue
		}
		checkField(key, n, f, add)
	}
	if len(s.Filters) > maxFilters {
		add("filters", "more than %d filters", maxFilters)
	}
	for i, f := range s.Filters {
		key := "filters[" + strconv.Itoa(i) + "]"
		if f.Path == "" {
			add(key+".path", "required")
		} else if msg := checkPath(f.Path); msg != "" {
			add(key+".path", "%s", msg)
		}
		if f.Action != "keep" && f.Action != "skip" {
			add(key+".action", "must be keep or skip, not %q", f.Action)
		}
		if strings.TrimSpace(f.Reason) == "" {
			add(key+".reason", "required: it is the answer's ignored reason")
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Key < errs[j].Key })
	return errs
}

func checkVerify(v Verify, add func(key, format string, args ...any)) {
	switch v.Scheme {
	case "hmac":
		if v.Header == "" {
			add("verify.header", "required for hmac: the header carrying the signature")
		}
		if _, err := providers.NewHMAC(hmacOptions(v, 0), nil); err != nil {
			add("verify", "%s", strings.TrimPrefix(err.Error(), "hmac: "))
		}
		if v.Hash != "" && v.Hash != "sha1" && v.Hash != "sha256" && v.Hash != "sha512" {
			add("verify.hash", "must be sha1, sha256 or sha512, not %q", v.Hash)
		}
		if strings.Contains(v.Message, "{field:") {
			add("verify.message", "{field:...} is not available to custom sources; sign {body} and {header:Name}")
		}
		if v.Timestamp != "" && !strings.HasPrefix(v.Timestamp, "header:") {
			add("verify.timestamp", "must be header:<Name>")
		}
	case "standard_webhooks", "url_token", "none":
		for key, set := range map[string]bool{"header": v.Header != "", "hash": v.Hash != "", "encoding": v.Encoding != "",
			"prefix": v.Prefix != "", "message": v.Message != "", "timestamp": v.Timestamp != "", "separator": v.Separator != ""} {
			if set {
				add("verify."+key, "not an option of scheme %s", v.Scheme)
			}
		}
	case "token":
		for key, set := range map[string]bool{"hash": v.Hash != "", "encoding": v.Encoding != "",
			"prefix": v.Prefix != "", "message": v.Message != "", "timestamp": v.Timestamp != "", "separator": v.Separator != ""} {
			if set {
				add("verify."+key, "not an option of scheme token")
			}
		}
	case "":
		add("verify.scheme", "required: hmac, standard_webhooks, token, url_token or none")
	default:
		add("verify.scheme", "unknown scheme %q (known: hmac, standard_webhooks, token, url_token, none)", v.Scheme)
	}
}

func checkField(key, name string, f Field, add func(key, format string, args ...any)) {
	if len(f.Paths) == 0 && f.Template == "" && f.Const == "" {
		add(key, "needs paths, a template or a const")
	}
	if len(f.Paths) > maxPaths {
		add(key+".paths", "more than %d paths", maxPaths)
	}
	for i, p := range f.Paths {
		if msg := checkPath(p); msg != "" {
			add(key+".paths["+strconv.Itoa(i)+"]", "%s", msg)
		}
	}
	if f.Template != "" {
		if _, err := parseTemplate(f.Template); err != nil {
			add(key+".template", "%s", err.Error())
		}
	}
	if len(f.Map) > maxMapEntries {
		add(key+".map", "more than %d entries", maxMapEntries)
	}
	if f.Format != "" && name != FieldTimestamp {
		add(key+".format", "only the timestamp has a format")
	}
	switch f.Format {
	case "", "auto", "s", "ms", "us", "rfc3339":
	default:
		add(key+".format", "must be auto, s, ms, us or rfc3339, not %q", f.Format)
	}
	if name == FieldType {
		for _, v := range typeValues(f) {
			if !isActionType(v) {
				add(key, "%q is not an action type (known: %s)", v, strings.Join(ActionTypes, ", "))
			}
		}
	}
}

// typeValues are the action types a type field can produce without reading
// the body: its const and its map's values.
func typeValues(f Field) []string {
	var out []string
	if f.Const != "" {
		out = append(out, f.Const)
	}
	keys := make([]string, 0, len(f.Map))
	for k := range f.Map {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, f.Map[k])
	}
	return out
}

func isActionType(s string) bool {
	for _, t := range ActionTypes {
		if t == s {
			return true
		}
	}
	return false
}

// checkPath refuses what would make a path costly or surprising: gjson
// modifiers (@reverse, @pretty...), multipaths and JSON-lines paths. A
// leading ^ reads from the body's top level instead of the event.
func checkPath(p string) string {
	p = strings.TrimPrefix(p, "^")
	switch {
	case strings.TrimSpace(p) == "":
		return "empty path"
	case len(p) > maxPathBytes:
		return fmt.Sprintf("path longer than %d bytes", maxPathBytes)
	case p[0] == '{' || p[0] == '[' || strings.HasPrefix(p, ".."):
		return "multipaths and JSON lines are not supported: name one value"
	}
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '@', '!':
			if i == 0 || p[i-1] == '.' || p[i-1] == '|' {
				return fmt.Sprintf("path %q uses a modifier or literal (%c); name a value in the body", p, p[i])
			}
		}
	}
	return ""
}

// hmacOptions are the kit's options for v.
func hmacOptions(v Verify, tolerance time.Duration) providers.HMACOptions {
	o := providers.HMACOptions{
		Header: v.Header, Encoding: providers.Encoding(v.Encoding), Prefix: v.Prefix, Separator: v.Separator,
		Message: v.Message, Timestamp: v.Timestamp, Tolerance: tolerance,
	}
	if v.Hash != "" {
		o.Hashes = []providers.Hash{providers.Hash(v.Hash)}
	}
	return o
}

// scheme builds the verify block's scheme for secrets.
func scheme(v Verify, tolerance time.Duration) func(secrets []string) (providers.Scheme, error) {
	switch v.Scheme {
	case "hmac":
		return providers.HMACScheme(hmacOptions(v, tolerance))
	case "standard_webhooks":
		return func(secrets []string) (providers.Scheme, error) {
			return providers.NewHMAC(standard.Scheme(standard.IDHeader, standard.TimestampHeader, standard.SignatureHeader, tolerance), secrets)
		}
	case "url_token":
		return func(secrets []string) (providers.Scheme, error) { return providers.NewQueryToken(secrets), nil }
	case "none":
		return func(secrets []string) (providers.Scheme, error) { return refuseAll{}, nil }
	}
	return providers.TokenScheme(v.Header)
}

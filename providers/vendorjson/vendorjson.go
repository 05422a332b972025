// Package vendorjson holds the lenient JSON reading that vendor adapters
// share: senders put numbers where strings are expected and vice versa, and
// every value is hostile, so fields are read as bounded text, shape errors
// name their field, and times are read by magnitude.
package vendorjson

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
)

// Text is a JSON scalar read as text, because senders put numbers where
// strings are expected: a string as is, an integer by its digits (1.5e3 →
// "1500", never float formatting), another number or a boolean by its
// literal, null as "". Objects and arrays are type errors.
type Text string

// UnmarshalJSON implements json.Unmarshaler.
func (t *Text) UnmarshalJSON(b []byte) error {
	s, kind := Scalar(b)
	if kind != "" {
		return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[string]()}
	}
	*t = Text(s)
	return nil
}

// Loose is like text for fields replayhook only reads when it can: an
// object or an array reads as "" instead of failing the delivery.
type Loose string

// UnmarshalJSON implements json.Unmarshaler.
func (l *Loose) UnmarshalJSON(b []byte) error {
	s, _ := Scalar(b)
	*l = Loose(s)
	return nil
}

// Scalar returns the text of a JSON scalar, or the kind ("object", "array")
// of a value that is not one.
func Scalar(b []byte) (s, notScalar string) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return "", "nothing"
	case b[0] == '"':
		if json.Unmarshal(b, &s) != nil {
			return "", "string"
		}
		return s, ""
	case b[0] == '{':
		return "", "object"
	case b[0] == '[':
		return "", "array"
	case string(b) == "null":
		return "", ""
	case string(b) == "true" || string(b) == "false":
		return string(b), ""
	default:
		return Number(string(b)), ""
	}
}

// Number formats a JSON number literal as text: an integer written with a
// fraction or an exponent (1741944978000.0, 1.741944978e12) becomes its
// digits when it is exactly representable; anything else keeps its literal.
func Number(lit string) string {
	if !strings.ContainsAny(lit, ".eE") {
		return lit
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return lit
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// ShapeError turns an unmarshal error of well-formed JSON into an
// ErrInvalidPayload naming the field.
func ShapeError(err error, prefix string) error {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		field := strings.TrimSuffix(prefix+ute.Field, ".")
		if field == "" {
			field = "body"
		}
		want := "a string or a number"
		if ute.Type != nil {
			switch ute.Type.Kind() {
			case reflect.Struct, reflect.Map, reflect.Pointer:
				want = "an object"
			case reflect.Slice, reflect.Array:
				want = "an array"
			}
		}
		return FieldError(field, "must be "+want+", not "+ute.Value)
	}
	return providers.Reject(providers.ErrInvalidPayload, "unexpected JSON shape")
}

// FieldError is an ErrInvalidPayload naming one field.
func FieldError(field, reason string) error {
	return &providers.FieldsError{Fields: normalize.FieldErrors{{Field: field, Reason: reason}}}
}

// The sane range of an event time: a time outside it is a sender's bug or
// a misread unit, and reads as unknown (the receive time is used).
var (
	MinTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// timeLayouts are the ISO 8601 forms vendors send: RFC 3339, the same
// without a zone (UTC), and Amplitude's space-separated form.
var timeLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999",
}

// ParseTime is the one timestamp rule of every vendor: an ISO 8601 time
// (RFC 3339; without a zone it is UTC), or a number of seconds,
// milliseconds, microseconds or nanoseconds since the epoch told apart by
// magnitude (below 1e11 seconds, below 1e14 milliseconds, below 1e17
// microseconds, else nanoseconds), given as a JSON number or as digits in
// a string. A time outside [MinTime, MaxTime) or anything else is zero:
// unknown, the receive time is used.
func ParseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return FromUnix(f)
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return sane(t)
		}
	}
	return time.Time{}
}

// FromUnix reads a number since the epoch by the magnitude rule of
// ParseTime.
func FromUnix(f float64) time.Time {
	if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f >= 1e20 {
		return time.Time{}
	}
	var micros float64
	switch {
	case f < 1e11: // seconds
		micros = f * 1e6
	case f < 1e14: // milliseconds
		micros = f * 1e3
	case f < 1e17: // microseconds
		micros = f
	default: // nanoseconds
		micros = f / 1e3
	}
	return sane(time.UnixMicro(int64(math.Round(micros))))
}

func sane(t time.Time) time.Time {
	if t.Before(MinTime) || !t.Before(MaxTime) {
		return time.Time{}
	}
	return t.UTC()
}

// MaxIDBytes bounds a dedupe key taken from the body; longer ids are
// replaced by their hash so a hostile body cannot make huge keys.
const MaxIDBytes = 200

// DedupeID is the trimmed id, hashed when it is implausibly long.
func DedupeID(id string) string {
	id = strings.TrimSpace(id)
	if len(id) > MaxIDBytes {
		sum := sha256.Sum256([]byte(id))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	return id
}

// FirstNonBlank is the first value that is not blank, trimmed.
func FirstNonBlank(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// Token shows a header or body word in a reason: as is when it is a plain
// short identifier, quoted and bounded otherwise.
func Token(s string) string {
	plain := s != "" && len(s) <= 64
	for i := 0; plain && i < len(s); i++ {
		c := s[i]
		plain = c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	if plain {
		return s
	}
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(strings.ToValidUTF8(s, "?"))
}

// QuoteBounded quotes s for a reason, cut at 64 bytes and made valid UTF-8.
func QuoteBounded(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(strings.ToValidUTF8(s, "?"))
}

// String reads a raw JSON value as text, trimmed: a string as is, a number
// as Number formats it, a boolean by its literal, anything else (null, an
// object, an array, broken JSON) as "".
func String(raw json.RawMessage) string {
	s, notScalar := Scalar(raw)
	if notScalar != "" {
		return ""
	}
	return strings.TrimSpace(s)
}

// Object is one JSON object with its values kept raw, for vendors whose
// fields are read by name and path rather than into a struct. A nil Object
// has no keys.
type Object map[string]json.RawMessage

// DecodeObject reads raw as an object; anything else is nil.
func DecodeObject(raw json.RawMessage) Object {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var out Object
	if json.Unmarshal(raw, &out) != nil {
		return nil
	}
	return out
}

// Str is o[key] read as text (see String).
func (o Object) Str(key string) string { return String(o[key]) }

// Obj is o[key] when it is an object, else nil.
func (o Object) Obj(key string) Object { return DecodeObject(o[key]) }

// Path reads a nested value as text: Path("context", "device", "id") is
// o["context"]["device"]["id"]; a missing or non-object step is "".
func (o Object) Path(keys ...string) string {
	if len(keys) == 0 {
		return ""
	}
	for _, k := range keys[:len(keys)-1] {
		o = o.Obj(k)
	}
	return o.Str(keys[len(keys)-1])
}

// First is the first of keys whose value reads as non-blank text.
func (o Object) First(keys ...string) string {
	for _, k := range keys {
		if v := o.Str(k); v != "" {
			return v
		}
	}
	return ""
}

// OptBool is a boolean that may be absent.
type OptBool struct{ Set, V bool }

// Or is b when it is set, else other.
func (b OptBool) Or(other OptBool) OptBool {
	if b.Set {
		return b
	}
	return other
}

// Bool reads o[key] as true/false or "true"/"false" (any case).
func (o Object) Bool(key string) OptBool {
	switch strings.ToLower(o.Str(key)) {
	case "true":
		return OptBool{Set: true, V: true}
	case "false":
		return OptBool{Set: true, V: false}
	}
	return OptBool{}
}

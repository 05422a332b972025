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

func FieldError(field, reason string) error {
	return &providers.FieldsError{Fields: normalize.FieldErrors{{Field: field, Reason: reason}}}
}

// ParseTime reads vendors' ISO 8601 timestamps (RFC 3339; a time without
// a zone is UTC) or a unix time in seconds, milliseconds, microseconds or
// nanoseconds told apart by magnitude. Anything else, or a time before 1970 or after 2286, is zero
// (the receive time is used).
func ParseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return FromUnix(f)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Unix() <= 0 || t.Year() > 2286 {
				return time.Time{}
			}
			return t.UTC()
		}
	}
	return time.Time{}
}

func FromUnix(f float64) time.Time {
	if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
		return time.Time{}
	}
	var micros float64
	switch {
	case f >= 1e17: // nanoseconds
		micros = f / 1e3
	case f >= 1e14: // microseconds
		micros = f
	case f >= 1e11: // milliseconds
		micros = f * 1e3
	default: // seconds
		micros = f * 1e6
	}
	if micros > 1e16 { // after 2286: not a plausible event time
		return time.Time{}
	}
	return time.UnixMicro(int64(math.Round(micros))).UTC()
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

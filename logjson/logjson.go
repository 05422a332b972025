// Package logjson is a logrus formatter that writes exactly the lines
// logrus.JSONFormatter writes (keys sorted, HTML-escaped, one object and a
// newline per entry) without building a second map and without reflection
// for the flat fields replayhook logs: strings, errors, integers, floats,
// booleans and nil. An entry with any other value, a caller, or a field
// named like one of the entry's own keys is handed to
// logrus.JSONFormatter, so the output never differs
// (TestSameBytesAsLogrusJSONFormatter).
//
// It exists because the access log writes one line per request: with
// logrus.JSONFormatter that line cost about as much CPU as verifying and
// storing a delivery (BENCHMARKS.md).
package logjson

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"
)

// Formatter formats entries as JSON lines. The zero value uses RFC 3339
// timestamps, as logrus.JSONFormatter does.
type Formatter struct {
	// TimestampFormat is the time layout; "" means time.RFC3339.
	TimestampFormat string
}

// maxFastFields is how many fields an entry may have for the fast path
// (the access log has at most 15).
const maxFastFields = 29

// Format implements logrus.Formatter.
func (f *Formatter) Format(e *logrus.Entry) ([]byte, error) {
	if e.Caller != nil || len(e.Data) > maxFastFields {
		return f.fallback(e)
	}
	var store [maxFastFields + 3]string
	keys := store[:0]
	for k, v := range e.Data {
		switch k {
		case logrus.FieldKeyTime, logrus.FieldKeyMsg, logrus.FieldKeyLevel, logrus.FieldKeyLogrusError,
			logrus.FieldKeyFunc, logrus.FieldKeyFile:
			return f.fallback(e) // logrus renames clashing fields
		}
		if !fast(v) {
			return f.fallback(e)
		}
		keys = append(keys, k)
	}
	keys = append(keys, logrus.FieldKeyLevel, logrus.FieldKeyMsg, logrus.FieldKeyTime)
	slices.Sort(keys)

	b := e.Buffer
	if b == nil {
		b = new(bytes.Buffer)
	}
	buf := b.AvailableBuffer()
	buf = append(buf, '{')
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendString(buf, k)
		buf = append(buf, ':')
		switch k {
		case logrus.FieldKeyLevel:
			buf = appendString(buf, e.Level.String())
		case logrus.FieldKeyMsg:
			buf = appendString(buf, e.Message)
		case logrus.FieldKeyTime:
			buf = append(buf, '"')
			buf = e.Time.AppendFormat(buf, f.layout())
			buf = append(buf, '"')
		default:
			buf = appendValue(buf, e.Data[k])
		}
	}
	buf = append(buf, '}', '\n')
	b.Write(buf)
	return b.Bytes(), nil
}

func (f *Formatter) layout() string {
	if f.TimestampFormat == "" {
		return time.RFC3339
	}
	return f.TimestampFormat
}

func (f *Formatter) fallback(e *logrus.Entry) ([]byte, error) {
	return (&logrus.JSONFormatter{TimestampFormat: f.layout()}).Format(e)
}

// fast reports whether v is written by appendValue exactly as
// encoding/json would write it.
func fast(v any) bool {
	switch v := v.(type) {
	case nil, string, error, bool, int, int64:
		return true
	case float64:
		return !math.IsNaN(v) && !math.IsInf(v, 0) // encoding/json refuses these
	}
	return false
}

func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, v)
	case error:
		return appendString(b, v.Error())
	case bool:
		return strconv.AppendBool(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case float64:
		return appendFloat(b, v)
	}
	panic("logjson: appendValue called with a value fast() refuses")
}

// appendFloat is encoding/json's float64 encoding.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendString writes s as encoding/json does with HTML escaping on:
// plain printable ASCII by hand, anything else through json.Marshal.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

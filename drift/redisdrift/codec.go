package redisdrift

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/replayhook/replayhook/drift"
)

// The drift's encodings, written and read by the drift scripts too (see
// drift_scripts.go). Every byte read back is checked: a malformed value is
// skipped, never trusted.

// lpAppend appends s as "<byte length>:<bytes>".
func lpAppend(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// lpNext splits the first length-prefixed string off s.
func lpNext(s string) (item, rest string, ok bool) {
	c := strings.IndexByte(s, ':')
	if c <= 0 || c > 10 {
		return "", "", false
	}
	n, err := strconv.Atoi(s[:c])
	if err != nil || n < 0 || n > len(s)-c-1 {
		return "", "", false
	}
	return s[c+1 : c+1+n], s[c+1+n:], true
}

// lpList decodes a whole list.
func lpList(s string) ([]string, bool) {
	var out []string
	for s != "" {
		item, rest, ok := lpNext(s)
		if !ok {
			return nil, false
		}
		out = append(out, item)
		s = rest
	}
	return out, true
}

// rowField is the rows-hash field of the row (source, product).
func rowField(source, product string) string {
	return string(lpAppend(lpAppend(nil, source), product))
}

// splitRowField splits a rows-hash field into its row and suffix ("" for
// the provider field, "\x01d" for deliveries, ...).
func splitRowField(f string) (source, product, suffix string, ok bool) {
	source, rest, ok := lpNext(f)
	if !ok {
		return "", "", "", false
	}
	product, suffix, ok = lpNext(rest)
	return source, product, suffix, ok
}

// knownField is the known or conflict key of kind ('n', 'e', 'a', 's').
func knownField(kind byte, a, b string) string {
	return string(lpAppend(lpAppend([]byte{kind}, a), b))
}

// driftTime is t as 19-digit zero-padded unix nanoseconds, clamped to the
// years 1970 to 2262, so that the scripts compare times as strings.
func driftTime(t time.Time) string {
	var n int64
	switch {
	case t.Before(time.Unix(0, 0)):
		n = 0
	case t.After(time.Unix(0, 1<<63-1)):
		n = 1<<63 - 1
	default:
		n = t.UnixNano()
	}
	return fmt.Sprintf("%019d", n)
}

// parseDriftTime reads driftTime's format; zero time when malformed.
func parseDriftTime(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// decodeRows turns the rows hash into row states.
func decodeRows(h map[string]string) []drift.RowState {
	type key struct{ source, product string }
	byKey := map[key]*drift.RowState{}
	var order []key
	get := func(k key) *drift.RowState {
		r, ok := byKey[k]
		if !ok {
			r = &drift.RowState{Source: k.source, Product: k.product}
			byKey[k] = r
			order = append(order, k)
		}
		return r
	}
	for f, v := range h {
		source, product, suffix, ok := splitRowField(f)
		if !ok {
			continue
		}
		k := key{source, product}
		if suffix == "" {
			get(k).Provider = v
			continue
		}
		if len(suffix) < 2 || suffix[0] != 1 {
			continue
		}
		switch suffix[1] {
		case 'x':
			get(k).Examples = decodeExamples(v)
			continue
		case 'y':
			get(k).LateExamples = decodeExamples(v)
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		r := get(k)
		switch suffix[1] {
		case 'd':
			r.Deliveries = n
		case 'p':
			r.Payloads = n
		case 'm':
			r.Missing = n
		case 'l':
			r.Late = n
		case 'r':
			if r.Rejected == nil {
				r.Rejected = map[string]int64{}
			}
			r.Rejected[suffix[2:]] = n
		}
	}
	out := make([]drift.RowState, 0, len(order))
	for _, k := range order {
		if _, created := h[rowField(k.source, k.product)]; created { // counters of a row never created are ignored
			out = append(out, *byKey[k])
		}
	}
	return out
}

// decodeExamples reads a row's examples (session, time pairs).
func decodeExamples(v string) []drift.Example {
	t, ok := lpList(v)
	if !ok {
		return nil
	}
	out := []drift.Example{}
	for i := 0; i+1 < len(t); i += 2 {
		out = append(out, drift.Example{SessionID: t[i], At: parseDriftTime(t[i+1])})
	}
	return out
}

// decodeMiss reads one lookup miss ("<count> <last>").
func decodeMiss(id, v string) (drift.MissState, bool) {
	count, last, ok := strings.Cut(v, " ")
	if !ok {
		return drift.MissState{}, false
	}
	n, err := strconv.ParseInt(count, 10, 64)
	if err != nil {
		return drift.MissState{}, false
	}
	return drift.MissState{UserID: id, Count: n, Last: parseDriftTime(last)}, true
}

// decodeKnown reads the refs of a known entry (display, count, refs,
// anonymous ids).
func decodeKnown(v string) ([]drift.Ref, bool) {
	t, ok := lpList(v)
	if !ok || len(t) < 2 {
		return nil, false
	}
	n, err := strconv.Atoi(t[1])
	if err != nil || n < 0 || 2+2*n > len(t) {
		return nil, false
	}
	refs := make([]drift.Ref, n)
	for i := range n {
		refs[i] = drift.Ref{UserID: t[2+2*i], Product: t[3+2*i]}
	}
	return refs, true
}

// decodeConflict reads one conflict: its key (kind 's' or 'e' and the
// list (a, b)) and its value (display, last, refs).
func decodeConflict(k, v string) (drift.ConflictState, bool) {
	if k == "" {
		return drift.ConflictState{}, false
	}
	a, rest, ok := lpNext(k[1:])
	if !ok {
		return drift.ConflictState{}, false
	}
	b, rest, ok := lpNext(rest)
	if !ok || rest != "" {
		return drift.ConflictState{}, false
	}
	t, ok := lpList(v)
	if !ok || len(t) < 2 || len(t)%2 != 0 {
		return drift.ConflictState{}, false
	}
	c := drift.ConflictState{Display: t[0], Last: parseDriftTime(t[1])}
	for i := 2; i+1 < len(t); i += 2 {
		c.Refs = append(c.Refs, drift.Ref{UserID: t[i], Product: t[i+1]})
	}
	switch k[0] {
	case 's':
		c.ProductID, c.SessionID = a, b
	case 'e':
		c.Email = true
	default:
		return drift.ConflictState{}, false
	}
	return c, true
}

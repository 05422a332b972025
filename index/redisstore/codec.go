package redisstore

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/normalize"
)

// actionVersion starts every encoded action, so that the format can change.
const actionVersion = 1

// errBadAction is a stored action that cannot be decoded.
var errBadAction = errors.New("redisstore: malformed stored action")

// encodeAction writes a stored action in a compact binary form that keeps
// every byte and every float as it is (JSON would rewrite invalid UTF-8 and
// refuse NaN): version, index (varint), the five strings (uvarint length
// and bytes), the three times (float64 bits), then the three optional
// strings (a presence byte, then the string).
func encodeAction(a normalize.SlimAction, at float64) []byte {
	n := 1 + binary.MaxVarintLen64 + 3*8 + 8*binary.MaxVarintLen64 + 3 +
		len(a.Type) + len(a.Title) + len(a.Description) + len(a.RawURL) + len(a.CanonicalURL) +
		len(normalize.Str(a.SessionID)) + len(normalize.Str(a.UserID)) + len(normalize.Str(a.Email))
	b := make([]byte, 0, n)
	b = append(b, actionVersion)
	b = binary.AppendVarint(b, int64(a.Index))
	for _, s := range []string{a.Type, a.Title, a.Description, a.RawURL, a.CanonicalURL} {
		b = appendString(b, s)
	}
	for _, f := range []float64{a.TimestampStart, a.TimestampEnd, at} {
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(f))
	}
	for _, p := range []*string{a.SessionID, a.UserID, a.Email} {
		if p == nil {
			b = append(b, 0)
			continue
		}
		b = appendString(append(b, 1), *p)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// decodeAction reads what encodeAction wrote; any other input (including
// non-minimal varints) is errBadAction.
func decodeAction(raw string) (index.StoredAction, error) {
	d := decoder{b: raw}
	if d.byte() != actionVersion {
		return index.StoredAction{}, errBadAction
	}
	var a index.StoredAction
	a.Index = int(d.varint())
	for _, s := range []*string{&a.Type, &a.Title, &a.Description, &a.RawURL, &a.CanonicalURL} {
		*s = d.string()
	}
	for _, f := range []*float64{&a.TimestampStart, &a.TimestampEnd, &a.At} {
		*f = d.float()
	}
	for _, p := range []**string{&a.SessionID, &a.UserID, &a.Email} {
		switch d.byte() {
		case 0:
		case 1:
			s := d.string()
			*p = &s
		default:
			d.bad = true
		}
	}
	if d.bad || len(d.b) != 0 {
		return index.StoredAction{}, errBadAction
	}
	return a, nil
}

// decoder reads from b; the first problem sets bad and every later read
// returns zero values.
type decoder struct {
	b   string
	bad bool
}

func (d *decoder) byte() byte {
	if d.bad || len(d.b) < 1 {
		d.bad = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) varint() int64 {
	if d.bad {
		return 0
	}
	v, n := binary.Varint([]byte(d.b[:min(len(d.b), binary.MaxVarintLen64)]))
	if n <= 0 || n != len(binary.AppendVarint(nil, v)) || v < math.MinInt32 || v > math.MaxInt32 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	if d.bad {
		return ""
	}
	l, n := binary.Uvarint([]byte(d.b[:min(len(d.b), binary.MaxVarintLen64)]))
	if n <= 0 || n != len(binary.AppendUvarint(nil, l)) || l > uint64(len(d.b)-n) {
		d.bad = true
		return ""
	}
	s := d.b[n : n+int(l)]
	d.b = d.b[n+int(l):]
	return s
}

func (d *decoder) float() float64 {
	if d.bad || len(d.b) < 8 {
		d.bad = true
		return 0
	}
	f := math.Float64frombits(binary.BigEndian.Uint64([]byte(d.b[:8])))
	d.b = d.b[8:]
	return f
}

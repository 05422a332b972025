package index

import (
	"strings"

	"github.com/replayhook/replayhook/normalize"
)

// packedAction is how MemoryActivity holds one action: its eight strings
// are consecutive slices of one string, so an action is one heap object
// with one pointer instead of up to nine (six strings and three optional
// ids). The activity store holds up to max_sessions × 200 actions; the
// garbage collector scans every live pointer on each cycle, and with the
// store full this layout cut its mark work and the memory per action
// (BENCHMARKS.md).
type packedAction struct {
	data           string
	ends           [numFields]uint32 // end offset in data of each field
	index          int
	tsStart, tsEnd float64
	at             float64
	has            uint8 // bit f set: optional field f (fSessionID, fUserID, fEmail) is non-nil
}

// The string fields of a SlimAction, in their order in packedAction.data.
const (
	fType = iota
	fTitle
	fDescription
	fRawURL
	fCanonicalURL
	fSessionID
	fUserID
	fEmail
	numFields
)

// pack copies a into one allocation, stamped with at.
func pack(a *normalize.SlimAction, at float64) packedAction {
	fields := [numFields]string{a.Type, a.Title, a.Description, a.RawURL, a.CanonicalURL,
		normalize.Str(a.SessionID), normalize.Str(a.UserID), normalize.Str(a.Email)}
	n := 0
	for _, f := range fields {
		n += len(f)
	}
	var b strings.Builder
	b.Grow(n)
	p := packedAction{index: a.Index, tsStart: a.TimestampStart, tsEnd: a.TimestampEnd, at: at}
	for i, f := range fields {
		b.WriteString(f)
		p.ends[i] = uint32(b.Len())
	}
	p.data = b.String()
	for i, opt := range [...]*string{a.SessionID, a.UserID, a.Email} {
		if opt != nil {
			p.has |= 1 << (fSessionID + i)
		}
	}
	return p
}

// field returns string field f (a slice of data: no copy).
func (p *packedAction) field(f int) string {
	start := uint32(0)
	if f > 0 {
		start = p.ends[f-1]
	}
	return p.data[start:p.ends[f]]
}

// opt returns optional field f: nil when absent, else a pointer of pool's.
func (p *packedAction) opt(f int, pool *strPool) *string {
	if p.has&(1<<f) == 0 {
		return nil
	}
	s := p.field(f)
	return pool.ptr(&s)
}

// unpack returns the action as a StoredAction whose pointer fields are
// pool's (never shared with the store).
func (p *packedAction) unpack(pool *strPool) StoredAction {
	return StoredAction{At: p.at, SlimAction: normalize.SlimAction{
		Index: p.index, Type: p.field(fType), Title: p.field(fTitle), Description: p.field(fDescription),
		TimestampStart: p.tsStart, TimestampEnd: p.tsEnd, RawURL: p.field(fRawURL), CanonicalURL: p.field(fCanonicalURL),
		SessionID: p.opt(fSessionID, pool), UserID: p.opt(fUserID, pool), Email: p.opt(fEmail, pool),
	}}
}

package index

import (
	"math"

	"github.com/replayhook/replayhook/normalize"
)

// actionLog is how MemoryActivity holds one session's actions: the strings
// of every action concatenated in one byte buffer, and the other fields in
// a slice of pointer-free records that give each string's offsets. A
// session is two heap objects, however many actions it holds, and neither
// contains a pointer: the garbage collector marks them without scanning
// them. The store holds up to max_sessions × max_actions_per_session
// actions, and before this layout every action was a heap object the
// collector had to find on every cycle (BENCHMARKS.md).
//
// Actions are appended at the end; the oldest beyond the limit are dropped
// by moving first forward, and the dropped prefix of both slices is
// reclaimed (compacted) once it is a quarter of either, so the log holds at
// most 4/3 of its live bytes and records, and each dropped byte is paid for
// by at most three copied ones.
type actionLog struct {
	data  []byte       // strings of metas[first:], after the dropped prefix
	metas []actionMeta // arrival order; metas[:first] are dropped
	first int
}

// actionMeta is one action without its strings.
type actionMeta struct {
	start          uint32            // offset in data of the first field
	ends           [numFields]uint32 // end offset in data of each field
	has            uint8             // bit f set: optional field f (fSessionID, fUserID, fEmail) is non-nil
	index          int
	tsStart, tsEnd float64
	at             float64
}

// The string fields of a SlimAction, in their order in the log's data.
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

// maxLogBytes bounds one session's data so that offsets fit in uint32: the
// oldest actions are dropped to make room beyond it (long before, a request
// body limit applies; this only keeps the arithmetic exact).
const maxLogBytes = math.MaxUint32 / 2

// fields returns a's strings in log order.
func fields(a *normalize.SlimAction) [numFields]string {
	return [numFields]string{a.Type, a.Title, a.Description, a.RawURL, a.CanonicalURL,
		normalize.Str(a.SessionID), normalize.Str(a.UserID), normalize.Str(a.Email)}
}

// size is the number of data bytes fs take.
func size(fs *[numFields]string) int {
	n := 0
	for _, f := range fs {
		n += len(f)
	}
	return n
}

// len is the number of live actions.
func (l *actionLog) len() int { return len(l.metas) - l.first }

// live is the number of data bytes of the live actions.
func (l *actionLog) live() int {
	if l.len() == 0 {
		return 0
	}
	return len(l.data) - int(l.metas[l.first].start)
}

// add appends acts (stamped with at), keeping the newest limit actions
// (limit >= 1) within maxBytes of data; an action bigger than maxBytes on
// its own is kept alone. The strings are copied: the log shares no memory
// with acts.
func (l *actionLog) add(acts []normalize.SlimAction, at float64, limit, maxBytes int) {
	if len(acts) > limit {
		acts = acts[len(acts)-limit:]
	}
	need := 0
	for i := range acts {
		fs := fields(&acts[i])
		need += size(&fs)
	}
	l.reserve(len(acts), need, limit)
	for i := range acts {
		l.push(&acts[i], at, limit, maxBytes)
	}
}

// push appends one action as add does, without reserving room first.
func (l *actionLog) push(a *normalize.SlimAction, at float64, limit, maxBytes int) {
	fs := fields(a)
	n := size(&fs)
	for l.len() > 0 && (l.len() >= limit || l.live()+n > maxBytes) {
		l.first++
		l.compact(false)
	}
	if l.len() == 0 { // nothing live: start over from the buffers' beginning
		l.compact(true)
	}
	m := actionMeta{start: uint32(len(l.data)), index: a.Index, tsStart: a.TimestampStart, tsEnd: a.TimestampEnd, at: at}
	for f, s := range fs {
		l.data = append(l.data, s...)
		m.ends[f] = uint32(len(l.data))
	}
	for i, opt := range [...]*string{a.SessionID, a.UserID, a.Email} {
		if opt != nil {
			m.has |= 1 << (fSessionID + i)
		}
	}
	l.metas = append(l.metas, m)
}

// reserve grows the buffers once for n more actions of need bytes, so that
// a delivery costs at most one allocation per buffer; the records never
// grow beyond limit plus the dropped quarter.
func (l *actionLog) reserve(n, need, limit int) {
	if cap(l.data)-len(l.data) < need {
		grown := make([]byte, len(l.data), len(l.data)+max(need, len(l.data)/2))
		copy(grown, l.data)
		l.data = grown
	}
	if cap(l.metas)-len(l.metas) < n {
		c := min(len(l.metas)+max(n, len(l.metas)/2), limit+limit/3+1)
		c = max(c, len(l.metas)+n)
		grown := make([]actionMeta, len(l.metas), c)
		copy(grown, l.metas)
		l.metas = grown
	}
}

// compact reclaims the dropped prefix once it is a quarter of the records
// or of the data (always when force).
func (l *actionLog) compact(force bool) {
	if l.first == 0 {
		return
	}
	cut := len(l.data)
	if l.first < len(l.metas) {
		cut = int(l.metas[l.first].start)
	}
	if !force && l.first*4 < len(l.metas) && cut*4 < len(l.data) {
		return
	}
	n := copy(l.data, l.data[cut:])
	l.data = l.data[:n]
	k := copy(l.metas, l.metas[l.first:])
	l.metas = l.metas[:k]
	l.first = 0
	for i := range l.metas {
		m := &l.metas[i]
		m.start -= uint32(cut)
		for f := range m.ends {
			m.ends[f] -= uint32(cut)
		}
	}
}

// ordered copies the live actions, oldest first, into values of their own:
// one string holds every action's fields, and the pointer fields come from
// one pool.
func (l *actionLog) ordered() []StoredAction {
	out := make([]StoredAction, 0, l.len())
	if l.len() == 0 {
		return out
	}
	base := l.metas[l.first].start
	data := string(l.data[base:])
	var pool strPool
	for i := l.first; i < len(l.metas); i++ {
		m := &l.metas[i]
		field := func(f int) string {
			start := m.start
			if f > 0 {
				start = m.ends[f-1]
			}
			return data[start-base : m.ends[f]-base]
		}
		opt := func(f int) *string {
			if m.has&(1<<f) == 0 {
				return nil
			}
			s := field(f)
			return pool.ptr(&s)
		}
		out = append(out, StoredAction{At: m.at, SlimAction: normalize.SlimAction{
			Index: m.index, Type: field(fType), Title: field(fTitle), Description: field(fDescription),
			TimestampStart: m.tsStart, TimestampEnd: m.tsEnd, RawURL: field(fRawURL), CanonicalURL: field(fCanonicalURL),
			SessionID: opt(fSessionID), UserID: opt(fUserID), Email: opt(fEmail),
		}})
	}
	return out
}

package stream

import (
	"errors"
	"strconv"
	"strings"
)

// ID is an event id in the form of a Redis Streams entry id, "<ms>-<seq>":
// milliseconds of the Unix clock and a sequence number within that
// millisecond. Ids sort by (ms, seq) in the order events were appended, so
// a client's Last-Event-ID tells exactly where it stopped. The memory store
// issues ids of the same form, so they survive a snapshot and a restart.
type ID struct {
	MS  uint64
	Seq uint64
}

// ErrBadID is returned by ParseID for anything but "<digits>-<digits>".
var ErrBadID = errors.New("stream: event id must be <milliseconds>-<sequence>, both decimal")

// maxIDLen is the longest id text accepted: two 20-digit uint64 and a dash.
const maxIDLen = 41

// ParseID reads an id as sent back in Last-Event-ID. It is strict: no sign,
// no spaces, no missing part, each part a decimal uint64.
func ParseID(s string) (ID, error) {
	if len(s) > maxIDLen {
		return ID{}, ErrBadID
	}
	ms, seq, ok := strings.Cut(s, "-")
	if !ok || !digits(ms) || !digits(seq) {
		return ID{}, ErrBadID
	}
	a, err1 := strconv.ParseUint(ms, 10, 64)
	b, err2 := strconv.ParseUint(seq, 10, 64)
	if err1 != nil || err2 != nil {
		return ID{}, ErrBadID
	}
	return ID{MS: a, Seq: b}, nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String is the id's wire form.
func (a ID) String() string {
	return strconv.FormatUint(a.MS, 10) + "-" + strconv.FormatUint(a.Seq, 10)
}

// Less reports whether a was appended before b.
func (a ID) Less(b ID) bool { return a.MS < b.MS || a.MS == b.MS && a.Seq < b.Seq }

// IsZero reports whether a is the zero id "0-0", before every event.
func (a ID) IsZero() bool { return a == ID{} }

// next is the id following a at clock ms: a new millisecond starts at
// sequence 0; a clock that did not move (or moved back) continues a's.
func (a ID) next(ms uint64) ID {
	if ms > a.MS {
		return ID{MS: ms}
	}
	return ID{MS: a.MS, Seq: a.Seq + 1}
}

// Package journal is replayhook's write-ahead log for the memory backend:
// every delivery is appended before it is acknowledged, and replayed at
// start on top of the last good snapshot, so a kill -9 loses no
// acknowledged delivery.
//
// The log files are github.com/tidwall/wal's segmented append log. Its
// writes run with NoSync and the journal fsyncs itself: in fsync mode the
// first waiting delivery fsyncs everything written so far while the others
// wait on that one call (group commit); in batch mode a ticker fsyncs at
// most every window and deliveries never wait. Each entry carries a
// CRC-32C of its bytes, which the library does not: a damaged entry is
// detected and skipped rather than replayed wrong.
package journal

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
)

// Entry is one acknowledged delivery as ingest stored it: prepared
// payloads, summaries and identities, its dedupe key and the time it was
// stored at. Replaying it stores the same things again.
//
// An entry with EraseUserID is an erasure instead: replaying it erases the
// user again, so that a replay never brings back a user erased after
// their deliveries were journaled.
type Entry struct {
	// Source and ProductID name the source the delivery came to: its
	// dedupe table and its product scope (aliases).
	Source      string                     `json:"source,omitempty"`
	ProductID   string                     `json:"product_id,omitempty"`
	Key         string                     `json:"key"`
	EraseUserID string                     `json:"erase_user_id,omitempty"`
	At          time.Time                  `json:"at"`
	Payloads    []normalize.ActionsPayload `json:"payloads,omitempty"`
	Summaries   []normalize.SummaryPayload `json:"summaries,omitempty"`
	Identities  []normalize.Identity       `json:"identities,omitempty"`
	// Links attach sessions to users (identify calls naming both).
	Links []providers.Link `json:"links,omitempty"`
}

// Journal is what ingest writes each delivery to before acknowledging it.
type Journal interface {
	// Admit reports whether deliveries can be taken now: an error (state
	// still restoring, log failing) answers them 503.
	Admit() error
	// Append writes e ahead of its acknowledgement. Once it returns nil,
	// e survives a crash (within the batch window in batch mode). applied
	// must be called once e has been stored (or given up), so that a
	// snapshot knows which entries it covers.
	Append(ctx context.Context, e *Entry) (applied func(), err error)
}

// Nop is the journal that writes nothing: the Redis backend (Redis keeps
// the state) and durability: off.
type Nop struct{}

// Admit always admits.
func (Nop) Admit() error { return nil }

// Append does nothing.
func (Nop) Append(context.Context, *Entry) (func(), error) { return func() {}, nil }

// ErrCorruptEntry is an entry whose checksum or JSON does not match.
var ErrCorruptEntry = errors.New("journal: corrupt entry")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encode is the entry's bytes in the log: a CRC-32C (big endian) of the
// JSON, then the JSON.
func encode(e *Entry) ([]byte, error) {
	js, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	out := make([]byte, 4, 4+len(js))
	binary.BigEndian.PutUint32(out, crc32.Checksum(js, castagnoli))
	return append(out, js...), nil
}

// valid reports whether data is an entry whose checksum matches.
func valid(data []byte) bool {
	return len(data) >= 4 && binary.BigEndian.Uint32(data) == crc32.Checksum(data[4:], castagnoli)
}

func decode(data []byte) (*Entry, error) {
	if !valid(data) {
		return nil, ErrCorruptEntry
	}
	var e Entry
	if err := json.Unmarshal(data[4:], &e); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptEntry, err)
	}
	return &e, nil
}

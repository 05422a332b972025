// Package snapshot saves replayhook's in-memory state to one file and
// restores it at start. With the journal, a snapshot is what lets the log
// be truncated: it records the journal index it covers, and start replays
// the log after it.
//
// Memory stays bounded both ways: a part hands its records to the encoder
// one at a time (written through a buffered file) and the decoder reads
// them back one at a time (json.Decoder tokens), so neither side holds a
// part's JSON. Each part carries its record count and a CRC-32C of its
// records' bytes; a file is verified (one streaming pass) before anything
// is loaded from it.
//
// The file is written atomically (temp file in the same directory,
// fsynced, renamed) and the one it replaces is kept as path+".1". At
// start a damaged newest file falls back to the whole previous one when
// that one is good (the journal still holds everything after it);
// otherwise the good parts are loaded and the damaged ones skipped alone,
// each named in the report. Temp files a crash left behind are removed.
package snapshot

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Version is the file format version; a file of another version is
// treated as damaged.
const Version = 2

// Part is one store's share of the snapshot. Records are JSON values; the
// order Save emits them in is the order Load receives them in.
type Part struct {
	Name string
	// Save emits the part's records as of now, one at a time.
	Save func(now time.Time, emit func(rec any) error) error
	// Load starts restoring the part as of now (dropping what expired).
	Load func(now time.Time) Loader
}

// Loader takes one part's records in order, then Done.
type Loader interface {
	Record(raw json.RawMessage) error
	Done() error
}

// Records builds a part from a store that can walk its records (each) and
// import them in order; records are imported in chunks of chunk, so a
// restore holds at most one chunk beyond the store itself.
func Records[R any](name string, each func(now time.Time, emit func(R) error) error, load func([]R, time.Time), chunk int) Part {
	return Part{
		Name: name,
		Save: func(now time.Time, emit func(any) error) error {
			return each(now, func(r R) error { return emit(r) })
		},
		Load: func(now time.Time) Loader {
			return &chunkLoader[R]{load: load, now: now, buf: make([]R, 0, chunk)}
		},
	}
}

// Slice builds a part from a store that exports a slice (its records are
// still encoded one at a time).
func Slice[R any](name string, export func(time.Time) []R, load func([]R, time.Time)) Part {
	return Records(name, func(now time.Time, emit func(R) error) error {
		for _, r := range export(now) {
			if err := emit(r); err != nil {
				return err
			}
		}
		return nil
	}, load, 1024)
}

type chunkLoader[R any] struct {
	load func([]R, time.Time)
	now  time.Time
	buf  []R
}

func (c *chunkLoader[R]) Record(raw json.RawMessage) error {
	var r R
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	c.buf = append(c.buf, r)
	if len(c.buf) == cap(c.buf) {
		c.flush()
	}
	return nil
}

func (c *chunkLoader[R]) Done() error {
	c.flush()
	return nil
}

func (c *chunkLoader[R]) flush() {
	if len(c.buf) > 0 {
		c.load(c.buf, c.now)
		clear(c.buf)
		c.buf = c.buf[:0]
	}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header is what a snapshot file says about itself.
type Header struct {
	Version int       `json:"version"`
	SavedAt time.Time `json:"saved_at"`
	// JournalMark is the last journal index the snapshot covers: start
	// replays the entries after it.
	JournalMark uint64 `json:"journal_mark"`
}

// Previous is the name of the snapshot kept from before the newest.
func Previous(path string) string { return path + ".1" }

// Write saves every part to path atomically, covering the journal up to
// mark, and keeps the file it replaces as Previous(path).
func Write(path string, parts []Part, mark uint64, now time.Time) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err := encode(w, parts, Header{Version: Version, SavedAt: now.UTC(), JournalMark: mark}); err != nil {
		tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if _, err := os.Stat(path); err == nil {
		if err := os.Rename(path, Previous(path)); err != nil {
			return fmt.Errorf("snapshot: keep the previous file: %w", err)
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	d, err := os.Open(dir) // make the renames durable
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// encode streams the file record by record:
//
//	{"version":2,"saved_at":…,"journal_mark":N,"parts":[
//	{"name":"users","records":[
//	{…},
//	…
//	],"count":N,"crc32c":C},
//	…]}
func encode(w io.Writer, parts []Part, h Header) error {
	head, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if _, err := fmt.Fprintf(w, "%s,\"parts\":[", head[:len(head)-1]); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	for i, p := range parts {
		name, _ := json.Marshal(p.Name)
		sep := ",\n"
		if i == 0 {
			sep = "\n"
		}
		if _, err := fmt.Fprintf(w, "%s{\"name\":%s,\"records\":[", sep, name); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		sum := crc32.New(castagnoli)
		var count int
		err := p.Save(h.SavedAt, func(rec any) error {
			b, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			sep := ",\n"
			if count == 0 {
				sep = "\n"
			}
			count++
			sum.Write(b)
			if _, err := io.WriteString(w, sep); err != nil {
				return err
			}
			_, err = w.Write(b)
			return err
		})
		if err != nil {
			return fmt.Errorf("snapshot: part %s: %w", p.Name, err)
		}
		if _, err := fmt.Fprintf(w, "\n],\"count\":%d,\"crc32c\":%d}", count, sum.Sum32()); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
	}
	if _, err := io.WriteString(w, "\n]}\n"); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// ErrDamaged is a file (or part) that cannot be used as it is: unreadable,
// cut short, of another version, or whose checksum does not match.
var ErrDamaged = errors.New("snapshot damaged")

// scan reads path once, record by record, handing each part's records to
// the loader open(name) returns (nil: the part is only verified), and
// returns the header and each part found with its status. A part whose
// checksum or count does not match is reported with an error after its
// records were read: callers that load verify the file first.
func scan(path string, open func(name string) Loader) (Header, []PartStatus, error) {
	var h Header
	f, err := os.Open(path)
	if err != nil {
		return h, nil, err
	}
	defer f.Close()
	d := &decoder{dec: json.NewDecoder(bufio.NewReaderSize(f, 1<<20))}
	if err := d.delim('{'); err != nil {
		return h, nil, d.damaged(err)
	}
	var parts []PartStatus
	for d.dec.More() {
		key, err := d.key()
		if err != nil {
			return h, parts, d.damaged(err)
		}
		switch key {
		case "version":
			err = d.dec.Decode(&h.Version)
			if err == nil && h.Version != Version {
				return h, parts, fmt.Errorf("%w: version %d, want %d", ErrDamaged, h.Version, Version)
			}
		case "saved_at":
			err = d.dec.Decode(&h.SavedAt)
		case "journal_mark":
			err = d.dec.Decode(&h.JournalMark)
		case "parts":
			if h.Version != Version {
				return h, parts, fmt.Errorf("%w: no version before the parts", ErrDamaged)
			}
			if err = d.delim('['); err != nil {
				break
			}
			for d.dec.More() {
				st, perr := d.part(open)
				if perr != nil {
					st.Err = d.damaged(perr)
				}
				if st.Name != "" {
					parts = append(parts, st)
				}
				if perr != nil { // the file cannot be followed past this part
					return h, parts, d.damaged(perr)
				}
			}
			err = d.delim(']')
		default:
			var skip json.RawMessage
			err = d.dec.Decode(&skip)
		}
		if err != nil {
			return h, parts, d.damaged(err)
		}
	}
	if err := d.delim('}'); err != nil {
		return h, parts, d.damaged(err)
	}
	return h, parts, nil
}

// PartStatus is one part of a file: its name, records read and whether it
// verified (Err nil).
type PartStatus struct {
	Name    string
	Records int
	Err     error
}

type decoder struct {
	dec *json.Decoder
}

func (d *decoder) damaged(err error) error {
	if errors.Is(err, ErrDamaged) {
		return err
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: at byte %d: %w", ErrDamaged, d.dec.InputOffset(), err)
}

func (d *decoder) delim(want json.Delim) error {
	tok, err := d.dec.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("want %v, found %v", want, tok)
	}
	return nil
}

func (d *decoder) key() (string, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return "", err
	}
	k, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("want a key, found %v", tok)
	}
	return k, nil
}

// part reads one part object. A structural error is returned as err (the
// file cannot be followed); a checksum, count or record error is in the
// status only.
func (d *decoder) part(open func(string) Loader) (st PartStatus, err error) {
	if err := d.delim('{'); err != nil {
		return st, err
	}
	var (
		sum            hash.Hash32
		count, wantN   int
		wantSum        uint32
		haveN, haveSum bool
		ld             Loader
	)
	for d.dec.More() {
		key, err := d.key()
		if err != nil {
			return st, err
		}
		switch key {
		case "name":
			if err := d.dec.Decode(&st.Name); err != nil {
				return st, err
			}
		case "records":
			if open != nil && st.Name != "" {
				ld = open(st.Name)
			}
			sum = crc32.New(castagnoli)
			if err := d.delim('['); err != nil {
				return st, err
			}
			for d.dec.More() {
				var raw json.RawMessage
				if err := d.dec.Decode(&raw); err != nil {
					return st, err
				}
				sum.Write(raw)
				count++
				if ld != nil && st.Err == nil {
					if err := ld.Record(raw); err != nil {
						st.Err = fmt.Errorf("record %d: %w", count, err)
					}
				}
			}
			if err := d.delim(']'); err != nil {
				return st, err
			}
		case "count":
			haveN = true
			if err := d.dec.Decode(&wantN); err != nil {
				return st, err
			}
		case "crc32c":
			haveSum = true
			if err := d.dec.Decode(&wantSum); err != nil {
				return st, err
			}
		default:
			var skip json.RawMessage
			if err := d.dec.Decode(&skip); err != nil {
				return st, err
			}
		}
	}
	if err := d.delim('}'); err != nil {
		return st, err
	}
	st.Records = count
	switch {
	case st.Err != nil:
	case sum == nil || !haveN || !haveSum:
		st.Err = fmt.Errorf("%w: part has no records, count or checksum", ErrDamaged)
	case count != wantN:
		st.Err = fmt.Errorf("%w: %d records, the part says %d", ErrDamaged, count, wantN)
	case sum.Sum32() != wantSum:
		st.Err = fmt.Errorf("%w: checksum mismatch", ErrDamaged)
	case ld != nil:
		st.Err = ld.Done()
	}
	return st, nil
}

// Value builds a part of one record: save returns it, load restores it (a
// file from before the part existed has no record, and load is not called).
func Value[R any](name string, save func(now time.Time) R, load func(R, time.Time) error) Part {
	return Part{
		Name: name,
		Save: func(now time.Time, emit func(any) error) error { return emit(save(now)) },
		Load: func(now time.Time) Loader { return &valueLoader[R]{load: load, now: now} },
	}
}

type valueLoader[R any] struct {
	load func(R, time.Time) error
	now  time.Time
	seen bool
}

func (v *valueLoader[R]) Record(raw json.RawMessage) error {
	if v.seen {
		return errors.New("more than one record")
	}
	v.seen = true
	var r R
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	return v.load(r, v.now)
}

func (v *valueLoader[R]) Done() error { return nil }

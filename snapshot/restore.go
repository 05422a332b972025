package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Report says what Restore did, for one honest log line.
type Report struct {
	// File is the file restored from; "" when none was (first start, or
	// nothing usable: the state starts empty).
	File    string
	SavedAt time.Time
	// Mark is the journal index File covers: replay the log after it.
	Mark uint64
	// Loaded names the parts restored, Skipped the parts not restored
	// with the reason ("users: checksum mismatch").
	Loaded, Skipped []string
	// Problems describe files that were not used and what became of them.
	Problems []string
	// RemovedTemp counts temp files of interrupted writes removed.
	RemovedTemp int
}

// Restore loads the newest good snapshot into parts. A missing file is a
// first start (empty report, nil error). The newest file is verified
// first; if it is damaged it is moved aside (path+".corrupt-<unix>") and
// the previous one is restored whole when it is good. When neither is
// whole, the good parts of the newest readable one are restored and the
// others skipped, each named. The error is non-nil only when nothing could
// be restored from files that exist.
func Restore(path string, parts []Part, now time.Time) (Report, error) {
	var rep Report
	rep.RemovedTemp = removeTemp(path)
	want := map[string]Part{}
	for _, p := range parts {
		want[p.Name] = p
	}
	type candidate struct {
		path   string
		exists bool
		head   Header
		parts  []PartStatus
		err    error
	}
	check := func(p string) candidate {
		c := candidate{path: p}
		c.head, c.parts, c.err = scan(p, nil)
		c.exists = !errors.Is(c.err, os.ErrNotExist)
		if c.err == nil {
			for _, st := range c.parts {
				if st.Err != nil && want[st.Name].Name != "" {
					c.err = fmt.Errorf("part %s: %w", st.Name, st.Err)
					break
				}
			}
		}
		return c
	}
	if h, _ := ReadHeader(path); h.Version == 1 {
		return restoreV1(path, parts, now, rep)
	}
	newest := check(path)
	chosen := newest
	if newest.err != nil {
		prev := check(Previous(path))
		if newest.exists {
			aside := fmt.Sprintf("%s.corrupt-%d", path, now.Unix())
			if err := os.Rename(path, aside); err != nil {
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %v (and it could not be moved aside: %v)", path, newest.err, err))
			} else {
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %v; moved to %s", path, newest.err, aside))
				newest.path = aside
				chosen = newest
			}
		}
		switch {
		case prev.err == nil:
			chosen = prev
		case prev.exists:
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %v", prev.path, prev.err))
			if goodParts(prev.parts) > goodParts(newest.parts) {
				chosen = prev
			}
		}
		if !chosen.exists {
			if !newest.exists {
				return rep, nil // first start
			}
			return rep, fmt.Errorf("%w: no snapshot could be restored", ErrDamaged)
		}
	}
	// Load what verified, in a second streaming pass.
	good := map[string]bool{}
	for _, st := range chosen.parts {
		if p, ok := want[st.Name]; ok && st.Err == nil {
			good[p.Name] = true
		}
	}
	_, loaded, err := scan(chosen.path, func(name string) Loader {
		if !good[name] {
			return nil
		}
		return want[name].Load(now)
	})
	done := map[string]bool{}
	for _, st := range loaded {
		if !good[st.Name] {
			continue
		}
		done[st.Name] = true
		if st.Err != nil {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: %v", st.Name, st.Err))
			continue
		}
		rep.Loaded = append(rep.Loaded, st.Name)
	}
	for _, p := range parts {
		if done[p.Name] {
			continue
		}
		reason := "not in the file"
		for _, st := range chosen.parts {
			if st.Name == p.Name && st.Err != nil {
				reason = st.Err.Error()
			}
		}
		if !good[p.Name] && chosen.err != nil && reason == "not in the file" {
			reason = "the file is cut before it"
		}
		rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: %s", p.Name, reason))
	}
	if err != nil && len(rep.Loaded) == 0 {
		return rep, err
	}
	rep.File, rep.SavedAt, rep.Mark = chosen.path, chosen.head.SavedAt, chosen.head.JournalMark
	return rep, nil
}

// ReadHeader reads only the header of the snapshot at path (the journal
// mark it covers), without its parts.
func ReadHeader(path string) (Header, error) {
	var h Header
	f, err := os.Open(path)
	if err != nil {
		return h, err
	}
	defer f.Close()
	d := &decoder{dec: json.NewDecoder(f)}
	if err := d.delim('{'); err != nil {
		return h, d.damaged(err)
	}
	for d.dec.More() {
		key, err := d.key()
		if err != nil {
			return h, d.damaged(err)
		}
		var dst any
		switch key {
		case "version":
			dst = &h.Version
		case "saved_at":
			dst = &h.SavedAt
		case "journal_mark":
			dst = &h.JournalMark
		default: // the parts come after the header
			if h.Version != Version {
				return h, fmt.Errorf("%w: version %d, want %d", ErrDamaged, h.Version, Version)
			}
			return h, nil
		}
		if err := d.dec.Decode(dst); err != nil {
			return h, d.damaged(err)
		}
	}
	return h, fmt.Errorf("%w: no parts", ErrDamaged)
}

func goodParts(ps []PartStatus) int {
	n := 0
	for _, p := range ps {
		if p.Err == nil {
			n++
		}
	}
	return n
}

// removeTemp removes the temp files interrupted writes of path left, and
// returns how many.
func removeTemp(path string) int {
	names, _ := filepath.Glob(path + ".tmp-*")
	n := 0
	for _, name := range names {
		if os.Remove(name) == nil {
			n++
		}
	}
	return n
}

// restoreV1 reads a file of format 1 (one JSON object of parts, written
// before the journal existed) once, at the first start of this version:
// it is decoded whole, as that version did, and the next snapshot is
// written in the current format. Nothing in it is checksummed.
func restoreV1(path string, parts []Part, now time.Time, rep Report) (Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return rep, err
	}
	var doc struct {
		SavedAt time.Time                  `json:"saved_at"`
		Parts   map[string]json.RawMessage `json:"parts"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return rep, fmt.Errorf("%w: format 1: %w", ErrDamaged, err)
	}
	for _, p := range parts {
		raw, ok := doc.Parts[p.Name]
		if !ok {
			rep.Skipped = append(rep.Skipped, p.Name+": not in the file")
			continue
		}
		recs := []json.RawMessage{raw} // a part that was one value
		if len(raw) > 0 && raw[0] == '[' {
			recs = nil
			if err := json.Unmarshal(raw, &recs); err != nil {
				rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: %v", p.Name, err))
				continue
			}
		}
		ld := p.Load(now)
		var lerr error
		for _, r := range recs {
			if lerr = ld.Record(r); lerr != nil {
				break
			}
		}
		if lerr == nil {
			lerr = ld.Done()
		}
		if lerr != nil {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: %v", p.Name, lerr))
			continue
		}
		rep.Loaded = append(rep.Loaded, p.Name)
		delete(doc.Parts, p.Name)
	}
	rep.File, rep.SavedAt = path, doc.SavedAt
	return rep, nil
}

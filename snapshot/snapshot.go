// Package snapshot saves replayhook's in-memory state to one file and
// restores it at start, so a restart (deploy, crash-free reboot) keeps every
// acknowledged session. The file is written atomically: a temp file in the
// same directory, fsynced, then renamed over the old one. A corrupt or
// unreadable file is moved aside and the server starts empty — it never
// crashes on it.
package snapshot

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Version is the file format version; files of another version are moved
// aside like corrupt ones.
const Version = 1

// Part is one store's share of the snapshot.
type Part struct {
	Name string
	// Save returns the part's state (JSON-encodable) as of now.
	Save func(now time.Time) any
	// Load restores the part from its JSON, dropping what expired by now.
	Load func(raw json.RawMessage, now time.Time) error
}

type file struct {
	Version int                        `json:"version"`
	SavedAt time.Time                  `json:"saved_at"`
	Parts   map[string]json.RawMessage `json:"parts"`
}

// Write saves every part to path atomically.
func Write(path string, parts []Part, now time.Time) error {
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
	if err := encode(w, parts, now); err != nil {
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
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if d, err := os.Open(dir); err == nil { // make the rename durable
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// encode streams the file part by part so only one part's JSON is in
// memory at a time.
func encode(w io.Writer, parts []Part, now time.Time) error {
	head, _ := json.Marshal(struct {
		Version int       `json:"version"`
		SavedAt time.Time `json:"saved_at"`
	}{Version, now.UTC()})
	if _, err := fmt.Fprintf(w, "%s,\"parts\":{", head[:len(head)-1]); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	for i, p := range parts {
		name, _ := json.Marshal(p.Name)
		sep := ","
		if i == 0 {
			sep = ""
		}
		if _, err := fmt.Fprintf(w, "%s%s:", sep, name); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		if err := json.NewEncoder(w).Encode(p.Save(now)); err != nil {
			return fmt.Errorf("snapshot: part %s: %w", p.Name, err)
		}
	}
	if _, err := io.WriteString(w, "}}\n"); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// ErrCorrupt wraps the reason a snapshot could not be used; the file has
// been moved aside (see Restore).
var ErrCorrupt = errors.New("snapshot unusable")

// Restore loads path into parts. A missing file is not an error (first
// start: restored=false). A file that cannot be read or decoded, or whose
// version is unknown, is renamed to path+".corrupt-<unix>" and an error
// wrapping ErrCorrupt is returned: the caller logs it loudly and starts
// empty. Parts are loaded in order; one that fails leaves the others loaded.
func Restore(path string, parts []Part, now time.Time) (restored bool, savedAt time.Time, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, time.Time{}, nil
	}
	if err != nil {
		return false, time.Time{}, moveAside(path, now, err)
	}
	var doc file
	dec := json.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	derr := dec.Decode(&doc)
	f.Close()
	if derr != nil {
		return false, time.Time{}, moveAside(path, now, derr)
	}
	if doc.Version != Version {
		return false, time.Time{}, moveAside(path, now, fmt.Errorf("version %d, want %d", doc.Version, Version))
	}
	var errs []error
	for _, p := range parts {
		raw, ok := doc.Parts[p.Name]
		if !ok {
			continue
		}
		if err := p.Load(raw, now); err != nil {
			errs = append(errs, fmt.Errorf("part %s: %w", p.Name, err))
		}
	}
	if len(errs) > 0 {
		return true, doc.SavedAt, moveAside(path, now, errors.Join(errs...))
	}
	return true, doc.SavedAt, nil
}

func moveAside(path string, now time.Time, cause error) error {
	aside := fmt.Sprintf("%s.corrupt-%d", path, now.Unix())
	if err := os.Rename(path, aside); err != nil {
		return fmt.Errorf("%w: %v (and it could not be moved aside: %v)", ErrCorrupt, cause, err)
	}
	return fmt.Errorf("%w: %v; moved to %s, starting empty", ErrCorrupt, cause, aside)
}

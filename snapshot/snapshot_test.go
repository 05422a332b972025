package snapshot

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 14, 9, 45, 0, 0, time.UTC)

// kv is a toy store with entries that expire.
type kv struct{ m map[string]time.Time }

func (s *kv) part(name string, ttl time.Duration) Part {
	return Part{
		Name: name,
		Save: func(time.Time) any { return s.m },
		Load: func(raw json.RawMessage, now time.Time) error {
			var m map[string]time.Time
			if err := json.Unmarshal(raw, &m); err != nil {
				return err
			}
			s.m = map[string]time.Time{}
			for k, at := range m {
				if now.Sub(at) < ttl {
					s.m[k] = at
				}
			}
			return nil
		},
	}
}

func TestRoundTripDropsWhatExpired(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "replayhook.snapshot")
	a := &kv{m: map[string]time.Time{"fresh": t0, "old": t0.Add(-2 * time.Hour)}}
	b := &kv{m: map[string]time.Time{"x": t0}}
	if err := Write(path, []Part{a.part("a", time.Hour), b.part("b", time.Hour)}, t0); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temp files left behind: %v", entries)
	}
	a2, b2 := &kv{}, &kv{}
	ok, saved, err := Restore(path, []Part{a2.part("a", time.Hour), b2.part("b", time.Hour)}, t0.Add(30*time.Minute))
	if err != nil || !ok || !saved.Equal(t0) {
		t.Fatalf("restore: %v %v %v", ok, saved, err)
	}
	if _, ok := a2.m["fresh"]; !ok || len(a2.m) != 1 || len(b2.m) != 1 {
		t.Fatalf("restored %v %v", a2.m, b2.m)
	}
}

func TestMissingFileIsAFirstStart(t *testing.T) {
	ok, _, err := Restore(filepath.Join(t.TempDir(), "none"), nil, t0)
	if ok || err != nil {
		t.Fatalf("%v %v", ok, err)
	}
}

func TestUnusableFilesAreMovedAside(t *testing.T) {
	tests := map[string]string{
		"garbage":         "not json at all",
		"truncated":       `{"version":1,"saved_at":"2025-03-14T09:45:00Z","parts":{"a":{"x":`,
		"unknown version": `{"version":99,"parts":{}}`,
		"bad part":        `{"version":1,"parts":{"a":[1,2,3]}}`,
		"empty":           ``,
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "s")
			os.WriteFile(path, []byte(content), 0o600)
			s := &kv{}
			_, _, err := Restore(path, []Part{s.part("a", time.Hour)}, t0)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "moved to") {
				t.Fatalf("want ErrCorrupt with the new location, got %v", err)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("corrupt file still in place: the next start would fail again")
			}
			aside, _ := filepath.Glob(path + ".corrupt-*")
			if len(aside) != 1 {
				t.Fatalf("corrupt file not kept for inspection: %v", aside)
			}
		})
	}
}

func TestWriteReplacesAtomically(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	s := &kv{m: map[string]time.Time{"v1": t0}}
	if err := Write(path, []Part{s.part("a", time.Hour)}, t0); err != nil {
		t.Fatal(err)
	}
	s.m = map[string]time.Time{"v2": t0}
	if err := Write(path, []Part{s.part("a", time.Hour)}, t0); err != nil {
		t.Fatal(err)
	}
	r := &kv{}
	if _, _, err := Restore(path, []Part{r.part("a", time.Hour)}, t0); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.m["v2"]; !ok || len(r.m) != 1 {
		t.Fatalf("%v", r.m)
	}
}

func TestWriteFailsCleanlyOnAnUnwritableDirectory(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o600)
	if err := Write(filepath.Join(blocker, "s"), nil, t0); err == nil {
		t.Fatal("writing under a regular file must fail")
	}
}

func FuzzRestore(f *testing.F) {
	f.Add([]byte(`{"version":1,"parts":{"a":{"k":"2025-03-14T09:45:00Z"}}}`))
	f.Add([]byte(`{"version":1,"parts":{"a":null}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "s")
		os.WriteFile(path, data, 0o600)
		s := &kv{}
		_, _, err := Restore(path, []Part{s.part("a", time.Hour)}, t0)
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}

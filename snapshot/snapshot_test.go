package snapshot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 14, 9, 45, 0, 0, time.UTC)

// kv is a toy store with entries that expire.
type kv struct{ m map[string]time.Time }

type rec struct {
	Key string    `json:"key"`
	At  time.Time `json:"at"`
}

func (s *kv) part(name string, ttl time.Duration) Part {
	return Slice(name, func(time.Time) []rec {
		var out []rec
		for _, k := range slices.Sorted(maps.Keys(s.m)) {
			out = append(out, rec{k, s.m[k]})
		}
		return out
	}, func(rs []rec, now time.Time) {
		if s.m == nil {
			s.m = map[string]time.Time{}
		}
		for _, r := range rs {
			if now.Sub(r.At) < ttl {
				s.m[r.Key] = r.At
			}
		}
	})
}

func stores(n int, tag string) (a, b *kv) {
	a, b = &kv{m: map[string]time.Time{}}, &kv{m: map[string]time.Time{}}
	for i := range n {
		a.m[fmt.Sprintf("%s-a%03d", tag, i)] = t0
		b.m[fmt.Sprintf("%s-b%03d", tag, i)] = t0
	}
	return a, b
}

func restoreInto(t *testing.T, path string) (a, b *kv, rep Report, err error) {
	t.Helper()
	a, b = &kv{}, &kv{}
	rep, err = Restore(path, []Part{a.part("a", time.Hour), b.part("b", time.Hour)}, t0)
	return a, b, rep, err
}

func TestRoundTripDropsWhatExpiredAndKeepsThePreviousFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "replayhook.snapshot")
	a := &kv{m: map[string]time.Time{"fresh": t0, "old": t0.Add(-2 * time.Hour)}}
	b := &kv{m: map[string]time.Time{"x": t0}}
	parts := []Part{a.part("a", time.Hour), b.part("b", time.Hour)}
	if err := Write(path, parts, 7, t0); err != nil {
		t.Fatal(err)
	}
	b.m["y"] = t0
	if err := Write(path, parts, 9, t0); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 2 {
		t.Fatalf("want the snapshot and its previous file, found %v", entries)
	}
	if h, err := ReadHeader(Previous(path)); err != nil || h.JournalMark != 7 {
		t.Fatalf("previous header %+v %v", h, err)
	}
	a2, b2 := &kv{}, &kv{}
	rep, err := Restore(path, []Part{a2.part("a", time.Hour), b2.part("b", time.Hour)}, t0.Add(30*time.Minute))
	if err != nil || rep.File != path || rep.Mark != 9 || !rep.SavedAt.Equal(t0) || len(rep.Skipped) != 0 {
		t.Fatalf("restore: %+v %v", rep, err)
	}
	if _, ok := a2.m["fresh"]; !ok || len(a2.m) != 1 || len(b2.m) != 2 {
		t.Fatalf("restored %v %v", a2.m, b2.m)
	}
}

func TestMissingFileIsAFirstStart(t *testing.T) {
	rep, err := Restore(filepath.Join(t.TempDir(), "none"), nil, t0)
	if err != nil || rep.File != "" {
		t.Fatalf("%+v %v", rep, err)
	}
}

func TestTempFilesOfInterruptedWritesAreRemovedAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replayhook.snapshot")
	for _, n := range []string{".tmp-123", ".tmp-456"} {
		if err := os.WriteFile(path+n, []byte(`{"version":2,"par`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := Restore(path, nil, t0)
	if err != nil || rep.RemovedTemp != 2 {
		t.Fatalf("%+v %v", rep, err)
	}
	if left, _ := filepath.Glob(path + ".tmp-*"); len(left) != 0 {
		t.Fatalf("left %v", left)
	}
}

// damage changes the newest file the way disks and crashes do.
var damage = []struct {
	name string
	hurt func(data []byte) []byte
}{
	{"3 bytes cut", func(d []byte) []byte { return d[:len(d)-3] }},
	{"half the file", func(d []byte) []byte { return d[:len(d)/2] }},
	{"empty", func([]byte) []byte { return nil }},
	{"one structural byte", func(d []byte) []byte {
		i := bytes.Index(d, []byte(`"records":[`)) + len(`"records":`)
		d[i] = '{'
		return d
	}},
	{"version bump", func(d []byte) []byte { return bytes.Replace(d, []byte(`"version":2`), []byte(`"version":3`), 1) }},
	{"a flipped byte inside an id", func(d []byte) []byte {
		i := bytes.Index(d, []byte("new-b007"))
		d[i+5] ^= 0x01
		return d
	}},
}

// With a good previous file, any damage to the newest restores the
// previous one whole (the journal replays everything after its mark), and
// the damaged file is moved aside, not overwritten later.
func TestDamagedNewestFallsBackToThePreviousWhole(t *testing.T) {
	for _, tc := range damage {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "replayhook.snapshot")
			oa, ob := stores(20, "old")
			if err := Write(path, []Part{oa.part("a", time.Hour), ob.part("b", time.Hour)}, 5, t0); err != nil {
				t.Fatal(err)
			}
			na, nb := stores(20, "new")
			if err := Write(path, []Part{na.part("a", time.Hour), nb.part("b", time.Hour)}, 8, t0); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(path)
			if err := os.WriteFile(path, tc.hurt(data), 0o600); err != nil {
				t.Fatal(err)
			}

			a, b, rep, err := restoreInto(t, path)
			if err != nil || rep.File != Previous(path) || rep.Mark != 5 || len(rep.Problems) != 1 || len(rep.Skipped) != 0 {
				t.Fatalf("report %+v, err %v", rep, err)
			}
			if !maps.Equal(a.m, oa.m) || !maps.Equal(b.m, ob.m) {
				t.Fatalf("restored %d/%d entries, want the previous file's 20/20", len(a.m), len(b.m))
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Fatalf("damaged file still at %s", path)
			}
			if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) != 1 {
				t.Fatalf("damaged file not kept aside: %v", aside)
			}
		})
	}
}

// Without a previous file, a damaged part is skipped alone and the report
// names what was and was not restored.
func TestDamagedPartIsSkippedAloneWithoutAPreviousFile(t *testing.T) {
	cases := []struct {
		name     string
		hurt     func([]byte) []byte
		skipped  string
		restoreA bool
	}{
		{"a flipped byte inside part b", damage[5].hurt, "b: snapshot damaged: checksum mismatch", true},
		{"the file cut inside part b", func(d []byte) []byte {
			i := bytes.Index(d, []byte("new-b010"))
			if i < 0 {
				panic("marker new-b010 not found in the snapshot")
			}
			return d[:i]
		}, "b: snapshot damaged: at byte", true},
		{"a flipped byte inside part a", func(d []byte) []byte {
			i := bytes.Index(d, []byte("new-a003"))
			d[i+6] ^= 0x01
			return d
		}, "a: snapshot damaged: checksum mismatch", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "replayhook.snapshot")
			na, nb := stores(20, "new")
			if err := Write(path, []Part{na.part("a", time.Hour), nb.part("b", time.Hour)}, 8, t0); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(path)
			if err := os.WriteFile(path, tc.hurt(data), 0o600); err != nil {
				t.Fatal(err)
			}
			a, b, rep, err := restoreInto(t, path)
			if err != nil || len(rep.Skipped) != 1 || !strings.HasPrefix(rep.Skipped[0], tc.skipped) || len(rep.Loaded) != 1 {
				t.Fatalf("report %+v, err %v", rep, err)
			}
			loaded, skipped := a, b
			if !tc.restoreA {
				loaded, skipped = b, a
			}
			if len(loaded.m) != 20 || len(skipped.m) != 0 {
				t.Fatalf("restored %d and %d entries, want 20 and 0", len(loaded.m), len(skipped.m))
			}
		})
	}
}

// A crash between keeping the previous file and renaming the new one
// leaves only the previous file: it is restored.
func TestOnlyThePreviousFileLeft(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replayhook.snapshot")
	oa, ob := stores(3, "old")
	if err := Write(path, []Part{oa.part("a", time.Hour), ob.part("b", time.Hour)}, 5, t0); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, Previous(path)); err != nil {
		t.Fatal(err)
	}
	a, _, rep, err := restoreInto(t, path)
	if err != nil || rep.File != Previous(path) || len(a.m) != 3 {
		t.Fatalf("%+v %v %v", rep, err, a.m)
	}
}

func TestFileIsStreamedOneRecordPerLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	a, b := stores(2, "x")
	if err := Write(path, []Part{a.part("a", time.Hour), b.part("b", time.Hour)}, 1, t0); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	var doc struct {
		Parts []struct {
			Name    string            `json:"name"`
			Records []json.RawMessage `json:"records"`
			Count   int               `json:"count"`
		} `json:"parts"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || len(doc.Parts) != 2 || doc.Parts[1].Count != 2 {
		t.Fatalf("%v %+v", err, doc)
	}
	if lines := strings.Count(string(data), "\n"); lines != 10 {
		t.Fatalf("%d lines:\n%s", lines, data)
	}
}

// A file of the format before the journal (1) is still restored once.
func TestFormatOneIsRestored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replayhook.snapshot")
	v1 := `{"version":1,"saved_at":"2025-03-14T09:45:00Z","parts":{"a":[{"key":"k1","at":"2025-03-14T09:45:00Z"}],"b":[]}}`
	if err := os.WriteFile(path, []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	a, b, rep, err := restoreInto(t, path)
	if err != nil || len(a.m) != 1 || len(b.m) != 0 || len(rep.Loaded) != 2 || rep.Mark != 0 {
		t.Fatalf("%+v %v %v", rep, err, a.m)
	}
}

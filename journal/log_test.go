package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/replayhook/replayhook/normalize"
)

func entry(i int) *Entry {
	sid := fmt.Sprintf("s-%d", i)
	return &Entry{
		Key: fmt.Sprintf("src\x00id\x00%d", i), At: time.Unix(1_700_000_000+int64(i), 0).UTC(),
		Payloads: []normalize.ActionsPayload{{SessionID: &sid, ProductID: "p",
			Actions: []normalize.SlimAction{{Type: "click", Title: "Buy"}}}},
		Identities: []normalize.Identity{{AnonymousID: "a", UserID: "u"}},
	}
}

func open(t *testing.T, dir string, batch bool) *Log {
	t.Helper()
	l, _, err := Open(Options{Dir: dir, Batch: batch, SegmentBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func appendN(t *testing.T, l *Log, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		applied, err := l.Append(context.Background(), entry(i))
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		applied()
	}
}

// replayKeys reopens dir and returns the keys replayed after mark.
func replayKeys(t *testing.T, dir string, after uint64) ([]string, ReplayReport) {
	t.Helper()
	l := open(t, dir, false)
	var keys []string
	rep, err := l.Replay(after, func(e *Entry) error {
		keys = append(keys, e.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys, rep
}

func keysOf(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, entry(i).Key)
	}
	return out
}

func TestAppendThenReplayAfterReopen(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) {
			dir := t.TempDir()
			l := open(t, dir, batch)
			// Concurrent appends (group commit) each get their own index.
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w*50 + 1; i <= w*50+50; i++ {
						applied, err := l.Append(context.Background(), entry(i))
						if err != nil {
							t.Error(err)
							return
						}
						applied()
					}
				}()
			}
			wg.Wait()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			keys, rep := replayKeys(t, dir, 0)
			slices.Sort(keys)
			want := keysOf(1, 400)
			slices.Sort(want)
			if !slices.Equal(keys, want) || rep.Applied != 400 || rep.Corrupt != 0 {
				t.Fatalf("replayed %d keys (report %+v), want the 400 appended", len(keys), rep)
			}
			// Replay after a mark starts right after it.
			keys, _ = replayKeys(t, dir, 390)
			if len(keys) != 10 {
				t.Fatalf("after 390: %d entries, want 10", len(keys))
			}
		})
	}
}

func TestMarkStopsBeforeTheOldestUnappliedEntry(t *testing.T) {
	l := open(t, t.TempDir(), false)
	var done []func()
	for i := 1; i <= 3; i++ {
		applied, err := l.Append(context.Background(), entry(i))
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, applied)
	}
	done[0]()
	done[2]()
	if got := l.Mark(); got != 1 {
		t.Fatalf("mark with entry 2 still being applied = %d, want 1", got)
	}
	done[1]()
	done[1]() // calling it twice is harmless
	if got := l.Mark(); got != 3 {
		t.Fatalf("mark with everything applied = %d, want 3", got)
	}
}

func TestTruncateThroughDropsOnlyCoveredEntries(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, false)
	appendN(t, l, 1, 2000) // several 64 KiB segments
	if err := l.TruncateThrough(1500); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 2001, 2010)
	l.Close()
	keys, rep := replayKeys(t, dir, 1500)
	if !slices.Equal(keys, keysOf(1501, 2010)) || rep.First != 1501 || rep.Missing != 0 {
		t.Fatalf("replayed %d entries, report %+v; want 1501..2010", len(keys), rep)
	}
	// A snapshot older than the truncation: the gap is reported, not hidden.
	_, rep = replayKeys(t, dir, 1000)
	if rep.Missing != 500 {
		t.Fatalf("missing = %d, want 500 (entries 1001..1500 were truncated)", rep.Missing)
	}
}

// lastSegment is the newest segment file of dir.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	starts := segmentStarts(dir)
	if len(starts) == 0 {
		t.Fatal("no segment")
	}
	return filepath.Join(dir, fmt.Sprintf("%020d", starts[len(starts)-1]))
}

func TestDamagedLogRestoresEveryGoodEntry(t *testing.T) {
	cases := []struct {
		name        string
		damage      func(t *testing.T, path string)
		wantKeys    []string
		wantCorrupt uint64
		wantCut     bool
	}{
		{"three bytes cut off the end", func(t *testing.T, p string) { cut(t, p, 3) }, keysOf(1, 9), 0, true},
		{"half of the last entry written", func(t *testing.T, p string) { cut(t, p, 40) }, keysOf(1, 9), 0, true},
		{"garbage after the last entry", func(t *testing.T, p string) {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write([]byte{0xff, 0xff, 0xff, 0x0f, 'x'}); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}, keysOf(1, 10), 0, true},
		{"a flipped byte inside entry 5", func(t *testing.T, p string) {
			data, _ := os.ReadFile(p)
			at := 0
			for range 4 { // skip entries 1..4: uvarint length + bytes
				at = skipEntry(data, at)
			}
			data[at+20] ^= 0x20
			if err := os.WriteFile(p, data, 0o640); err != nil {
				t.Fatal(err)
			}
		}, append(keysOf(1, 4), keysOf(6, 10)...), 1, false},
		{"an empty file", func(t *testing.T, p string) {
			if err := os.Truncate(p, 0); err != nil {
				t.Fatal(err)
			}
		}, nil, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := open(t, dir, false)
			appendN(t, l, 1, 10)
			l.Close()
			tc.damage(t, lastSegment(t, dir))
			l2, rep, err := Open(Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if (rep.CutBytes > 0) != tc.wantCut || rep.MovedAside != "" {
				t.Fatalf("open report %+v, want a cut: %v", rep, tc.wantCut)
			}
			var keys []string
			rrep, err := l2.Replay(0, func(e *Entry) error { keys = append(keys, e.Key); return nil })
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(keys, tc.wantKeys) || rrep.Corrupt != tc.wantCorrupt {
				t.Fatalf("replayed %q (report %+v), want %q with %d corrupt", keys, rrep, tc.wantKeys, tc.wantCorrupt)
			}
			// The repaired log takes new entries after the good ones.
			appendN(t, l2, 11, 11)
			l2.Close()
			keys, _ = replayKeys(t, dir, 0)
			if keys[len(keys)-1] != entry(11).Key {
				t.Fatalf("entry appended after the repair not replayed: %q", keys)
			}
		})
	}
}

func skipEntry(data []byte, at int) int {
	size, n := uvarint(data[at:])
	return at + n + int(size)
}

func uvarint(b []byte) (uint64, int) {
	var x uint64
	var s uint
	for i, c := range b {
		if c < 0x80 {
			return x | uint64(c)<<s, i + 1
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, 0
}

func cut(t *testing.T, path string, n int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()-n); err != nil {
		t.Fatal(err)
	}
}

func TestDamagedOlderSegmentIsSkippedAlone(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, false)
	appendN(t, l, 1, 1500)
	l.Close()
	starts := segmentStarts(dir)
	if len(starts) < 3 {
		t.Fatalf("want at least 3 segments, have %v", starts)
	}
	// Tear the middle of the second segment (not the newest one).
	second := filepath.Join(dir, fmt.Sprintf("%020d", starts[1]))
	data, _ := os.ReadFile(second)
	if err := os.WriteFile(second, data[:len(data)/2], 0o640); err != nil {
		t.Fatal(err)
	}
	keys, rep := replayKeys(t, dir, 0)
	inSecond := starts[2] - starts[1]
	if rep.Corrupt == 0 || rep.Corrupt >= inSecond || rep.Applied+rep.Corrupt != 1500 {
		t.Fatalf("report %+v; want part of segment 2's %d entries lost and every other entry replayed", rep, inSecond)
	}
	// Every entry outside the torn half is there, in order.
	want := append(keysOf(1, int(starts[1])-1+int(inSecond-rep.Corrupt)), keysOf(int(starts[2]), 1500)...)
	if !slices.Equal(keys, want) {
		t.Fatalf("replayed %d keys, want %d", len(keys), len(want))
	}
}

func TestNopAndGate(t *testing.T) {
	g := NewGate(Nop{})
	if err := g.Admit(); !errors.Is(err, ErrStarting) {
		t.Fatalf("closed gate admits: %v", err)
	}
	g.Open()
	if err := g.Admit(); err != nil {
		t.Fatal(err)
	}
	applied, err := g.Append(context.Background(), entry(1))
	if err != nil {
		t.Fatal(err)
	}
	applied()
}

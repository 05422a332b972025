package journal

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/replayhook/replayhook/internal/diskfull"
)

func TestFullDiskFailsAppendsUntilItHasRoomAgain(t *testing.T) {
	disk := diskfull.Mount(t, "2m")
	dir := filepath.Join(disk, "wal")
	l := open(t, dir, false)
	appendN(t, l, 1, 5)
	diskfull.Fill(t, filepath.Join(disk, "filler"))

	// Entries bigger than what is left: the write fails, never a silent ack.
	acked := keysOf(1, 5)
	var failed bool
	for i := 6; i < 200 && !failed; i++ {
		applied, err := l.Append(context.Background(), entry(i))
		if err != nil {
			failed = true
			break
		}
		applied()
		acked = append(acked, entry(i).Key)
	}
	if !failed {
		t.Fatal("appends on a full disk never failed")
	}
	if l.Admit() == nil || l.Failures() != 1 {
		t.Fatalf("after a failed write: admit %v, failures %d; want an error and 1", l.Admit(), l.Failures())
	}
	if err := l.Reopen(); err == nil {
		t.Fatal("reopened while the disk is still full")
	}

	os.Remove(filepath.Join(disk, "filler"))
	if err := l.Reopen(); err != nil {
		t.Fatalf("reopen with room again: %v", err)
	}
	if err := l.Admit(); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 1000, 1000)
	l.Close()
	keys, rep := replayKeys(t, dir, 0)
	for _, k := range append(acked, entry(1000).Key) {
		if !slices.Contains(keys, k) {
			t.Fatalf("acknowledged entry %q lost (replayed %d, report %+v)", k, len(keys), rep)
		}
	}
}

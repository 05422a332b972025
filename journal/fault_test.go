package journal

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// smallDisk mounts a tmpfs of size bytes (a disk that fills up) and
// returns its path. It needs root; outside CI a machine without it skips.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mount tmpfs (the disk-full test needs root): %v: %s", err, out)
		}
		t.Skipf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes to path until the disk is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			return
		}
	}
}

func TestFullDiskFailsAppendsUntilItHasRoomAgain(t *testing.T) {
	disk := smallDisk(t, "2m")
	dir := filepath.Join(disk, "wal")
	l := open(t, dir, false)
	appendN(t, l, 1, 5)
	fill(t, filepath.Join(disk, "filler"))

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

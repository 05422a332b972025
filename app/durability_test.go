package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/internal/diskfull"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/autoplay"
	"github.com/replayhook/replayhook/snapshot"
)

func newMemoryApp(t *testing.T, snap string) *App {
	t.Helper()
	cfg := config.Default()
	cfg.Sources = []config.Source{{Name: "autoplay", Provider: "autoplay", Secrets: []string{"s3cret-s3cret"}}}
	cfg.Auth.Tokens = []config.Token{{Name: "chat", Token: "chat-token-0123456789", Products: []string{"*"}}}
	cfg.Snapshot.Path = snap
	a, err := New(&cfg, NewLogger(cfg.Log, io.Discard), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func get(a *App, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer chat-token-0123456789")
	a.Server.Handler().ServeHTTP(rec, req)
	return rec
}

func deliver(t *testing.T, a *App, session string) int {
	t.Helper()
	ap, err := autoplay.New(providers.Settings{Secrets: []string{"s3cret-s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"actions","product_id":"p","session_id":"` + session + `","user_id":"u1","actions":[{"index":0,"type":"click","title":"t","description":"d","canonical_url":"https://a.example/"}]}`)
	req := httptest.NewRequest(http.MethodPost, "/webhooks/autoplay", bytes.NewReader(body))
	req.Header = ap.(providers.Signer).Sign(body, "s3cret-s3cret", time.Now())
	rec := httptest.NewRecorder()
	a.Server.Handler().ServeHTTP(rec, req)
	return rec.Code
}

func metric(t *testing.T, a *App, name string) string {
	t.Helper()
	for _, line := range strings.Split(get(a, "/metrics").Body.String(), "\n") {
		if strings.HasPrefix(line, name+" ") {
			return strings.TrimPrefix(line, name+" ")
		}
	}
	t.Fatalf("metric %s not exposed", name)
	return ""
}

// Before Restore: alive, not ready, deliveries 503. After: all served.
func TestLiveButNotReadyUntilRestored(t *testing.T) {
	a := newMemoryApp(t, filepath.Join(t.TempDir(), "s"))
	if get(a, "/livez").Code != 200 || get(a, "/readyz").Code != 503 || deliver(t, a, "s1") != 503 {
		t.Fatal("before the restore: want /livez 200, /readyz 503, deliveries 503")
	}
	if err := a.Restore(time.Now()); err != nil {
		t.Fatal(err)
	}
	if get(a, "/readyz").Code != 200 || deliver(t, a, "s1") != 200 {
		t.Fatal("after the restore: want /readyz 200 and deliveries accepted")
	}
}

// StopSnapshots refuses every later snapshot; a snapshot whose context is
// cancelled leaves the files on disk as they were and no temp file.
func TestSnapshotsStopAndAbandonCleanly(t *testing.T) {
	snap := filepath.Join(t.TempDir(), "s")
	a := newMemoryApp(t, snap)
	if err := a.Restore(time.Now()); err != nil {
		t.Fatal(err)
	}
	if deliver(t, a, "s1") != 200 {
		t.Fatal("delivery refused")
	}
	if err := a.SaveSnapshot(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(snap)

	ctx, cancel := context.WithCancel(context.Background())
	a.Snapshot = append(a.Snapshot, snapshot.Slice("cancels", func(time.Time) []int {
		cancel() // the shutdown arrives in the middle of the write
		return []int{1, 2}
	}, func([]int, time.Time) {}))
	if err := a.SaveSnapshot(ctx, time.Now()); !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned snapshot: %v", err)
	}
	if after, _ := os.ReadFile(snap); !bytes.Equal(before, after) {
		t.Fatal("an abandoned snapshot changed the file")
	}
	if tmp, _ := filepath.Glob(snap + ".tmp-*"); len(tmp) != 0 || get(a, "/readyz").Code != 200 {
		t.Fatalf("abandoned snapshot left %v or made the replica unready", tmp)
	}
	a.StopSnapshots()
	if err := a.SaveSnapshot(context.Background(), time.Now()); !errors.Is(err, ErrStopping) {
		t.Fatalf("snapshot after StopSnapshots: %v", err)
	}
}

// A full disk: deliveries get 503 (never an ack that is not on disk),
// /readyz fails and replayhook_disk_fault is 1; once there is room again
// the journal reopens and everything is back.
func TestFullDiskIsVisibleAndNoAckIsLost(t *testing.T) {
	disk := diskfull.Mount(t, "1m")
	snap := filepath.Join(disk, "s")
	a := newMemoryApp(t, snap)
	if err := a.Restore(time.Now()); err != nil {
		t.Fatal(err)
	}
	if deliver(t, a, "before") != 200 || metric(t, a, "replayhook_disk_fault") != "0" {
		t.Fatal("healthy disk: delivery refused or fault raised")
	}
	diskfull.Fill(t, filepath.Join(disk, "filler"))
	codes := map[int]int{}
	acked := []string{"before"}
	for i := range 400 {
		sid := fmt.Sprintf("full-%d", i)
		code := deliver(t, a, sid)
		if code == 200 {
			acked = append(acked, sid)
		}
		codes[code]++
	}
	if codes[503] == 0 || codes[200]+codes[503] != 400 {
		t.Fatalf("answers on a full disk: %v (want 503s and nothing else but 200s)", codes)
	}
	if get(a, "/readyz").Code != 503 || metric(t, a, "replayhook_disk_fault") != "1" || metric(t, a, "replayhook_journal_failures_total") != "1" {
		t.Fatal("full disk not visible: want /readyz 503 and replayhook_disk_fault 1")
	}
	if err := a.SaveSnapshot(context.Background(), time.Now()); err == nil {
		t.Fatal("snapshot on a full disk succeeded")
	}
	if metric(t, a, "replayhook_snapshot_failures_total") != "1" {
		t.Fatal("snapshot failure not counted")
	}

	os.Remove(filepath.Join(disk, "filler"))
	if err := a.durable.wal.Reopen(); err != nil {
		t.Fatal(err)
	}
	if err := a.SaveSnapshot(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if get(a, "/readyz").Code != 200 || metric(t, a, "replayhook_disk_fault") != "0" || deliver(t, a, "after") != 200 {
		t.Fatal("not recovered once the disk has room")
	}
	acked = append(acked, "after")

	// Every acknowledged delivery is there after a restart.
	a.Close()
	b := newMemoryApp(t, snap)
	if err := b.Restore(time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, sid := range acked {
		if code := get(b, "/v1/sessions/"+sid+"?product_id=p").Code; code != 200 {
			t.Fatalf("acknowledged %s lost across the disk fault and a restart: %d", sid, code)
		}
	}
}

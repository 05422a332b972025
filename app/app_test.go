package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/config"
)

// New wires the memory backend with every store in the snapshot, and a
// server that answers; the Redis backend is exercised end to end by
// replicas_test.go and main's TestTwoReplicasShareRedis.
func TestNewWiresTheMemoryBackend(t *testing.T) {
	cfg := config.Default()
	cfg.Sources = []config.Source{{Name: "autoplay", Provider: "autoplay", Secrets: []string{"s3cret-s3cret"}}}
	cfg.Snapshot.Path = filepath.Join(t.TempDir(), "replayhook.snapshot")
	a, err := New(&cfg, NewLogger(cfg.Log, io.Discard), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if !a.HasJournal() {
		t.Error("the memory backend with a snapshot path and durability: fsync has no journal")
	}
	var names []string
	for _, p := range a.Snapshot {
		names = append(names, p.Name)
	}
	if got, want := strings.Join(names, ","), "dedupe,users,activity,aliases,drift,stream"; got != want {
		t.Errorf("snapshot parts = %s, want %s", got, want)
	}
	if a.Users == nil || a.Server == nil {
		t.Fatal("no users index or server")
	}
	readyz := func() int {
		rec := httptest.NewRecorder()
		a.Server.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code
	}
	if code := readyz(); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before the restore = %d, want 503", code)
	}
	if err := a.Restore(time.Now()); err != nil {
		t.Fatal(err)
	}
	if code := readyz(); code != http.StatusOK {
		t.Errorf("/readyz after the restore = %d", code)
	}
	if !a.LastSaved().IsZero() {
		t.Error("LastSaved before any save is not zero")
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a.MarkSaved(at)
	if !a.LastSaved().Equal(at) {
		t.Errorf("LastSaved = %v, want %v", a.LastSaved(), at)
	}
}

// A source naming an unknown provider is refused, naming the source.
func TestBuildSourcesNamesTheSource(t *testing.T) {
	cfg := config.Default()
	cfg.Sources = []config.Source{{Name: "mystery", Provider: "no-such-vendor"}}
	if _, err := New(&cfg, NewLogger(cfg.Log, io.Discard), time.Now); err == nil || !strings.Contains(err.Error(), "mystery") {
		t.Fatalf("err = %v, want one naming the source", err)
	}
}

// go-redis's own messages (reconnections, failovers) become structured
// warnings of the service's log.
func TestRedisLogIsStructured(t *testing.T) {
	var out strings.Builder
	cfg := config.Default()
	redisLog{NewLogger(cfg.Log, &out)}.Printf(context.Background(), "redis: dial %s: %s", "127.0.0.1:6379", "connection refused")
	line := out.String()
	for _, want := range []string{`"component":"redis"`, `"level":"warning"`, `"msg":"redis: dial 127.0.0.1:6379: connection refused"`} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %s: %s", want, line)
		}
	}
}

// ingest_workers: 0 picks the CPU count, 16 times that with Redis (whose
// round trips leave the CPU idle); a configured value is kept.
func TestIngestWorkers(t *testing.T) {
	cfg := config.Default()
	if got, want := IngestWorkers(&cfg), 16*runtime.GOMAXPROCS(0); got != want {
		t.Errorf("memory, durability: fsync: %d, want %d", got, want)
	}
	cfg.Durability = config.DurabilityBatch
	if got, want := IngestWorkers(&cfg), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("memory, durability: batch: %d, want %d", got, want)
	}
	cfg.Store.Backend = "redis"
	if got, want := IngestWorkers(&cfg), 16*runtime.GOMAXPROCS(0); got != want {
		t.Errorf("redis: %d, want %d", got, want)
	}
	cfg.Server.IngestWorkers = 2
	if got := IngestWorkers(&cfg); got != 2 {
		t.Errorf("set: %d, want 2", got)
	}
}

package app

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/journal"
	"github.com/replayhook/replayhook/normalize"
)

// BenchmarkRestart measures, at a given state size: the snapshot write,
// a restart (New + Restore: snapshot read and journal replay), and the
// heap each needs beyond the live state (peak sampled every 2 ms). Run it
// once: go test -run '^$' -bench Restart -benchtime 1x ./app
func BenchmarkRestart(b *testing.B) {
	for _, tc := range []struct {
		name                     string
		users, sessions, actions int // sessions of actions actions each
		journaled                int // deliveries after the snapshot, replayed at start
	}{
		{"1M users", 1_000_000, 0, 0, 0},
		// The default bounds: 100 k users, the activity store filled to
		// activity.max_bytes (512 MiB) with sessions of 200 actions, and
		// 5 minutes of journal at ~900 deliveries/s.
		{"default bounds", 100_000, 16_000, 200, 270_000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				restartOnce(b, tc.users, tc.sessions, tc.actions, tc.journaled)
			}
		})
	}
}

func benchConfig(b *testing.B, snap string, users int) *config.Config {
	cfg := config.Default()
	cfg.Sources = []config.Source{{Name: "autoplay", Provider: "autoplay", Secrets: []string{"s3cret-s3cret"}}}
	cfg.Snapshot.Path = snap
	cfg.Index.MaxUsers = max(users, cfg.Index.MaxUsers)
	cfg.Dedupe.MaxKeys = max(2*users, cfg.Dedupe.MaxKeys)
	cfg.Index.LookbackSeconds = 3600
	// The setup appends the journal one entry at a time: batch mode spares
	// it an fsync per entry; replay is the same in both modes.
	cfg.Durability = config.DurabilityBatch
	return &cfg
}

func restartOnce(b *testing.B, users, sessions, actions, journaled int) {
	snap := filepath.Join(b.TempDir(), "replayhook.snapshot")
	cfg := benchConfig(b, snap, users)
	a, err := New(cfg, NewLogger(cfg.Log, io.Discard), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	if err := a.Restore(time.Now()); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	at := normalize.UnixSeconds(now)
	entry := func(i, nActions int, desc string) *journal.Entry {
		sid, uid := fmt.Sprintf("s_%d", i), fmt.Sprintf("u_%d", i%users)
		p := normalize.ActionsPayload{Type: "actions", ProductID: "p", SessionID: &sid, UserID: &uid, Source: "autoplay", Provider: "autoplay"}
		for j := range nActions {
			p.Actions = append(p.Actions, normalize.SlimAction{Index: j, Type: "click", Title: "Place order", Description: desc,
				CanonicalURL: "https://shop.example.com/checkout", RawURL: "https://shop.example.com/checkout?step=2",
				TimestampStart: at, TimestampEnd: at})
		}
		return &journal.Entry{Key: "autoplay\x00id\x00" + sid, At: now, Payloads: []normalize.ActionsPayload{p}}
	}
	desc := strings.Repeat("User clicked Place order on the checkout page. ", 2)
	for i := range max(users, sessions) {
		n := 1
		if i < sessions {
			n = actions
		}
		if err := a.Server.Replay(ctx, entry(i, n, desc)); err != nil {
			b.Fatal(err)
		}
	}
	live := heapAfterGC()
	var saveSecs, saveCPU, saveExtra float64
	measure(func() {
		start, cpu := time.Now(), cpuSeconds()
		if err := a.SaveSnapshot(ctx, time.Now()); err != nil {
			b.Fatal(err)
		}
		saveSecs, saveCPU = time.Since(start).Seconds(), cpuSeconds()-cpu
	}, live, &saveExtra)
	for i := range journaled { // deliveries after the snapshot
		applied, err := a.durable.wal.Append(ctx, entry(users+i, 5, desc))
		if err != nil {
			b.Fatal(err)
		}
		applied()
	}
	a.Close()
	a = nil
	runtime.GC() // collect the first app, so its garbage does not weigh on the timed restart

	// The restart, timed without the heap sampler (it stops the world).
	start, cpu := time.Now(), cpuSeconds()
	a2, err := New(cfg, NewLogger(cfg.Log, io.Discard), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	if err := a2.Restore(time.Now()); err != nil {
		b.Fatal(err)
	}
	restartSecs, restartCPU := time.Since(start).Seconds(), cpuSeconds()-cpu
	a2.Close()
	a2 = nil
	base := heapAfterGC()
	// Again, for its memory.
	var restoreExtra float64
	measure(func() {
		a2, err = New(cfg, NewLogger(cfg.Log, io.Discard), time.Now)
		if err != nil {
			b.Fatal(err)
		}
		if err := a2.Restore(time.Now()); err != nil {
			b.Fatal(err)
		}
	}, base, &restoreExtra)
	defer a2.Close()
	restoredLive := heapAfterGC() - base
	b.ReportMetric(saveSecs, "snapshot-s")
	b.ReportMetric(restartSecs, "restart-s")
	// CPU time (user + system) of the process: on a machine shared with
	// other work the wall times above stretch, these do not.
	b.ReportMetric(saveCPU, "snapshot-cpu-s")
	b.ReportMetric(restartCPU, "restart-cpu-s")
	b.ReportMetric(float64(live)/(1<<20), "live-MiB")
	b.ReportMetric(saveExtra/(1<<20), "snapshot-extra-MiB")
	b.ReportMetric((restoreExtra-float64(restoredLive))/(1<<20), "restore-extra-MiB")
}

func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// measure runs f while sampling the heap, and stores in extra the peak
// heap above base. The collector runs at GOGC=10 meanwhile, so that the
// heap follows what is live rather than garbage awaiting a cycle.
func measure(f func(), base uint64, extra *float64) {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > peak.Load() {
					peak.Store(ms.HeapAlloc)
				}
			}
		}
	}()
	f()
	close(done)
	<-stopped
	*extra = max(float64(peak.Load())-float64(base), 0)
}

// cpuSeconds is the process's user + system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

package app

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/internal/redistest"
)

// A Redis with an evicting policy is warned about by check-config and in
// the log at startup; the memory backend has nothing to warn about.
func TestRedisEvictionPolicyIsWarnedAbout(t *testing.T) {
	cfg := config.Default()
	if w := RedisWarnings(&cfg); len(w) != 0 {
		t.Fatalf("memory backend warnings %q", w)
	}
	srv := redistest.Start(t, redistest.Options{Args: []string{"--maxmemory-policy", "allkeys-lru"}})
	cfg.Store.Backend = "redis"
	cfg.Store.Redis.Addr = srv.Addr()
	cfg.Sources = []config.Source{{Name: "autoplay", Provider: "autoplay", Secrets: []string{"s3cret-s3cret"}}}
	if w := RedisWarnings(&cfg); len(w) != 1 || !strings.Contains(w[0], "maxmemory-policy is allkeys-lru") {
		t.Fatalf("check-config warnings %q", w)
	}
	var logs bytes.Buffer
	a, err := New(&cfg, NewLogger(cfg.Log, &logs), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if !strings.Contains(logs.String(), "maxmemory-policy is allkeys-lru") {
		t.Fatalf("no startup warning in the log:\n%s", logs.String())
	}
}

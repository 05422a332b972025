package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/replayhook/replayhook/config"
)

// durabilityEnv selects the replayhook server's durability for a run
// (fsync, batch or off; unset is off, the load tool's historical setup
// with snapshots off). The servers inherit the environment, so it reaches
// the child process without a flag of its own.
const durabilityEnv = "REPLAYHOOK_BENCH_DURABILITY"

// benchDurability sets cfg's durability from durabilityEnv: with fsync or
// batch the server journals every delivery to a fresh directory (removed
// by the returned func) and snapshots every 5 minutes, as by default.
func benchDurability(cfg *config.Config) (func(), error) {
	mode := os.Getenv(durabilityEnv)
	switch mode {
	case "", config.DurabilityOff:
		cfg.Durability = config.DurabilityOff
		return func() {}, nil
	case config.DurabilityFsync, config.DurabilityBatch:
	default:
		return nil, fmt.Errorf("%s=%q: fsync, batch or off", durabilityEnv, mode)
	}
	dir, err := os.MkdirTemp("", "replayhook-bench-state-")
	if err != nil {
		return nil, err
	}
	cfg.Durability = mode
	cfg.Snapshot.Path = filepath.Join(dir, "replayhook.snapshot")
	return func() { os.RemoveAll(dir) }, nil
}

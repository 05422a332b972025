package config

import (
	"path/filepath"
	"time"
)

// Durability modes: when a delivery's journal entry reaches the disk
// relative to its acknowledgement (memory backend with a snapshot path).
const (
	// DurabilityFsync acknowledges a delivery only once its entry is
	// fsynced; concurrent deliveries share one fsync (group commit).
	DurabilityFsync = "fsync"
	// DurabilityBatch acknowledges once the entry is written to the
	// kernel, and fsyncs at most every journal.batch_window: a process
	// crash loses nothing, a machine crash loses at most that window.
	DurabilityBatch = "batch"
	// DurabilityOff writes no journal: a crash loses everything since the
	// last snapshot.
	DurabilityOff = "off"
)

// Journal places and tunes the write-ahead log of the memory backend.
type Journal struct {
	// Dir holds the log's segment files; "" is snapshot.path + ".wal".
	Dir string `yaml:"dir" validate:"max=4096"`
	// BatchWindow is the longest time between fsyncs with durability: batch.
	BatchWindow time.Duration `yaml:"batch_window" validate:"min=1ms,max=10s"`
	// SegmentBytes is the size of one log file; the newest one is held in
	// memory by the log library, so it bounds the log's memory too.
	SegmentBytes int `yaml:"segment_bytes" validate:"min=65536,max=268435456"`
}

// DefaultJournal is the journal section's default.
func DefaultJournal() Journal {
	return Journal{BatchWindow: 10 * time.Millisecond, SegmentBytes: 8 << 20}
}

// JournalDir is where the write-ahead log lives, "" when there is none:
// only the memory backend keeps one, only with a snapshot to truncate it
// against, and not with durability: off.
func (c *Config) JournalDir() string {
	if c.Store.Backend == "redis" || c.Snapshot.Path == "" || c.Durability == DurabilityOff {
		return ""
	}
	if c.Journal.Dir != "" {
		return c.Journal.Dir
	}
	return filepath.Clean(c.Snapshot.Path) + ".wal"
}

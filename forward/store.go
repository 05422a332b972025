package forward

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Entry is one payload queued for one target.
type Entry struct {
	// ID is the delivery id (DeliveryHeader): stable across attempts.
	ID     string `json:"id"`
	Target string `json:"target"`
	// Partition is the target's queue partition, hash(product, session)
	// modulo the target's concurrency: a session's payloads share one
	// partition, which is delivered strictly in order.
	Partition int    `json:"partition"`
	ProductID string `json:"product_id"`
	SessionID string `json:"session_id"`
	// Body is the compact ActionsPayload JSON, signed as is.
	Body json.RawMessage `json:"body"`
	// EnqueuedAt is when ingest queued it (max_age and the lag count from it).
	EnqueuedAt time.Time `json:"enqueued_at"`
	// Attempts made so far, and the last one's outcome.
	Attempts   int    `json:"attempts"`
	LastStatus int    `json:"last_status,omitempty"`
	LastError  string `json:"last_error,omitempty"`

	// ref is the backend's handle (the Redis stream entry id).
	ref string
}

// DeadLetter is a payload given up on: the last answer, the attempts, and
// the payload to redeliver.
type DeadLetter struct {
	ID         string          `json:"id"`
	ProductID  string          `json:"product_id"`
	SessionID  string          `json:"session_id"`
	EnqueuedAt time.Time       `json:"enqueued_at"`
	DeadAt     time.Time       `json:"dead_at"`
	Attempts   int             `json:"attempts"`
	LastStatus int             `json:"last_status,omitempty"`
	LastError  string          `json:"last_error,omitempty"`
	Payload    json.RawMessage `json:"payload"`
}

// QueueStats is one target's queue as the backend sees it (all replicas
// on Redis).
type QueueStats struct {
	// Queued counts payloads waiting or being delivered.
	Queued int64
	// InFlight counts payloads taken by a worker (being tried or waiting
	// to retry).
	InFlight int64
	// Oldest is when the oldest queued payload was enqueued; zero if none.
	Oldest time.Time
	// Dead counts the dead letters kept.
	Dead int64
}

// Limits are one target's queue shape and bounds.
type Limits struct {
	// Partitions is the target's concurrency.
	Partitions int
	// MaxQueued bounds the queue (memory backend).
	MaxQueued int
	// MaxDead bounds the dead letters.
	MaxDead int
}

// ErrQueueFull is returned when a target's queue is at its bound: ingest
// answers 503 and the vendor retries later.
var ErrQueueFull = errors.New("forward queue full")

// ErrUnknownTarget is returned for a target name the configuration lacks.
var ErrUnknownTarget = errors.New("unknown forward target")

// Store is an outbox backend: per target, partitions that are each a FIFO,
// plus a bounded dead-letter list. Implementations are safe for concurrent
// use; every entry is kept until Done or Bury removes it, so a worker that
// stops mid-delivery leaves it for the next holder of its partition.
type Store interface {
	// Add queues entries on their targets' partitions, in order. An error
	// (queue full, backend down) means the caller must not acknowledge.
	Add(ctx context.Context, entries []Entry) error
	// Hold blocks until this process may deliver partition p of target
	// (on Redis: a leased lock, so one replica at a time), and returns a
	// context that ends when the hold is lost, and the release.
	Hold(ctx context.Context, target string, p int) (context.Context, func(), error)
	// Next returns the oldest entry of the partition, waiting for one
	// until ctx ends. It stays queued until Done or Bury.
	Next(ctx context.Context, target string, p int) (Entry, error)
	// Attempted records e's attempt count and last outcome.
	Attempted(ctx context.Context, e Entry) error
	// Done removes a delivered entry.
	Done(ctx context.Context, e Entry) error
	// Bury moves e to the target's dead letters (dropping the oldest
	// beyond the bound).
	Bury(ctx context.Context, e Entry, d DeadLetter) error
	// Stats reads one target's queue.
	Stats(ctx context.Context, target string) (QueueStats, error)
	// Dead lists dead letters oldest first, after the cursor ("" = from
	// the start), at most limit; next is "" on the last page.
	Dead(ctx context.Context, target, cursor string, limit int) (page []DeadLetter, next string, err error)
	// Redeliver queues the dead letters with those ids again (all when ids
	// is empty) with their delivery ids, attempts reset and now as their
	// enqueue time, and says how many.
	Redeliver(ctx context.Context, target string, ids []string, now time.Time) (int, error)
	// DropDead removes every dead letter of the target and says how many.
	DropDead(ctx context.Context, target string) (int, error)
}

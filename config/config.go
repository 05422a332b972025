// Package config loads replayhook's configuration: defaults, then the YAML
// file with ${VAR} / ${VAR:-default} expanded from the environment, decoded
// strictly (an unknown key is an error naming it) and validated (a bad value
// is an error naming its key). See the Configuration section of the
// README.
package config

import (
	"time"
)

// DevSecretPrefix marks development secrets and tokens. The shipped
// config.yaml uses such values as defaults so it runs out of the box; the
// server refuses to listen on a non-loopback address while any is in use.
const DevSecretPrefix = "dev-"

// Config is the whole configuration.
type Config struct {
	Server   Server   `yaml:"server"`
	Auth     Auth     `yaml:"auth"`
	Index    Index    `yaml:"index"`
	Activity Activity `yaml:"activity"`
	Dedupe   Dedupe   `yaml:"dedupe"`
	Drift    Drift    `yaml:"drift"`
	Rejected Rejected `yaml:"rejected"`
	Snapshot Snapshot `yaml:"snapshot"`
	Store    Store    `yaml:"store"`
	Stream   Stream   `yaml:"stream"`
	Log      Log      `yaml:"log"`
	Sources  []Source `yaml:"sources" validate:"dive"`

	// Forward lists the targets stored payloads are pushed to.
	Forward []ForwardTarget `yaml:"forward" validate:"dive"`
	// Durability is when an acknowledged delivery is on disk: fsync |
	// batch | off; Journal places the write-ahead log (config/durability.go).
	Durability string  `yaml:"durability" validate:"oneof=fsync batch off"`
	Journal    Journal `yaml:"journal"`

	// src remembers each value's line and ${VAR} origin, for messages.
	src *sourceMap
}

// Server is the HTTP listener.
type Server struct {
	Addr string `yaml:"addr" validate:"required,listen_addr"`
	// MaxBodyBytes bounds a webhook body (413 beyond it).
	MaxBodyBytes int64 `yaml:"max_body_bytes" validate:"min=1024,max=67108864"`
	// MaxHeaderBytes bounds request headers (net/http answers 431 beyond it).
	MaxHeaderBytes  int           `yaml:"max_header_bytes" validate:"min=4096,max=1048576"`
	ReadTimeout     time.Duration `yaml:"read_timeout" validate:"min=100ms,max=5m"`
	WriteTimeout    time.Duration `yaml:"write_timeout" validate:"min=100ms,max=5m"`
	IdleTimeout     time.Duration `yaml:"idle_timeout" validate:"min=1s,max=1h"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" validate:"min=1s,max=10m"`
	// DrainDelay is how long /readyz fails before the listener closes on
	// SIGTERM, so a load balancer stops sending traffic first (0 = close at once).
	DrainDelay time.Duration `yaml:"drain_delay" validate:"min=0,max=5m"`
	// MaxConcurrentIngests bounds webhook requests in progress; beyond it the
	// server answers 503 with Retry-After instead of queueing.
	MaxConcurrentIngests int `yaml:"max_concurrent_ingests" validate:"min=1,max=100000"`
	// IngestWorkers is how many of those run at once; the others wait in
	// line (body read, within max_body_reads) for at most
	// IngestQueueTimeout, then get 503 with
	// Retry-After. Capping the deliveries that compete for the CPU keeps
	// lookups fast while ingest runs at full load. 0 means automatic: the
	// number of CPUs Go uses with the memory store, 16 times that with
	// Redis (whose round trips leave the CPU idle).
	IngestWorkers int `yaml:"ingest_workers" validate:"min=0,max=100000"`
	// IngestQueueTimeout bounds the wait for a worker.
	IngestQueueTimeout time.Duration `yaml:"ingest_queue_timeout" validate:"min=1ms,max=1m"`
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed; empty
	// means the client address is the TCP peer.
	TrustedProxies []string `yaml:"trusted_proxies" validate:"dive,cidr"`
	// Limits are the abuse bounds (connections, bodies, per-client caps).
	Limits `yaml:",inline" validate:"-"`
}

// Auth holds the lookup API's bearer tokens.
type Auth struct {
	Tokens []Token `yaml:"tokens" validate:"dive"`
}

// Token is one bearer token, limited to some product ids ("*" = all).
type Token struct {
	Name     string   `yaml:"name" validate:"required,max=64"`
	Token    string   `yaml:"token" validate:"required,min=8,max=512"`
	Products []string `yaml:"products" validate:"required,min=1,dive,required,max=256"`
}

// Index bounds the user → sessions index.
type Index struct {
	LookbackSeconds    int `yaml:"lookback_seconds" validate:"min=1,max=31536000"`
	MaxSessionsPerUser int `yaml:"max_sessions_per_user" validate:"min=1,max=1000"`
	MaxUsers           int `yaml:"max_users" validate:"min=1,max=100000000"`
}

// Lookback is LookbackSeconds as a duration.
func (i Index) Lookback() time.Duration { return time.Duration(i.LookbackSeconds) * time.Second }

// Activity bounds the per-session activity store.
type Activity struct {
	MaxSessions          int `yaml:"max_sessions" validate:"min=1,max=100000000"`
	MaxActionsPerSession int `yaml:"max_actions_per_session" validate:"min=1,max=100000"`
	// MaxBytes bounds the whole store's memory (least recently used
	// sessions evicted); MaxBytesPerSession one session's action data
	// (oldest actions dropped). 0 = no byte bound.
	MaxBytes           int64 `yaml:"max_bytes" validate:"min=0"`
	MaxBytesPerSession int   `yaml:"max_bytes_per_session" validate:"min=0,max=1073741824"`
}

// Dedupe bounds the record of deliveries already stored.
type Dedupe struct {
	MaxKeys       int `yaml:"max_keys" validate:"min=1,max=100000000"`
	WindowSeconds int `yaml:"window_seconds" validate:"min=1,max=2592000"`
}

// Window is WindowSeconds as a duration.
func (d Dedupe) Window() time.Duration { return time.Duration(d.WindowSeconds) * time.Second }

// Drift bounds identity-drift tracking.
type Drift struct {
	// MaxLookupMisses bounds the distinct missed user ids remembered.
	MaxLookupMisses int `yaml:"max_lookup_misses" validate:"min=1,max=1000000"`
	// MaxConflicts bounds the session and email conflicts remembered.
	MaxConflicts int `yaml:"max_conflicts" validate:"min=1,max=1000000"`
	// MaxKnownIDs bounds the known user ids, emails and anonymous ids kept to
	// explain misses.
	MaxKnownIDs int `yaml:"max_known_ids" validate:"min=1,max=10000000"`
	// MaxExamples bounds example session ids per source.
	MaxExamples int `yaml:"max_examples" validate:"min=0,max=100"`
}

// Rejected bounds the log of recent rejected deliveries.
type Rejected struct {
	MaxEntries int `yaml:"max_entries" validate:"min=0,max=100000"`
}

// Snapshot is the on-disk state saved at shutdown and periodically.
type Snapshot struct {
	// Path of the snapshot file; "" turns snapshots off.
	Path     string        `yaml:"path" validate:"max=4096"`
	Interval time.Duration `yaml:"interval" validate:"min=0,max=24h"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level" validate:"oneof=debug info warn error"`
	Format string `yaml:"format" validate:"oneof=json text"`
}

// Source is one webhook endpoint: POST /webhooks/{name}.
type Source struct {
	Name     string `yaml:"name" validate:"required,max=64,source_name"`
	Provider string `yaml:"provider" validate:"required,max=64"`
	// ProductID, when set, is stamped on every payload and payloads naming
	// another product are rejected; empty takes the payload's.
	ProductID string `yaml:"product_id" validate:"max=256"`
	// Secrets are accepted secrets; several allow rotation.
	Secrets []string `yaml:"secrets" validate:"dive,required,max=1024"`
	// SecretHeader names the header of a static secret for vendors that do
	// not sign; empty means Authorization: Bearer.
	SecretHeader     string `yaml:"secret_header" validate:"max=128"`
	ToleranceSeconds int    `yaml:"tolerance_seconds" validate:"min=0,max=86400"`
	// Unsigned accepts deliveries without any check: local development only,
	// refused on a non-loopback address.
	Unsigned bool `yaml:"unsigned"`
	// URLToken, HonorDeletions: see config/source.go.
	URLToken       bool  `yaml:"url_token"`
	HonorDeletions *bool `yaml:"honor_deletions"`
	// Custom is the custom: block of provider custom (config/custom.go).
	Custom *Custom `yaml:"custom"`
}

// Tolerance is ToleranceSeconds as a duration.
func (s Source) Tolerance() time.Duration { return time.Duration(s.ToleranceSeconds) * time.Second }

// Default returns the configuration used for every key the file omits.
func Default() Config {
	return Config{
		Server: Server{
			Addr: "127.0.0.1:8080", MaxBodyBytes: 1 << 20, MaxHeaderBytes: 64 << 10,
			ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
			ShutdownTimeout: 20 * time.Second, MaxConcurrentIngests: 512, IngestQueueTimeout: 500 * time.Millisecond,
			Limits: DefaultLimits(),
		},
		Index:    Index{LookbackSeconds: 300, MaxSessionsPerUser: 20, MaxUsers: 100000},
		Activity: Activity{MaxSessions: 100000, MaxActionsPerSession: 200, MaxBytes: 512 << 20, MaxBytesPerSession: 1 << 20},
		Dedupe:   Dedupe{MaxKeys: 200000, WindowSeconds: 86400},
		Drift:    Drift{MaxLookupMisses: 1000, MaxConflicts: 1000, MaxKnownIDs: 100000, MaxExamples: 5},
		Rejected: Rejected{MaxEntries: 200},
		Snapshot: Snapshot{Path: "data/replayhook.snapshot", Interval: 5 * time.Minute},
		Stream:   defaultStream(),
		Store: Store{Backend: "memory", Redis: Redis{
			Addr: "127.0.0.1:6379", KeyPrefix: "replayhook:", PoolSize: 0,
			DialTimeout: 2 * time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
		}},
		Log: Log{Level: "info", Format: "json"},

		Forward:    []ForwardTarget{},
		Durability: DurabilityFsync, Journal: DefaultJournal(),
	}
}

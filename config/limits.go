package config

import (
	"fmt"
	"time"
)

// Limits are the server's abuse bounds, written under server: in the file:
// how many connections it holds, how many webhook bodies it buffers, how
// slowly a body may arrive, and how much of the ingest capacity one client
// address or one source may take. Together they keep a client without
// credentials from stalling ingest: the body is read before a delivery
// competes for a worker, a sender slower than MinBodyRate is cut off after
// BodyReadGrace, and neither one address nor one source name can hold every
// slot.
type Limits struct {
	// MaxConnections bounds the TCP connections held open at once (idle
	// keep-alive ones included); at the limit a new connection closes the
	// one idle the longest, or waits in the kernel's accept queue while
	// every connection is busy.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerIP bounds the connections one client address holds;
	// beyond it a new connection is closed at once. Peers listed in
	// trusted_proxies are exempt (they carry many clients). 0 = no cap.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
	// MaxBodyReads bounds the webhook bodies in memory before a worker takes
	// them (being read, or read and waiting); beyond it 503 + Retry-After at
	// once. Ingest memory is at most MaxBodyReads × max_body_bytes.
	MaxBodyReads int `yaml:"max_body_reads"`
	// MinBodyRate is the slowest a webhook body may arrive, in bytes per
	// second, once BodyReadGrace has passed; a slower sender gets 408
	// body_too_slow and its connection is closed.
	MinBodyRate int `yaml:"min_body_rate"`
	// BodyReadGrace is how long a body may take before MinBodyRate applies
	// (covers a slow start and a small body sent in one late packet).
	BodyReadGrace time.Duration `yaml:"body_read_grace"`
	// MaxIngestsPerIP bounds the webhook requests one client address has in
	// progress (reading, waiting or running); beyond it 503 + Retry-After.
	// 0 = no cap (behind a proxy that is not in trusted_proxies every
	// client has the proxy's address).
	MaxIngestsPerIP int `yaml:"max_ingests_per_ip"`
	// MaxIngestsPerSource bounds the webhook requests one source has in
	// progress, so deliveries to a guessed source name cannot take the slots
	// of the others; beyond it 503 + Retry-After. 0 = no cap.
	MaxIngestsPerSource int `yaml:"max_ingests_per_source"`
}

// DefaultLimits are the Limits a file that omits them gets. A connection
// costs about 17 KB while idle, so 4096 of them stay under 70 MB; 128
// buffered bodies of the default 1 MiB stay under 128 MiB. 4 KiB/s after
// 2 s lets any real webhook through (a 1 MiB body at that rate would take
// longer than read_timeout anyway) and cuts a trickling sender after 2 s
// instead of read_timeout.
func DefaultLimits() Limits {
	return Limits{
		MaxConnections: 4096, MaxConnectionsPerIP: 256, MaxBodyReads: 128,
		MinBodyRate: 4096, BodyReadGrace: 2 * time.Second,
		MaxIngestsPerIP: 32, MaxIngestsPerSource: 256,
	}
}

// validateLimits returns a problem per bad value, each naming its key.
func (l Limits) validateLimits() []string {
	var problems []string
	check := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			problems = append(problems, fmt.Sprintf("server.%s: must be from %d to %d (got %d)", key, lo, hi, v))
		}
	}
	check("max_connections", l.MaxConnections, 16, 1_000_000)
	check("max_connections_per_ip", l.MaxConnectionsPerIP, 0, 1_000_000)
	check("max_body_reads", l.MaxBodyReads, 1, 100_000)
	check("min_body_rate", l.MinBodyRate, 1, 1<<30)
	check("max_ingests_per_ip", l.MaxIngestsPerIP, 0, 100_000)
	check("max_ingests_per_source", l.MaxIngestsPerSource, 0, 100_000)
	if l.BodyReadGrace < 100*time.Millisecond || l.BodyReadGrace > 5*time.Minute {
		problems = append(problems, fmt.Sprintf("server.body_read_grace: must be from 100ms to 5m (got %s)", l.BodyReadGrace))
	}
	return problems
}

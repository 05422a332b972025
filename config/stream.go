package config

import (
	"fmt"
	"time"
)

// Stream configures GET /stream/{product_id}, the Server-Sent Events
// stream of stored payloads that the Autoplay SDK's ConnectorClient reads.
type Stream struct {
	// ReplayEvents bounds each product's replay buffer (the events a client
	// reconnecting with Last-Event-ID can catch up on) by count.
	ReplayEvents int `yaml:"replay_events" validate:"min=1,max=1000000"`
	// ReplaySeconds bounds it by age.
	ReplaySeconds int `yaml:"replay_seconds" validate:"min=1,max=86400"`
	// ReplayMaxBytes bounds the memory store's replay buffers of every
	// product together (the payloads' JSON); the oldest events go first.
	// Redis keeps its streams within replay_events and replay_seconds and
	// its own maxmemory.
	ReplayMaxBytes int64 `yaml:"replay_max_bytes" validate:"min=65536,max=68719476736"`
	// MaxProducts bounds the products the stream remembers as seen in a
	// stored delivery (and, with the memory store, keeps a buffer for);
	// the least recently fed is forgotten first. Products a source names
	// are always known.
	MaxProducts int `yaml:"max_products" validate:"min=1,max=1000000"`
	// MaxSubscribers bounds open streams on this replica; beyond it a new
	// one is answered 503 with Retry-After.
	MaxSubscribers int `yaml:"max_subscribers" validate:"min=1,max=1000000"`
	// MaxSubscribersPerToken bounds the open streams of one auth token.
	MaxSubscribersPerToken int `yaml:"max_subscribers_per_token" validate:"min=1,max=1000000"`
	// SendQueue bounds the events waiting to be written to one subscriber;
	// a subscriber that falls this far behind is disconnected (it
	// reconnects and catches up from the replay buffer), so a slow reader
	// never slows ingest.
	SendQueue int `yaml:"send_queue" validate:"min=1,max=100000"`
	// Heartbeat is the interval of the keep-alive message.
	Heartbeat time.Duration `yaml:"heartbeat" validate:"min=100ms,max=5m"`
}

// ReplayAge is ReplaySeconds as a duration.
func (s Stream) ReplayAge() time.Duration { return time.Duration(s.ReplaySeconds) * time.Second }

// defaultStream: 10 000 events / 15 minutes of replay per product covers a
// client's reconnect backoff (30 s at most) many times over; 30 s
// heartbeats keep idle connections alive through proxies that drop them
// after 60 s.
func defaultStream() Stream {
	return Stream{
		ReplayEvents: 10000, ReplaySeconds: 900, ReplayMaxBytes: 256 << 20, MaxProducts: 1000,
		MaxSubscribers: 1000, MaxSubscribersPerToken: 100, SendQueue: 1024, Heartbeat: 30 * time.Second,
	}
}

func (s Stream) validate() []string {
	if s.MaxSubscribersPerToken > s.MaxSubscribers {
		return []string{fmt.Sprintf("stream.max_subscribers_per_token: %d is more than stream.max_subscribers (%d)", s.MaxSubscribersPerToken, s.MaxSubscribers)}
	}
	return nil
}

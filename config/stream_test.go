package config

import (
	"strings"
	"testing"
	"time"
)

func TestStreamDefaultsAndOverrides(t *testing.T) {
	cfg, err := Parse([]byte("stream: {replay_events: 50, heartbeat: 5s, max_subscribers: 10, max_subscribers_per_token: 10}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Stream
	if s.ReplayEvents != 50 || s.Heartbeat != 5*time.Second || s.ReplaySeconds != 900 || s.ReplayAge() != 15*time.Minute || s.SendQueue != 1024 {
		t.Fatalf("stream config: %+v", s)
	}
}

func TestStreamRejectsNamingTheKey(t *testing.T) {
	tests := []struct{ doc, want string }{
		{"stream: {replay_events: 0}", "stream.replay_events"},
		{"stream: {heartbeat: 1ms}", "stream.heartbeat"},
		{"stream: {send_queue: 0}", "stream.send_queue"},
		{"stream: {max_subscribers: 5, max_subscribers_per_token: 6}", "stream.max_subscribers_per_token"},
		{"stream: {replay_max_bytes: 10}", "stream.replay_max_bytes"},
		{"stream: {replay_evnets: 5}", `stream.replay_evnets: unknown key; did you mean "replay_events"?`},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.doc+"\n"), env(nil))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error naming %s", tt.doc, err, tt.want)
		}
	}
}

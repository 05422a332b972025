package config

import (
	"strings"
	"testing"
	"time"
)

// The abuse limits sit under server: next to the other listener settings,
// keep their defaults when omitted, and a bad value names its key.
func TestLimitsLoadUnderServer(t *testing.T) {
	cfg, err := Parse([]byte("server:\n  max_connections: 100\n  max_ingests_per_ip: 0\n  body_read_grace: 500ms\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultLimits()
	want.MaxConnections, want.MaxIngestsPerIP, want.BodyReadGrace = 100, 0, 500*time.Millisecond
	if cfg.Server.Limits != want {
		t.Errorf("limits = %+v, want %+v", cfg.Server.Limits, want)
	}
	if d := Default(); d.Server.Limits != DefaultLimits() {
		t.Errorf("Default() limits = %+v", d.Server.Limits)
	}
}

func TestLimitsValidation(t *testing.T) {
	for _, tc := range []struct{ doc, key string }{
		{"server:\n  max_connections: 15\n", "server.max_connections"},
		{"server:\n  max_connections_per_ip: -1\n", "server.max_connections_per_ip"},
		{"server:\n  max_body_reads: 0\n", "server.max_body_reads"},
		{"server:\n  min_body_rate: 0\n", "server.min_body_rate"},
		{"server:\n  body_read_grace: 10ms\n", "server.body_read_grace"},
		{"server:\n  max_ingests_per_ip: -5\n", "server.max_ingests_per_ip"},
		{"server:\n  max_ingests_per_source: 100001\n", "server.max_ingests_per_source"},
		{"server:\n  max_conections: 10\n", "max_conections"}, // a typo is an unknown key
	} {
		_, err := Parse([]byte(tc.doc), env(nil))
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%q: error %v, want one naming %s", tc.doc, err, tc.key)
		}
	}
}

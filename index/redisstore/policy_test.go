package redisstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/replayhook/replayhook/index/redisstore"
)

func TestPolicyWarning(t *testing.T) {
	for _, tc := range []struct {
		policy string
		want   string // a substring; "" means no warning
	}{
		{"noeviction", ""},
		{"allkeys-lru", "sessions can come back with actions missing"},
		{"allkeys-random", "set maxmemory-policy noeviction"},
		{"volatile-lru", "sessions can come back with actions missing"},
		{"volatile-ttl", "set maxmemory-policy noeviction"},
		{"something-new", "does not know"},
	} {
		got := redisstore.PolicyWarning(tc.policy)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("PolicyWarning(%q) = %q, want %q", tc.policy, got, tc.want)
		}
	}
}

// TestEvictionPolicyWarnings asks real servers: one with an evicting
// policy, one with noeviction, and one that refuses CONFIG (as managed
// Redis services do), which is tolerated with a warning.
func TestEvictionPolicyWarnings(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"volatile-lru", []string{"--maxmemory-policy", "volatile-lru"}, "maxmemory-policy is volatile-lru"},
		{"noeviction", []string{"--maxmemory-policy", "noeviction"}, ""},
		{"CONFIG refused", []string{"--rename-command", "CONFIG", ""}, "cannot read Redis's maxmemory-policy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startRedis(t, false, tc.args...)
			got := redisstore.CheckEvictionPolicy(ctx, redisConfig(srv, "x:"))
			if tc.want == "" {
				if len(got) != 0 {
					t.Fatalf("warnings %q, want none", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0], tc.want) {
				t.Fatalf("warnings %q, want one containing %q", got, tc.want)
			}
			if tc.name == "volatile-lru" {
				st := newStore(t, srv, redisstore.Limits{})
				if w := st.EvictionPolicyWarnings(ctx); len(w) != 1 || w[0] != got[0] {
					t.Fatalf("Store.EvictionPolicyWarnings = %q, want %q", w, got)
				}
			}
		})
	}
}

package redisstore

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/replayhook/replayhook/config"
)

// PolicyWarning is the warning for Redis's maxmemory-policy, "" when the
// policy is noeviction. replayhook keeps its memory bounded by TTLs and
// expects Redis to refuse writes (503, the vendor retries) rather than
// evict: any evicting policy drops keys the stores count on, one key at a
// time, so a session can come back with its actions list evicted (or its
// hash, or a user's refs), a dedupe key can vanish inside its window, and
// an alias or a per-user erasure set can disappear early (docs/redis.md).
func PolicyWarning(policy string) string {
	switch {
	case policy == "noeviction":
		return ""
	case strings.HasPrefix(policy, "allkeys-"), strings.HasPrefix(policy, "volatile-"):
		return fmt.Sprintf("Redis maxmemory-policy is %s: at maxmemory Redis evicts keys one by one, so sessions can come back with actions missing, "+
			"a replayed delivery inside the dedupe window can be stored again and an erasure can miss sessions; "+
			"set maxmemory-policy noeviction (writes are then refused with 503 and vendors retry; see docs/redis.md)", policy)
	}
	return fmt.Sprintf("Redis maxmemory-policy is %q, which replayhook does not know; noeviction is the policy it is built for (docs/redis.md)", policy)
}

// EvictionPolicyWarnings reads maxmemory-policy (CONFIG GET) from Redis
// (every master of a Cluster) and returns a warning for each node whose
// policy is not noeviction. A Redis that refuses CONFIG (managed services
// often do) gives a warning saying so, not an error: the policy must then
// be checked by hand.
func (s *Store) EvictionPolicyWarnings(ctx context.Context) []string {
	return evictionPolicyWarnings(ctx, s.rdb)
}

// CheckEvictionPolicy connects to the Redis cfg names, reads its eviction
// policy as EvictionPolicyWarnings does, and disconnects: for check-config,
// which does not start the stores. A Redis it cannot reach is a warning.
func CheckEvictionPolicy(ctx context.Context, cfg config.Redis) []string {
	rdb, err := newClient(cfg)
	if err != nil {
		return []string{"cannot check Redis's maxmemory-policy: " + err.Error()}
	}
	defer func() { _ = rdb.Close() }()
	return evictionPolicyWarnings(ctx, rdb)
}

func evictionPolicyWarnings(ctx context.Context, rdb redis.UniversalClient) []string {
	var (
		mu   sync.Mutex
		out  []string
		read = func(ctx context.Context, c redis.Cmdable, node string) {
			var w string
			m, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
			switch policy, ok := m["maxmemory-policy"]; {
			case err != nil:
				w = "cannot read Redis's maxmemory-policy (" + err.Error() + "): check by hand that it is noeviction (docs/redis.md)"
			case !ok:
				w = "Redis did not report its maxmemory-policy: check by hand that it is noeviction (docs/redis.md)"
			default:
				w = PolicyWarning(policy)
			}
			if w != "" {
				if node != "" {
					w = node + ": " + w
				}
				mu.Lock()
				out = append(out, w)
				mu.Unlock()
			}
		}
	)
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			read(ctx, c, c.Options().Addr)
			return nil
		})
		if err != nil {
			out = append(out, "cannot read the Cluster's maxmemory-policy ("+err.Error()+"): check by hand that it is noeviction (docs/redis.md)")
		}
	} else {
		read(ctx, rdb, "")
	}
	return out
}

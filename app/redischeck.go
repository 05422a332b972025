package app

import (
	"context"
	"time"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index/redisstore"
)

// RedisCheckTimeout bounds check-config's look at Redis.
const RedisCheckTimeout = 5 * time.Second

// RedisWarnings are check-config's warnings about the Redis cfg names (its
// eviction policy: see redisstore.PolicyWarning); none with the memory
// backend. A Redis that cannot be reached or refuses CONFIG is a warning,
// never an error: check-config may run where Redis is not reachable.
func RedisWarnings(cfg *config.Config) []string {
	if cfg.Store.Backend != "redis" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), RedisCheckTimeout)
	defer cancel()
	return redisstore.CheckEvictionPolicy(ctx, cfg.Store.Redis)
}

package redisstore

import "github.com/redis/go-redis/v9"

// Client is the store's Redis client, for what shares its connection pool
// (the Redis drift tracker). Closing the Store closes it.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

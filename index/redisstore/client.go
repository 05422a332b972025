package redisstore

import "github.com/redis/go-redis/v9"

// Client is the store's Redis client, for features that keep their own
// keys under the same Redis and prefix (the Redis drift tracker, the SSE
// stream's Redis Streams). Closing the Store closes it.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Prefix is the key prefix every key of the store starts with.
func (s *Store) Prefix() string { return s.prefix }

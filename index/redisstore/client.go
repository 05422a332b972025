package redisstore

import "github.com/redis/go-redis/v9"

// Client is the store's Redis client, for other packages that keep their
// own structures in the same Redis (push forwarding's streams); closed by
// Close.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

package indextest_test

import (
	"testing"
	"time"

	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/index/indextest"
)

// The memory stores pass the conformance suite (index/redisstore runs the
// same suite against Redis).

func TestMemoryUsers(t *testing.T) {
	indextest.RunUsers(t, func(_ *testing.T, l index.UserLimits) index.UserIndex { return index.NewMemoryUsers(l) })
}

func TestMemoryActivity(t *testing.T) {
	indextest.RunActivity(t, func(_ *testing.T, perSession int) index.ActivityStore {
		return index.NewMemoryActivity(10000, perSession)
	})
}

func TestMemoryDedupe(t *testing.T) {
	indextest.RunDedupe(t, func(_ *testing.T, window time.Duration) index.Deduper { return index.NewMemoryDedupe(10000, window) })
}

func TestMemoryAliases(t *testing.T) {
	indextest.RunAliases(t, func(_ *testing.T, ttl time.Duration) index.Aliases { return index.NewMemoryAliases(10000, ttl) })
}

func TestMemoryRejected(t *testing.T) {
	indextest.RunRejected(t, func(_ *testing.T, limit int) index.RejectedLog { return index.NewMemoryRejected(limit) })
}

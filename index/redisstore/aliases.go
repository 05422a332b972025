package redisstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/normalize"
)

// aliases is the Redis Aliases: one hash per anonymous id, expiring
// AliasTTL after the last identify.
type aliases Store

var _ index.Aliases = (*aliases)(nil)

// Remember records that id.AnonymousID belongs to id.UserID, as of now. It
// is a no-op when either id is empty after trimming. A non-empty email
// replaces the remembered one; an empty email keeps it only if the user is
// the same. Remembering restarts the alias's TTL.
func (a *aliases) Remember(ctx context.Context, id normalize.Identity, now time.Time) error {
	anon, user, email := strings.TrimSpace(id.AnonymousID), strings.TrimSpace(id.UserID), strings.TrimSpace(id.Email)
	if anon == "" || user == "" {
		return nil
	}
	s := (*Store)(a)
	err := a.scripts.remember.Run(ctx, a.rdb, []string{s.aliasKey(anon)}, anon, user, email,
		strconv.FormatInt(now.Unix(), 10), strconv.Itoa(now.Nanosecond()), ttlMillis(s.windowTTL(a.limits.AliasTTL))).Err()
	if err != nil {
		return unavailable("remember alias", err)
	}
	return nil
}

// Resolve returns who anonymousID (trimmed) belongs to; ok is false when it
// is unknown or was last remembered more than AliasTTL before now (it is
// then deleted). Resolve never creates a key.
func (a *aliases) Resolve(ctx context.Context, anonymousID string, now time.Time) (normalize.Identity, bool, error) {
	anon := strings.TrimSpace(anonymousID)
	if anon == "" {
		return normalize.Identity{}, false, nil
	}
	cs, cn := "", ""
	if sec, nsec, ok := cutoff(now, a.limits.AliasTTL); ok {
		cs, cn = strconv.FormatInt(sec, 10), strconv.FormatInt(nsec, 10)
	}
	res, err := a.scripts.resolve.Run(ctx, a.rdb, []string{(*Store)(a).aliasKey(anon)}, anon, cs, cn).StringSlice()
	if errors.Is(err, redis.Nil) {
		return normalize.Identity{}, false, nil
	}
	if err != nil {
		return normalize.Identity{}, false, unavailable("resolve alias", err)
	}
	if len(res) != 2 {
		return normalize.Identity{}, false, errors.New("redisstore: resolve: malformed reply")
	}
	return normalize.Identity{AnonymousID: anon, UserID: res[0], Email: res[1]}, true, nil
}

// Len is the number of anonymous ids held (not yet expired), -1 when Redis
// fails. It scans the keyspace: for tests and diagnostics only.
func (a *aliases) Len() int { return (*Store)(a).count("a:*") }

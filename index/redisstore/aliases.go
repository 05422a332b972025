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

// aliases is the Redis Aliases: one hash per (product, anonymous id),
// expiring AliasTTL after the last identify, and per user a sorted set of
// the alias keys remembered for them (scored by time), so that ForgetUser
// finds them without scanning the keyspace.
type aliases Store

var _ index.Aliases = (*aliases)(nil)

// Remember records that id.AnonymousID belongs to id.UserID in product, as
// of now. It is a no-op when either id is empty after trimming. A
// non-empty email replaces the remembered one; an empty email keeps it
// only if the user is the same. Remembering restarts the alias's TTL.
//
// The alias key is added to the user's set first: an alias is never
// stored where ForgetUser cannot find it.
func (a *aliases) Remember(ctx context.Context, product string, id normalize.Identity, now time.Time) error {
	product = strings.TrimSpace(product)
	anon, user, email := strings.TrimSpace(id.AnonymousID), strings.TrimSpace(id.UserID), strings.TrimSpace(id.Email)
	if anon == "" || user == "" {
		return nil
	}
	s := (*Store)(a)
	key := s.aliasKey(product, anon)
	ttl := s.windowTTL(a.limits.AliasTTL)
	if err := s.track(ctx, s.userAliasesKey(user), key, now, ttl); err != nil {
		return unavailable("remember alias", err)
	}
	err := a.scripts.remember.Run(ctx, a.rdb, []string{key}, anon, user, email,
		strconv.FormatInt(now.Unix(), 10), strconv.Itoa(now.Nanosecond()), ttlMillis(ttl), product).Err()
	if err != nil {
		return unavailable("remember alias", err)
	}
	return nil
}

// ForgetUser drops every alias of userID (trimmed) in every product and
// returns how many: the aliases its set lists that still belong to it (an
// alias re-assigned to another user since is left alone), then the set.
func (a *aliases) ForgetUser(ctx context.Context, userID string) (int, error) {
	user := strings.TrimSpace(userID)
	if user == "" {
		return 0, nil
	}
	s := (*Store)(a)
	set := s.userAliasesKey(user)
	keys, err := a.rdb.ZRange(ctx, set, 0, -1).Result()
	if err != nil {
		return 0, unavailable("forget aliases", err)
	}
	n := 0
	for _, k := range keys {
		if !strings.HasPrefix(k, s.prefix+"a:") { // the set holds only alias keys of this prefix
			continue
		}
		d, err := a.scripts.forgetAlias.Run(ctx, a.rdb, []string{k}, user).Int()
		if err != nil {
			return n, unavailable("forget alias", err)
		}
		n += d
	}
	if err := a.rdb.Del(ctx, set).Err(); err != nil {
		return n, unavailable("forget aliases", err)
	}
	return n, nil
}

// Resolve returns who anonymousID (trimmed) belongs to in product; ok is
// false when it is unknown there or was last remembered more than AliasTTL
// before now (it is then deleted). Resolve never creates a key.
func (a *aliases) Resolve(ctx context.Context, product, anonymousID string, now time.Time) (normalize.Identity, bool, error) {
	product = strings.TrimSpace(product)
	anon := strings.TrimSpace(anonymousID)
	if anon == "" {
		return normalize.Identity{}, false, nil
	}
	cs, cn := "", ""
	if sec, nsec, ok := cutoff(now, a.limits.AliasTTL); ok {
		cs, cn = strconv.FormatInt(sec, 10), strconv.FormatInt(nsec, 10)
	}
	res, err := a.scripts.resolve.Run(ctx, a.rdb, []string{(*Store)(a).aliasKey(product, anon)}, anon, cs, cn, product).StringSlice()
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

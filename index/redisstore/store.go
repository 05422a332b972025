// Package redisstore implements every index store on Redis, so that several
// replayhook replicas share one index: a delivery received by one replica is
// visible to lookups on all of them.
//
// Each store keeps the semantics of its in-memory counterpart in package
// index (the conformance suite in index/indextest runs against both); the
// differences are in the bounds. The memory stores are bounded by count
// (LRU); here every key carries a TTL instead, and Redis's own maxmemory
// policy is the count bound (see docs/redis.md).
//
// Concurrency: every read-modify-write is one Lua script (EVALSHA), so
// writes to one user or session from any number of replicas at once lose
// nothing. All keys of one user or one session share a hash tag, so every
// script touches a single Cluster slot.
//
// Failures: every error from Redis is returned wrapped with
// index.ErrUnavailable, which the HTTP layer answers with 503 (vendors
// retry). The client does not retry commands itself (a script whose reply
// was lost could otherwise be applied twice); it reconnects by itself when
// Redis is back.
//
// Topologies (config.Redis.Mode): one node, a Redis Cluster (keys spread
// over the masters by hash slot; every script and MULTI touches one slot),
// or a master found through Sentinel (the client follows a failover). On a
// Cluster the client follows no MOVED or ASK redirection either (following
// one re-sends the command): during a resharding or right after a failover
// a write may answer 503 once while the client reloads the slot map.
package redisstore

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
)

// DefaultSessionTTL is how long a session's activity lives after its last
// write when Limits.SessionTTL is not set (and the lookback is shorter).
const DefaultSessionTTL = 24 * time.Hour

// DefaultFallbackTTL is the TTL of keys whose own window is unlimited when
// Limits.FallbackTTL is not set.
const DefaultFallbackTTL = 30 * 24 * time.Hour

// Limits bounds the stores. Zero values take the documented defaults; a
// count below 1 is taken as 1, as in the memory stores.
type Limits struct {
	// Lookback is how long a session ref stays visible after its
	// last_seen_at (index.lookback_seconds). A user's key expires when its
	// newest ref leaves the lookback. <= 0 means refs never expire
	// logically; the key then lives FallbackTTL after its last write.
	Lookback time.Duration
	// MaxSessionsPerUser caps the refs kept per user and product (the
	// newest are kept).
	MaxSessionsPerUser int
	// MaxProductsPerUser caps the products a user holds refs of (see
	// index.UserLimits); <= 0 means index.DefaultMaxProductsPerUser.
	MaxProductsPerUser int
	// MaxActionsPerSession caps the actions kept per session (the newest).
	MaxActionsPerSession int
	// SessionTTL is how long a session's activity lives after its last
	// write; <= 0 means the longer of DefaultSessionTTL and Lookback, so a
	// ref inside the lookback always finds its activity.
	SessionTTL time.Duration
	// DedupeWindow is how long a claimed delivery counts as seen
	// (dedupe.window_seconds); the key lives exactly that long.
	DedupeWindow time.Duration
	// AliasTTL is how long an anonymous id stays linked to its user after
	// the last identify.
	AliasTTL time.Duration
	// RejectedMax is how many rejected deliveries are kept (0 keeps none).
	RejectedMax int
	// FallbackTTL is the TTL of keys whose own window is <= 0 (no lookback,
	// no dedupe window, no alias ttl) and of the rejected log: Redis memory
	// stays bounded whatever the configuration. <= 0 means
	// DefaultFallbackTTL.
	FallbackTTL time.Duration
}

// withDefaults returns l with every default applied.
func (l Limits) withDefaults() Limits {
	l.MaxSessionsPerUser = max(l.MaxSessionsPerUser, 1)
	if l.MaxProductsPerUser <= 0 {
		l.MaxProductsPerUser = index.DefaultMaxProductsPerUser
	}
	l.MaxActionsPerSession = max(l.MaxActionsPerSession, 1)
	l.RejectedMax = max(l.RejectedMax, 0)
	if l.FallbackTTL <= 0 {
		l.FallbackTTL = DefaultFallbackTTL
	}
	if l.SessionTTL <= 0 {
		l.SessionTTL = max(DefaultSessionTTL, l.Lookback)
	}
	return l
}

// Store is one Redis client and the stores built on it. It is safe for
// concurrent use; several Stores (in one process or in several replicas)
// with the same Redis and key prefix share their data.
type Store struct {
	// rdb is a *redis.Client (one node), *redis.ClusterClient or a
	// Sentinel-backed *redis.Client (NewFailoverClient).
	rdb     redis.UniversalClient
	prefix  string
	limits  Limits
	scripts scripts
	// releases remembers dedupe claims that could not be released while
	// Redis failed, to release them when it answers again.
	releases *pendingReleases
}

// New builds the client from cfg, then checks within ctx that Redis
// answers and accepts the store's Lua scripts (on a Cluster, every master).
//
// cfg.Mode() picks the client: one node at cfg.Addr (host:port, or a
// redis:// or rediss:// URL; username, password, db, TLS, pool size and
// timeouts set in cfg override the URL's) or at the single cfg.Addrs
// entry; a Cluster client seeded by cfg.Addrs; or a Sentinel-backed client
// of the master cfg.MasterName, asking the Sentinels at cfg.Addrs
// (cfg.SentinelUsername/SentinelPassword for them, cfg.Username/Password
// for the master). Zero values keep go-redis's defaults.
// A Redis that cannot be reached is an error wrapping index.ErrUnavailable:
// callers decide whether to start anyway (the Store reconnects by itself).
// A key prefix holding '{' or '}' is refused: it would break the hash tags
// that keep one user's keys in one Cluster slot.
func New(ctx context.Context, cfg config.Redis, limits Limits) (*Store, error) {
	if strings.ContainsAny(cfg.KeyPrefix, "{}") {
		return nil, fmt.Errorf("redisstore: key_prefix %q must not contain '{' or '}' (they are Cluster hash tags)", cfg.KeyPrefix)
	}
	rdb, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{
		rdb:      rdb,
		prefix:   cfg.KeyPrefix,
		limits:   limits.withDefaults(),
		scripts:  newScripts(),
		releases: newPendingReleases(maxPendingReleases),
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.rdb.Close()
		return nil, err
	}
	for _, sc := range s.scripts.all() {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			_ = s.rdb.Close()
			return nil, unavailable("load scripts", err)
		}
	}
	return s, nil
}

// newClient builds the client cfg.Mode() asks for. Options common to
// every mode: no retry of a command (see clientOptions), a client name,
// ctx deadlines honoured.
func newClient(cfg config.Redis) (redis.UniversalClient, error) {
	for _, a := range cfg.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil || strings.Contains(a, "://") {
			return nil, fmt.Errorf("redisstore: addrs entry %q is not host:port", a)
		}
	}
	// TLS without a fixed server name: crypto/tls takes each node's host
	// name from the address it dials.
	var tlsConfig *tls.Config
	if cfg.TLS {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	switch cfg.Mode() {
	case config.RedisCluster:
		if cfg.DB != 0 {
			return nil, errors.New("redisstore: a Redis Cluster has database 0 only (db must be 0)")
		}
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: cfg.Addrs, Username: cfg.Username, Password: cfg.Password, TLSConfig: tlsConfig,
			PoolSize: cfg.PoolSize, DialTimeout: cfg.DialTimeout, ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout,
			ClientName: "replayhook", ContextTimeoutEnabled: true,
			// Neither retried nor redirected (a redirection re-sends the
			// command): -1 means none in go-redis.
			MaxRetries: -1, MaxRedirects: -1,
		}), nil
	case config.RedisSentinel:
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: cfg.MasterName, SentinelAddrs: cfg.Addrs,
			SentinelUsername: cfg.SentinelUsername, SentinelPassword: cfg.SentinelPassword,
			Username: cfg.Username, Password: cfg.Password, DB: cfg.DB, TLSConfig: tlsConfig,
			PoolSize: cfg.PoolSize, DialTimeout: cfg.DialTimeout, ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout,
			ClientName: "replayhook", ContextTimeoutEnabled: true, MaxRetries: -1,
		}), nil
	}
	if len(cfg.Addrs) == 1 {
		cfg.Addr = cfg.Addrs[0]
	}
	opts, err := clientOptions(cfg)
	if err != nil {
		return nil, err
	}
	return redis.NewClient(opts), nil
}

// clientOptions turns a single node's configuration (cfg.Addr) into
// go-redis options.
func clientOptions(cfg config.Redis) (*redis.Options, error) {
	var opts *redis.Options
	if strings.Contains(cfg.Addr, "://") {
		o, err := redis.ParseURL(cfg.Addr)
		if err != nil {
			// The URL may hold a password: never echo it.
			return nil, errors.New("redisstore: addr is not a valid redis:// or rediss:// URL")
		}
		opts = o
	} else {
		if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
			return nil, fmt.Errorf("redisstore: addr %q is neither host:port nor a redis:// URL", cfg.Addr)
		}
		opts = &redis.Options{Addr: cfg.Addr}
	}
	if cfg.Username != "" {
		opts.Username = cfg.Username
	}
	if cfg.Password != "" {
		opts.Password = cfg.Password
	}
	if cfg.DB != 0 {
		opts.DB = cfg.DB
	}
	if cfg.TLS && opts.TLSConfig == nil {
		host, _, _ := net.SplitHostPort(opts.Addr)
		opts.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	if cfg.PoolSize > 0 {
		opts.PoolSize = cfg.PoolSize
	}
	if cfg.DialTimeout > 0 {
		opts.DialTimeout = cfg.DialTimeout
	}
	if cfg.ReadTimeout > 0 {
		opts.ReadTimeout = cfg.ReadTimeout
	}
	if cfg.WriteTimeout > 0 {
		opts.WriteTimeout = cfg.WriteTimeout
	}
	opts.ClientName = "replayhook"
	// A command is never retried by the client: a script applied by Redis
	// whose reply was lost would be applied twice (an action appended
	// twice, a claim answered "duplicate" for its own delivery). The
	// caller answers 503 and the vendor retries instead.
	opts.MaxRetries = -1
	opts.ContextTimeoutEnabled = true
	return opts, nil
}

// Ping reports whether Redis answers and accepts writes (for /readyz); on
// a Cluster, whether every master answers (a master down makes its slots'
// users fail). Answering is not enough: a Redis at maxmemory with the
// noeviction policy (OOM), a replica promoted wrongly (READONLY) or one
// whose snapshots fail (MISCONF) answers PING and serves reads, but
// refuses every delivery. So Ping also writes a probe key and deletes it
// at once; on a Cluster the probe reaches the master of its
// slot only, and a full master elsewhere shows as 503 on the writes of its
// users. The error wraps index.ErrUnavailable. When Redis answers, dedupe
// claims whose release failed while it was down are released first.
func (s *Store) Ping(ctx context.Context) error {
	var err error
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() })
	} else {
		err = s.rdb.Ping(ctx).Err()
	}
	if err != nil {
		return unavailable("ping", err)
	}
	if err := s.probeWrite(ctx); err != nil {
		return unavailable("write probe (Redis refuses writes)", err)
	}
	s.flushReleases(ctx)
	return nil
}

// probeTTL bounds the probe key's life should its DEL be lost.
const probeTTL = time.Minute

// probeWrite writes the probe key and deletes it in one pipeline: a Redis
// that refuses writes refuses the SET, and none that accepts it keeps the
// key.
func (s *Store) probeWrite(ctx context.Context) error {
	var set *redis.StatusCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		set = p.Set(ctx, s.probeKey(), "1", probeTTL)
		p.Del(ctx, s.probeKey())
		return nil
	})
	if err == nil {
		err = set.Err()
	}
	return err
}

// probeKey is the key Ping writes to check that Redis accepts writes.
func (s *Store) probeKey() string { return s.prefix + "readyz" }

// Close closes the client; the stores fail afterwards.
func (s *Store) Close() error { return s.rdb.Close() }

// Users is the user → sessions index.
func (s *Store) Users() index.UserIndex { return (*users)(s) }

// Activity is the per-session activity store.
func (s *Store) Activity() index.ActivityStore { return (*activity)(s) }

// Dedupe is the record of deliveries already stored.
func (s *Store) Dedupe() index.Deduper { return (*dedupe)(s) }

// Aliases is the anonymous id → user table.
func (s *Store) Aliases() index.Aliases { return (*aliases)(s) }

// Rejected is the log of recent rejected deliveries.
func (s *Store) Rejected() index.RejectedLog { return (*rejected)(s) }

// unavailable wraps a Redis error so that errors.Is(err,
// index.ErrUnavailable) holds.
func unavailable(op string, err error) error {
	return fmt.Errorf("%w: redis %s: %w", index.ErrUnavailable, op, err)
}

// maxIDInKey is the longest id put into a key name as it is.
const maxIDInKey = 64

// keyPart returns id as it may appear inside a key name: unchanged when it
// is at most 64 bytes of letters, digits and ". _ - @ +", else "~" and the
// hex SHA-256 of id. The result never holds ':', '{', '}' or a glob
// character, so no id can change a key's structure, its hash tag or a SCAN
// pattern, and two different ids never share a key (the values keep the
// original ids, and scripts check them).
func keyPart(id string) string {
	if len(id) <= maxIDInKey && plainID(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "~" + hex.EncodeToString(sum[:])
}

func plainID(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == '-', c == '@', c == '+':
		default:
			return false
		}
	}
	return true
}

// userKey is the hash holding one user's refs and email.
func (s *Store) userKey(userID string) string {
	return s.prefix + "u:{" + keyPart(userID) + "}"
}

// sessionKeys are the hash (identity, summary, last time) and the list
// (actions, oldest first) of one session. Both share the hash tag.
func (s *Store) sessionKeys(k index.SessionKey) (meta, actions string) {
	tag := "s:{" + keyPart(k.ProductID) + ":" + keyPart(k.SessionID) + "}"
	return s.prefix + tag, s.prefix + tag + ":a"
}

// dedupeKey holds one claimed delivery key's claim time, in its source's
// namespace. The delivery key is hashed: its size is fixed whatever
// senders put in their ids. Every key lives exactly its window (or lease):
// no count bound, so no source can evict another's keys; only Redis's
// maxmemory policy can (docs/redis.md).
func (s *Store) dedupeKey(source, key string) string {
	sum := sha256.Sum256([]byte(key))
	return s.prefix + "d:" + keyPart(source) + ":" + hex.EncodeToString(sum[:])
}

// aliasKey is the hash holding who one anonymous id belongs to in product.
// keyPart never holds ':', so the two parts cannot be confused.
func (s *Store) aliasKey(product, anon string) string {
	return s.prefix + "a:" + keyPart(product) + ":" + keyPart(anon)
}

// userAliasesKey is the sorted set of the alias keys remembered for one
// user (score: unix seconds of the last identify), in the user's slot.
func (s *Store) userAliasesKey(userID string) string { return s.userKey(userID) + ":a" }

// userSessionsKey is the sorted set of the sessions one user's deliveries
// wrote to (member: sessionMember, score: unix seconds of the last write),
// in the user's slot: erasure finds every session holding the user's
// actions through it, beyond the per-user cap and the lookback.
func (s *Store) userSessionsKey(userID string) string { return s.userKey(userID) + ":s" }

// emailSessionsKey is the sorted set of the sessions that deliveries
// carrying one email wrote to (as userSessionsKey), so that erasure finds
// sessions that carried the email without a user id.
func (s *Store) emailSessionsKey(email string) string {
	return s.prefix + "m:{" + keyPart(email) + "}:s"
}

// track adds member to the sorted set key at now, drops members older than
// ttl and makes the set live ttl from now: one round trip, the set's
// commands in one pipeline (one slot).
func (s *Store) track(ctx context.Context, key, member string, now time.Time, ttl time.Duration) error {
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		s.trackIn(ctx, p, key, member, now, ttl)
		return nil
	})
	return err
}

// pipelineScript runs sc and the commands more queues in one pipeline (one
// round trip; on a Cluster, one per node, in parallel). A script missing
// from Redis's cache (NOSCRIPT: Redis restarted) is loaded and the
// pipeline sent again: nothing of it ran the first time but the other
// commands, which must be safe to repeat. The first error is returned.
func (s *Store) pipelineScript(ctx context.Context, sc *redis.Script, keys []string, args []any, more func(redis.Pipeliner)) error {
	run := func() error {
		var cmd *redis.Cmd
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			more(p)
			cmd = sc.EvalSha(ctx, p, keys, args...)
			return nil
		})
		if err == nil {
			err = cmd.Err()
		}
		return err
	}
	err := run()
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		if lerr := sc.Load(ctx, s.rdb).Err(); lerr != nil {
			return lerr
		}
		err = run()
	}
	return err
}

// trackIn queues track's commands in p.
func (s *Store) trackIn(ctx context.Context, p redis.Pipeliner, key, member string, now time.Time, ttl time.Duration) {
	nowS := float64(now.Unix())
	p.ZAdd(ctx, key, redis.Z{Score: nowS, Member: member})
	p.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatFloat(nowS-ttl.Seconds(), 'f', 0, 64))
	p.PExpire(ctx, key, time.Duration(ttlMillis(ttl))*time.Millisecond)
}

// rejectedKey is the list of recent rejections, newest first.
func (s *Store) rejectedKey() string { return s.prefix + "rejected" }

// ttlMillis is d in whole milliseconds, at least 1 (PEXPIRE 0 deletes).
func ttlMillis(d time.Duration) int64 { return max(int64((d+time.Millisecond-1)/time.Millisecond), 1) }

// windowTTL is d when positive, else the fallback TTL.
func (s *Store) windowTTL(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return s.limits.FallbackTTL
}

// globEscape escapes SCAN pattern characters in a literal.
func globEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// lenTimeout bounds the SCAN behind the stores' Len.
const lenTimeout = 10 * time.Second

// count returns the number of keys matching pattern (pattern characters in
// the prefix are escaped here), or -1 when Redis fails. It SCANs the whole
// keyspace, of every master on a Cluster: O(keys in the database), for
// tests and diagnostics, not for a metrics scrape.
func (s *Store) count(pattern string) int {
	ctx, cancel := context.WithTimeout(context.Background(), lenTimeout)
	defer cancel()
	match := globEscape(s.prefix) + pattern
	cc, ok := s.rdb.(*redis.ClusterClient)
	if !ok {
		n, err := scanCount(ctx, s.rdb, match)
		if err != nil {
			return -1
		}
		return n
	}
	var total atomic.Int64
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		n, err := scanCount(ctx, c, match)
		total.Add(int64(n))
		return err
	})
	if err != nil {
		return -1
	}
	return int(total.Load())
}

// scanCount counts the keys of one node matching match.
func scanCount(ctx context.Context, c redis.Cmdable, match string) (int, error) {
	n := 0
	iter := c.Scan(ctx, 0, match, 1000).Iterator()
	for iter.Next(ctx) {
		n++
	}
	return n, iter.Err()
}

// cutoff is the oldest time still inside a window of d before now, as
// "seconds nanoseconds" integers (exact in Lua's doubles), or ok=false when
// d <= 0 (no age limit).
func cutoff(now time.Time, d time.Duration) (sec, nsec int64, ok bool) {
	if d <= 0 {
		return 0, 0, false
	}
	c := now.Add(-d)
	return c.Unix(), int64(c.Nanosecond()), true
}

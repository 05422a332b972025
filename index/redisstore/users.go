package redisstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replayhook/replayhook/index"
)

// users is the Redis UserIndex: one hash per user (see linkScript).
type users Store

var _ index.UserIndex = (*users)(nil)

// Link records that userID was active in ref's session at ref.LastSeenAt,
// with the memory index's rules: ids and email trimmed, an empty user or
// session id or a NaN time is a no-op, the time is clamped to [0, now] and
// never moves a ref backwards, expired refs (the new one included) are
// dropped, the newest MaxSessionsPerUser refs of ref's product are kept
// (and the newest MaxProductsPerUser products), a non-empty email replaces
// the one remembered for ref's product. One script: concurrent links from
// any number of replicas lose nothing.
func (u *users) Link(ctx context.Context, userID, email string, ref index.SessionRef, now time.Time) error {
	userID = strings.TrimSpace(userID)
	ref.SessionID = strings.TrimSpace(ref.SessionID)
	ref.ProductID = strings.TrimSpace(ref.ProductID)
	if userID == "" || ref.SessionID == "" || math.IsNaN(ref.LastSeenAt) {
		return nil
	}
	nowS := unixSeconds(now)
	seen := max(min(ref.LastSeenAt, nowS), 0)
	cut, lookbackMs := "", "0"
	if u.limits.Lookback > 0 {
		cut = formatFloat(nowS - u.limits.Lookback.Seconds())
		lookbackMs = strconv.FormatInt(ttlMillis(u.limits.Lookback), 10)
	}
	err := u.scripts.link.Run(ctx, u.rdb, []string{(*Store)(u).userKey(userID)},
		userID, refField(ref.ProductID, ref.SessionID), formatFloat(seen), cut,
		u.limits.MaxSessionsPerUser, strings.TrimSpace(email), formatFloat(nowS), lookbackMs,
		ttlMillis(u.limits.FallbackTTL), ref.ProductID, u.limits.MaxProductsPerUser).Err()
	if err != nil {
		return unavailable("link", err)
	}
	return nil
}

// Lookup returns the user's refs inside the lookback, newest first (on
// equal times the latest linked first), and the remembered email; ok is
// false when the user is unknown or has no ref left. Expired refs are
// deleted, and the user with them when none is left. userID is trimmed.
// Lookup never creates a key.
func (u *users) Lookup(ctx context.Context, userID string, now time.Time) (index.User, bool, error) {
	userID = strings.TrimSpace(userID)
	if userID == "" {
		return index.User{}, false, nil
	}
	cut := ""
	if u.limits.Lookback > 0 {
		cut = formatFloat(unixSeconds(now) - u.limits.Lookback.Seconds())
	}
	res, err := u.scripts.lookup.Run(ctx, u.rdb, []string{(*Store)(u).userKey(userID)}, userID, cut).StringSlice()
	if errors.Is(err, redis.Nil) {
		return index.User{}, false, nil
	}
	if err != nil {
		return index.User{}, false, unavailable("lookup", err)
	}
	out, err := parseUser(res)
	if err != nil {
		return index.User{}, false, err
	}
	return out, true, nil
}

// parseUser reads a lookup or forget reply: {legacy email, field, value,
// ...} with "r:" refs and "e:" emails. Refs come back newest first (on
// equal times the latest linked first), emails sorted by product. A legacy
// email (a hash written before emails were kept per product) belongs to the
// product of the newest ref, unless that product has one of its own.
func parseUser(res []string) (index.User, error) {
	if len(res) < 3 || len(res)%2 != 1 {
		return index.User{}, fmt.Errorf("redisstore: user: malformed reply of %d elements", len(res))
	}
	type seqRef struct {
		index.SessionRef
		seq int64
	}
	refs := make([]seqRef, 0, len(res)/2)
	var emails []index.ProductEmail
	for i := 1; i+1 < len(res); i += 2 {
		if p, ok := strings.CutPrefix(res[i], "e:"); ok {
			emails = append(emails, index.ProductEmail{ProductID: p, Email: res[i+1]})
			continue
		}
		r, seq, err := parseRef(res[i], res[i+1])
		if err != nil {
			return index.User{}, err
		}
		refs = append(refs, seqRef{r, seq})
	}
	if len(refs) == 0 {
		return index.User{}, errors.New("redisstore: user: reply without refs")
	}
	slices.SortFunc(refs, func(a, b seqRef) int {
		if c := cmp.Compare(b.LastSeenAt, a.LastSeenAt); c != 0 {
			return c
		}
		return cmp.Compare(b.seq, a.seq)
	})
	out := index.User{Sessions: make([]index.SessionRef, len(refs))}
	for i, r := range refs {
		out.Sessions[i] = r.SessionRef
	}
	if legacy := res[0]; legacy != "" && (index.User{Emails: emails}).EmailFor(refs[0].ProductID) == "" {
		emails = append(emails, index.ProductEmail{ProductID: refs[0].ProductID, Email: legacy})
	}
	slices.SortFunc(emails, func(a, b index.ProductEmail) int { return strings.Compare(a.ProductID, b.ProductID) })
	out.Emails = emails
	return out, nil
}

// Forget drops the user's refs and emails, returns them (every ref held,
// expired or not) and reports whether the user was held. userID is
// trimmed.
func (u *users) Forget(ctx context.Context, userID string) (index.User, bool, error) {
	userID = strings.TrimSpace(userID)
	if userID == "" {
		return index.User{}, false, nil
	}
	res, err := u.scripts.forget.Run(ctx, u.rdb, []string{(*Store)(u).userKey(userID)}, userID).StringSlice()
	if errors.Is(err, redis.Nil) {
		return index.User{}, false, nil
	}
	if err != nil {
		return index.User{}, false, unavailable("forget", err)
	}
	out, err := parseUser(res)
	if err != nil {
		return index.User{}, false, err
	}
	return out, true, nil
}

// Len is the number of users held (keys not yet expired), -1 when Redis
// fails. It scans the keyspace: for tests and diagnostics only.
func (u *users) Len() int { return (*Store)(u).count("u:{*}") }

// refField is the hash field of the ref (product, session): "r:", the
// product id's length, ":", the product id, then the session id, so that no
// two refs share a field whatever bytes the ids hold.
func refField(product, session string) string {
	return "r:" + strconv.Itoa(len(product)) + ":" + product + session
}

// parseRef reads a ref field and its "<seq> <time>" value.
func parseRef(field, value string) (index.SessionRef, int64, error) {
	bad := fmt.Errorf("redisstore: malformed ref %q = %q", field, value)
	rest, ok := strings.CutPrefix(field, "r:")
	if !ok {
		return index.SessionRef{}, 0, bad
	}
	n, rest, ok := strings.Cut(rest, ":")
	plen, err := strconv.Atoi(n)
	if !ok || err != nil || plen < 0 || plen > len(rest) {
		return index.SessionRef{}, 0, bad
	}
	seqS, tS, ok := strings.Cut(value, " ")
	seq, err1 := strconv.ParseInt(seqS, 10, 64)
	t, err2 := strconv.ParseFloat(tS, 64)
	if !ok || err1 != nil || err2 != nil {
		return index.SessionRef{}, 0, bad
	}
	return index.SessionRef{ProductID: rest[:plen], SessionID: rest[plen:], LastSeenAt: t}, seq, nil
}

// unixSeconds is t as float unix seconds, exactly as the memory index
// computes it.
func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// formatFloat writes f so that Lua's tonumber and Go's ParseFloat read back
// the same double.
func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

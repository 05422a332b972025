// Package index holds replayhook's state: the user → recent sessions index
// (the SDK's UserSessionIndex, bounded), the per-session activity store (the
// SDK's ContextStore), the delivery dedupe record, anonymous-id aliases and
// identity-drift tracking. Every store is an interface with an in-memory
// implementation; every in-memory store is bounded by configuration.
package index

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/replayhook/replayhook/normalize"
)

// ErrUnavailable means the store cannot serve the call right now (e.g. a
// remote backend is down). The HTTP layer answers 503 so vendors retry.
var ErrUnavailable = errors.New("store unavailable")

// SessionKey identifies a session's activity bucket. Sessions are always
// scoped by product: the same session id in two products is two sessions.
type SessionKey struct {
	ProductID string
	SessionID string
}

// SessionRef is one user → session link, as the lookup API returns it.
type SessionRef struct {
	SessionID string `json:"session_id"`
	ProductID string `json:"product_id"`
	// LastSeenAt is unix seconds (float, as in the SDK), newest event time of
	// the session for this user, clamped to the server clock.
	LastSeenAt float64 `json:"last_seen_at"`
}

// User is what the index knows about one user. Everything in it is keyed
// by product: a product's email and refs are written only by deliveries of
// that product, so a reader limited to some products filters them and
// learns nothing of the others.
type User struct {
	// Emails holds the last non-empty email per product that still has a
	// ref, in no particular order.
	Emails   []ProductEmail
	Sessions []SessionRef // newest first
}

// ProductEmail is the email a product's deliveries last gave a user.
type ProductEmail struct {
	ProductID string `json:"product_id"`
	Email     string `json:"email"`
}

// EmailFor returns the email product's deliveries last gave the user, ""
// when none did.
func (u User) EmailFor(product string) string {
	for _, e := range u.Emails {
		if e.ProductID == product {
			return e.Email
		}
	}
	return ""
}

// UserIndex maps user ids to their recent sessions.
//
// Ids are trimmed of surrounding white space on write and on read; case is
// kept. Refs are unique per (product_id, session_id), sorted newest first,
// capped per user and product (MaxSessionsPerUser refs of each product, so
// one product's sessions never push out another's), and refs older than the
// lookback are dropped on every read and write. A user holds at most
// MaxProductsPerUser products (the product with the oldest newest ref goes
// first). The email is kept per product and dies with the product's last
// ref. last_seen_at never moves backwards. Reads never create entries.
type UserIndex interface {
	// Link records that userID was active in ref's session at ref.LastSeenAt.
	// A non-empty email replaces the one remembered for ref.ProductID.
	Link(ctx context.Context, userID, email string, ref SessionRef, now time.Time) error
	// Lookup returns the user's refs still inside the lookback, newest first,
	// and ok=false when the user is unknown (or has no ref left).
	Lookup(ctx context.Context, userID string, now time.Time) (u User, ok bool, err error)
	// Forget drops the user's refs and emails. It returns what it dropped,
	// every ref held whatever its age (erasure uses them to find the
	// user's sessions), and reports whether the user existed.
	Forget(ctx context.Context, userID string) (User, bool, error)
	// Len is the number of users held.
	Len() int
}

// StoredAction is an action with the event time of the payload it came in.
type StoredAction struct {
	normalize.SlimAction
	// At is the payload's event time (unix s, clamped to the server clock),
	// used for lookback filtering like the SDK's forwarded_at.
	At float64 `json:"-"`
}

// Session is one session's stored activity.
type Session struct {
	ProductID string
	SessionID string
	UserID    string // last non-empty user id seen on the session
	Email     string // last non-empty email seen on the session
	Summary   string // latest summary text, "" if none
	Actions   []StoredAction
	LastAt    float64 // newest event time (unix s)
}

// ActivityStore keeps actions and the latest summary per session, bounded in
// sessions and in actions per session (the newest are kept).
type ActivityStore interface {
	// AddActions appends p's actions to key's session; at is p's event time.
	AddActions(ctx context.Context, key SessionKey, p *normalize.ActionsPayload, at float64) error
	// SetSummary replaces key's summary.
	SetSummary(ctx context.Context, key SessionKey, summary string, at float64) error
	// Get returns a copy of the session; ok=false when unknown. Never allocates an entry.
	Get(ctx context.Context, key SessionKey) (s Session, ok bool, err error)
	// EraseUser removes a user's activity (see UserErasure) and returns
	// how many sessions it deleted or changed.
	EraseUser(ctx context.Context, e UserErasure) (int, error)
	// Len is the number of sessions held.
	Len() int
}

// UserErasure is what ActivityStore.EraseUser removes: every session whose
// user is UserID (or, having no user, whose email is one of Emails or that
// is one of Sessions) is deleted whole; from any other session, the
// actions that carry UserID or one of Emails are removed, and a session
// email among Emails is cleared.
type UserErasure struct {
	UserID string
	Emails []string
	// Sessions are sessions known to hold the user's activity (their
	// refs): one of them without a user of its own is theirs. A store
	// that finds sessions by its own record (Redis keeps, per user and per
	// email, the sessions deliveries wrote to) looks here too; the memory
	// store looks at every session anyway.
	Sessions []SessionKey
}

// matches reports whether a user id and email (from a session or an
// action) are the erased user's.
func (e UserErasure) matches(userID, email string) bool {
	return (userID != "" && userID == e.UserID) || (email != "" && slices.Contains(e.Emails, email))
}

// ClaimState is what Deduper.Claim found for a delivery key.
type ClaimState int

const (
	// Claimed means the key was new and is now claimed for ClaimLease. The
	// caller stores the delivery, then Confirms the key, or Releases it if
	// storing failed.
	Claimed ClaimState = iota + 1
	// Seen means the key was confirmed within the window: a duplicate, whose
	// first delivery is stored.
	Seen
	// InFlight means another request claimed the key less than ClaimLease ago
	// and has neither confirmed nor released it. Its delivery may still
	// fail, so this one is not a duplicate yet: the vendor must retry.
	InFlight
)

// ClaimLease is how long an unconfirmed claim holds its key. A request
// that dies between Claim and Confirm (a crash, a lost Redis reply) delays
// the vendor's retry by at most this, instead of turning it into a
// "duplicate" of a delivery that was never stored.
const ClaimLease = 30 * time.Second

// Deduper remembers deliveries already stored, bounded by count and age.
//
// A delivery is Claimed before it is stored and Confirmed after: only a
// confirmed key makes later deliveries duplicates (Seen); a claimed one
// makes them InFlight (retry later), and lapses after ClaimLease. A
// caller that fails to store Releases its claim, so the vendor's retry is
// processed at once.
//
// Keys are kept per source: a key of one source never meets another's, and
// one source's deliveries never evict another's keys.
type Deduper interface {
	Claim(ctx context.Context, source, key string, now time.Time) (ClaimState, error)
	// Confirm marks source's key stored at now: Seen until now + window.
	Confirm(ctx context.Context, source, key string, now time.Time) error
	// Release forgets an unconfirmed claim of source's key (a confirmed
	// key stays).
	Release(ctx context.Context, source, key string) error
	Len() int
}

// Aliases remembers which user an anonymous id belongs to (bounded), per
// product: an identify seen for one product never re-assigns another
// product's anonymous ids. The product is the source's configured
// product ("" for a source without one: such sources share one scope).
type Aliases interface {
	// Remember records that id.AnonymousID belongs to id.UserID in product.
	Remember(ctx context.Context, product string, id normalize.Identity, now time.Time) error
	// Resolve returns who anonymousID belongs to in product.
	Resolve(ctx context.Context, product, anonymousID string, now time.Time) (normalize.Identity, bool, error)
	// ForgetUser drops every alias of userID, in every product, and
	// returns how many it dropped.
	ForgetUser(ctx context.Context, userID string) (int, error)
	Len() int
}

// Rejection is one rejected delivery, for people debugging a vendor setup.
// It never holds the body or a secret.
type Rejection struct {
	At         time.Time `json:"at"`
	Source     string    `json:"source"`
	Code       string    `json:"code"`
	Reason     string    `json:"reason"`
	DeliveryID string    `json:"delivery_id,omitempty"`
	ClientIP   string    `json:"client_ip"`
	BodyBytes  int64     `json:"body_bytes"`
	RequestID  string    `json:"request_id,omitempty"`
}

// RejectedLog keeps the most recent rejected deliveries (bounded).
type RejectedLog interface {
	Add(ctx context.Context, r Rejection) error
	// Recent returns up to limit rejections, newest first.
	Recent(ctx context.Context, limit int) ([]Rejection, error)
}

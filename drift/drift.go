// Package drift tracks identity drift: the ids the chat layer asks with and
// the ids the vendors send stop matching, and lookups come back empty. A
// tracker watches the ingest pipeline and the lookups (it is an observer of
// the HTTP layer) and reports where identity breaks: per-source payloads
// without a user id, lookup misses with the known user ids that are probably
// the same person, sessions carrying several user ids and emails seen on
// several user ids.
//
// Memory is the tracker of one process; package redisdrift keeps the same
// tables in Redis for replicas that share one report. Both build their
// report with Assemble from a window's State, so they report the same thing
// for the same observations. Package driftpage renders a Report as HTML.
package drift

import (
	"time"
)

// A tracker's memory is bounded by Limits and by the per-entry caps below;
// every table evicts its least recently used entry when full.

// Candidate reasons: why a known user id is probably the person a missed
// lookup asked for.
const (
	// ReasonWhitespace: the ids are equal once every white-space and
	// invisible character (zero-width space, BOM, soft hyphen, bidi marks)
	// is removed. Surrounding white space never causes drift (ids are
	// trimmed on write and read); what remains is white space inside an id
	// and invisible characters that trimming does not remove.
	ReasonWhitespace = "whitespace"
	// ReasonCase: the ids differ only in letter case.
	ReasonCase = "case"
	// ReasonPrefix: the ids are equal, ignoring case, once a common prefix or
	// namespace is removed ("user_", "usr-", "u_", "id:", "email:",
	// "auth0|", "google-oauth2|", ...).
	ReasonPrefix = "prefix"
	// ReasonEmail: the lookup id is an email seen on payloads of the user.
	ReasonEmail = "email"
	// ReasonAnonymousID: the lookup id was seen as an anonymous id (or as an
	// earlier user id) on a session that later carried the user's id.
	ReasonAnonymousID = "anonymous_id"
)

// Per-entry caps, so that no single entry grows with hostile input.
// MaxIDs, MaxAnons, MaxCodes and MaxExtraRows are the same for every
// tracker (the Redis scripts receive them as arguments).
const (
	// MaxIDs caps the user ids kept per known id, email, anonymous id,
	// session and conflict.
	MaxIDs = 8
	// MaxAnons caps the anonymous ids kept per session.
	MaxAnons = 4
	// maxCandidates caps the candidates reported per lookup miss.
	maxCandidates = 5
	// MaxCodes caps the distinct rejection codes per source row; more
	// are counted under "other".
	MaxCodes = 32
	// MaxExtraRows caps the (source, product) rows beyond the
	// configured sources (products of sources without a configured
	// product_id, and "(unknown)"). Beyond it, a row's counts go to its
	// source's product-less row.
	MaxExtraRows = 1024
	// maxIDBytes: longer ids are counted but not remembered.
	maxIDBytes = 1024
)

// UnknownSource is the source name under which deliveries to a name that is
// not configured are counted.
const UnknownSource = "(unknown)"

// Limits bounds identity-drift tracking (config drift.*). A limit below
// 1 is raised to 1, except MaxExamples, for which 0 keeps no examples.
type Limits struct {
	// MaxLookupMisses bounds the distinct missed user ids remembered.
	MaxLookupMisses int
	// MaxConflicts bounds the session and email conflicts remembered, together.
	MaxConflicts int
	// MaxKnownIDs bounds, together, the entries kept to explain misses and
	// find conflicts: known user ids (by normalized form), emails, anonymous
	// ids and sessions.
	MaxKnownIDs int
	// MaxExamples bounds the example session ids kept per source row, for
	// payloads without a user id and for late payloads each.
	MaxExamples int
}

// Source is one configured webhook source.
type Source struct {
	Name     string
	Provider string
	// ProductID is the source's configured product; "" means the payloads
	// name their product.
	ProductID string
}

// Totals are counts of what the tracker saw.
type Totals struct {
	// Deliveries is every webhook request, whatever its outcome.
	Deliveries int64 `json:"deliveries"`
	// Payloads is the actions payloads stored.
	Payloads int64 `json:"payloads"`
	// MissingUserID is the payloads stored without a user id.
	MissingUserID int64 `json:"missing_user_id"`
	// Lookups is the chat-layer lookups by user id.
	Lookups int64 `json:"lookups"`
	// LookupMisses is the lookups that found no session.
	LookupMisses int64 `json:"lookup_misses"`
}

// Example is a recent session that carried no user id.
type Example struct {
	SessionID string    `json:"session_id"`
	At        time.Time `json:"at"`
}

// SourceReport is one source's row of the report.
type SourceReport struct {
	Source    string `json:"source"`
	Provider  string `json:"provider"`
	ProductID string `json:"product_id"`
	// Deliveries counts webhook requests of every outcome.
	Deliveries    int64 `json:"deliveries"`
	Payloads      int64 `json:"payloads"`
	MissingUserID int64 `json:"missing_user_id"`
	// MissingUserIDRatio is MissingUserID / Payloads rounded to 4 decimals
	// (0 without payloads).
	MissingUserIDRatio float64 `json:"missing_user_id_ratio"`
	// Late counts payloads whose event time was older than the lookback on
	// arrival.
	Late int64 `json:"late"`
	// Rejected counts rejected deliveries by error code.
	Rejected map[string]int64 `json:"rejected"`
	// Examples are recent sessions without a user id, newest first.
	Examples []Example `json:"examples"`
	// LateExamples are recent sessions with late payloads, newest first.
	LateExamples []Example `json:"late_examples"`
}

// Candidate is a known user id that is probably the person a missed
// lookup asked for.
type Candidate struct {
	UserID string `json:"user_id"`
	Reason string `json:"reason"`
}

// Miss is a user id the chat layer asked for that had no session.
type Miss struct {
	UserID     string      `json:"user_id"`
	Count      int64       `json:"count"`
	LastAt     time.Time   `json:"last_at"`
	Candidates []Candidate `json:"candidates"`
}

// SessionConflict is a session that carried more than one user id: an
// anonymous id that became identified, or two people in one browser.
type SessionConflict struct {
	ProductID string `json:"product_id"`
	SessionID string `json:"session_id"`
	// UserIDs in the order they were first seen on the session.
	UserIDs []string `json:"user_ids"`
}

// EmailConflict is an email seen on more than one user id.
type EmailConflict struct {
	Email string `json:"email"`
	// UserIDs in the order they were first seen with the email.
	UserIDs []string `json:"user_ids"`
}

// Report is GET /v1/drift. Every list is sorted by impact, worst first.
type Report struct {
	GeneratedAt   time.Time `json:"generated_at"`
	WindowSeconds int64     `json:"window_seconds"`
	Totals        Totals    `json:"totals"`
	// Sources: highest missing_user_id_ratio first.
	Sources []SourceReport `json:"sources"`
	// LookupMisses: most misses first.
	LookupMisses []Miss `json:"lookup_misses"`
	// SessionConflicts: most user ids first, then most recent.
	SessionConflicts []SessionConflict `json:"session_conflicts"`
	// EmailConflicts: most user ids first, then most recent.
	EmailConflicts []EmailConflict `json:"email_conflicts"`
}

// Sizes is how many entries each bounded table holds.
type Sizes struct {
	KnownIDs     int // ≤ MaxKnownIDs
	LookupMisses int // ≤ MaxLookupMisses
	Conflicts    int // ≤ MaxConflicts
	SourceRows   int // ≤ configured sources + 1025
}

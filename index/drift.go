package index

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/replayhook/replayhook/normalize"
)

// Identity drift (semantics §6): the ids the chat layer asks with and the ids
// the vendors send stop matching, and lookups come back empty. Drift watches
// the ingest pipeline and the lookups and reports where identity breaks:
// per-source payloads without a user id, lookup misses with the known user
// ids that are probably the same person, sessions carrying several user ids
// and emails seen on several user ids.
//
// Memory is bounded by DriftLimits and by the per-entry caps below; every
// table evicts its least recently used entry when full.

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
const (
	// driftMaxIDs caps the user ids kept per known id, email, anonymous id,
	// session and conflict.
	driftMaxIDs = 8
	// driftMaxAnons caps the anonymous ids kept per session.
	driftMaxAnons = 4
	// driftMaxCandidates caps the candidates reported per lookup miss.
	driftMaxCandidates = 5
	// driftMaxCodes caps the distinct rejection codes per source row; more
	// are counted under "other".
	driftMaxCodes = 32
	// driftMaxExtraRows caps the (source, product) rows beyond the
	// configured sources (products of sources without a configured
	// product_id, and "(unknown)"). Beyond it, a row's counts go to its
	// source's product-less row.
	driftMaxExtraRows = 1024
	// driftMaxIDBytes: longer ids are counted but not remembered.
	driftMaxIDBytes = 1024
)

// UnknownSource is the source name under which deliveries to a name that is
// not configured are counted.
const UnknownSource = "(unknown)"

// DriftLimits bounds identity-drift tracking (config drift.*). A limit below
// 1 is raised to 1, except MaxExamples, for which 0 keeps no examples.
type DriftLimits struct {
	// MaxLookupMisses bounds the distinct missed user ids remembered.
	MaxLookupMisses int
	// MaxConflicts bounds the session and email conflicts remembered, together.
	MaxConflicts int
	// MaxKnownIDs bounds, together, the entries kept to explain misses and
	// find conflicts: known user ids (by normalized form), emails, anonymous
	// ids and sessions.
	MaxKnownIDs int
	// MaxExamples bounds the example session ids kept per source row.
	MaxExamples int
}

// DriftSource is one configured webhook source.
type DriftSource struct {
	Name     string
	Provider string
	// ProductID is the source's configured product; "" means the payloads
	// name their product.
	ProductID string
}

// DriftTotals are counts of what the tracker saw.
type DriftTotals struct {
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

// DriftExample is a recent session that carried no user id.
type DriftExample struct {
	SessionID string    `json:"session_id"`
	At        time.Time `json:"at"`
}

// DriftSourceReport is one source's row of the report.
type DriftSourceReport struct {
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
	Examples []DriftExample `json:"examples"`
}

// DriftCandidate is a known user id that is probably the person a missed
// lookup asked for.
type DriftCandidate struct {
	UserID string `json:"user_id"`
	Reason string `json:"reason"`
}

// DriftMiss is a user id the chat layer asked for that had no session.
type DriftMiss struct {
	UserID     string           `json:"user_id"`
	Count      int64            `json:"count"`
	LastAt     time.Time        `json:"last_at"`
	Candidates []DriftCandidate `json:"candidates"`
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

// DriftReport is GET /v1/drift. Every list is sorted by impact, worst first.
type DriftReport struct {
	GeneratedAt   time.Time   `json:"generated_at"`
	WindowSeconds int64       `json:"window_seconds"`
	Totals        DriftTotals `json:"totals"`
	// Sources: highest missing_user_id_ratio first.
	Sources []DriftSourceReport `json:"sources"`
	// LookupMisses: most misses first.
	LookupMisses []DriftMiss `json:"lookup_misses"`
	// SessionConflicts: most user ids first, then most recent.
	SessionConflicts []SessionConflict `json:"session_conflicts"`
	// EmailConflicts: most user ids first, then most recent.
	EmailConflicts []EmailConflict `json:"email_conflicts"`
}

// DriftSizes is how many entries each bounded table holds.
type DriftSizes struct {
	KnownIDs     int // ≤ MaxKnownIDs
	LookupMisses int // ≤ MaxLookupMisses
	Conflicts    int // ≤ MaxConflicts
	SourceRows   int // ≤ configured sources + 1025
}

// Drift tracks identity drift. It implements the HTTP layer's Observer
// (Delivery, Payload, Lookup): each call does no I/O and holds one mutex for
// a few map operations. Report and Reset serve GET and DELETE /v1/drift.
//
// Findings (rows, misses, conflicts, window totals) belong to the current
// window, which Reset restarts. What is known about ids (user ids, emails,
// anonymous ids, sessions) outlives a Reset, so misses in a fresh window are
// still explained by ids seen before it.
type Drift struct {
	limits  DriftLimits
	sources map[string]DriftSource
	order   []DriftSource

	life struct{ deliveries, payloads, missing, lookups, misses atomic.Int64 }

	mu        sync.Mutex
	start     time.Time
	window    DriftTotals // lookups and misses of the window (the rest is summed from rows)
	rows      map[rowKey]*sourceRow
	extraRows int
	misses    *simplelru.LRU[string, *missEntry]
	known     *simplelru.LRU[knownKey, *knownEntry]
	conflicts *simplelru.LRU[knownKey, *conflictEntry]
}

type rowKey struct{ source, product string }

type sourceRow struct {
	provider                            string
	deliveries, payloads, missing, late int64
	rejected                            map[string]int64
	examples                            []DriftExample // newest first, unique sessions
}

type missEntry struct {
	count int64
	last  time.Time
}

// Kinds of knownKey: one LRU holds them all, so MaxKnownIDs is one bound.
const (
	kindNorm    uint8 = iota + 1 // a = normalized user id
	kindEmail                    // a = normalized email
	kindAnon                     // a = anonymous id (or a superseded user id)
	kindSession                  // a = product, b = session id
)

type knownKey struct {
	kind uint8
	a, b string
}

type knownEntry struct {
	ids     []DriftRef // distinct, first seen first, ≤ driftMaxIDs
	anons   []string   // sessions: anonymous ids seen, ≤ driftMaxAnons
	display string     // emails: the email as first seen
}

type conflictEntry struct {
	display string
	ids     []DriftRef
	last    time.Time
}

// NewDrift builds a tracker for the configured sources. Its first window
// starts now (wall clock); Reset starts a new one at a given time.
func NewDrift(limits DriftLimits, sources []DriftSource) *Drift {
	limits.MaxLookupMisses = max(limits.MaxLookupMisses, 1)
	limits.MaxConflicts = max(limits.MaxConflicts, 1)
	limits.MaxKnownIDs = max(limits.MaxKnownIDs, 1)
	limits.MaxExamples = max(limits.MaxExamples, 0)
	d := &Drift{limits: limits, sources: map[string]DriftSource{}}
	for _, s := range sources {
		if _, dup := d.sources[s.Name]; dup || s.Name == "" {
			continue
		}
		d.sources[s.Name] = s
		d.order = append(d.order, s)
	}
	d.misses = mustLRU[string, *missEntry](limits.MaxLookupMisses)
	d.known = mustLRU[knownKey, *knownEntry](limits.MaxKnownIDs)
	d.conflicts = mustLRU[knownKey, *conflictEntry](limits.MaxConflicts)
	d.resetLocked(time.Now())
	return d
}

func mustLRU[K comparable, V any](n int) *simplelru.LRU[K, V] {
	l, err := simplelru.NewLRU[K, V](n, nil)
	if err != nil { // unreachable: n >= 1
		panic(err)
	}
	return l
}

// Reset starts a fresh window at now: source rows, lookup misses, conflicts
// and window totals are cleared; known ids are kept.
func (d *Drift) Reset(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.resetLocked(now)
}

func (d *Drift) resetLocked(now time.Time) {
	d.start = now
	d.window = DriftTotals{}
	d.rows = make(map[rowKey]*sourceRow, len(d.order))
	d.extraRows = 0
	for _, s := range d.order {
		d.rows[rowKey{s.Name, s.ProductID}] = &sourceRow{provider: s.Provider}
	}
	d.misses.Purge()
	d.conflicts.Purge()
}

// Totals are lifetime counts (never reset, so they suit Prometheus
// counters); the report's totals are the window's.
func (d *Drift) Totals() DriftTotals {
	return DriftTotals{
		Deliveries:    d.life.deliveries.Load(),
		Payloads:      d.life.payloads.Load(),
		MissingUserID: d.life.missing.Load(),
		Lookups:       d.life.lookups.Load(),
		LookupMisses:  d.life.misses.Load(),
	}
}

// Sizes reports how many entries each bounded table holds.
func (d *Drift) Sizes() DriftSizes {
	d.mu.Lock()
	defer d.mu.Unlock()
	return DriftSizes{KnownIDs: d.known.Len(), LookupMisses: d.misses.Len(), Conflicts: d.conflicts.Len(), SourceRows: len(d.rows)}
}

// Delivery counts one webhook request to source with its outcome:
// "accepted", "duplicate", "ignored", or an error code, counted as rejected.
func (d *Drift) Delivery(source, provider, outcome string) {
	d.life.deliveries.Add(1)
	outcome, rejected := DriftOutcome(outcome)
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.row(source, "", provider)
	r.deliveries++
	if !rejected {
		return
	}
	if _, ok := r.rejected[outcome]; !ok && len(r.rejected) >= driftMaxCodes {
		outcome = "other"
	}
	if r.rejected == nil {
		r.rejected = map[string]int64{}
	}
	r.rejected[strings.Clone(outcome)]++
}

// Lookup counts one chat-layer lookup; a miss is remembered with its count
// and time.
func (d *Drift) Lookup(userID string, hit bool, now time.Time) {
	d.life.lookups.Add(1)
	if !hit {
		d.life.misses.Add(1)
	}
	id, remember := DriftMissID(userID)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.window.Lookups++
	if hit {
		return
	}
	d.window.LookupMisses++
	if !remember {
		return
	}
	if m, ok := d.misses.Get(id); ok {
		m.count++
		m.last = later(m.last, now)
		return
	}
	d.misses.Add(ownID(id), &missEntry{count: 1, last: now})
}

// Payload records one stored payload: counts for its source, and what it
// tells about identity (user id, email, anonymous id, session).
func (d *Drift) Payload(source, provider string, p *normalize.ActionsPayload, late bool, now time.Time) {
	ids, ok := DriftReadPayload(p, d.sources[source].ProductID)
	if !ok {
		return
	}
	user, email, session, anon, product := ids.User, ids.Email, ids.Session, ids.Anon, ids.Product
	missing := ids.Missing
	d.life.payloads.Add(1)
	if missing {
		d.life.missing.Add(1)
	}
	normK, emailK := ids.NormKey, ids.EmailKey

	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.row(source, product, provider)
	r.payloads++
	if late {
		r.late++
	}
	if missing {
		r.missing++
		if session != "" && d.limits.MaxExamples > 0 {
			r.addExample(session, now, d.limits.MaxExamples)
		}
	}
	if user != "" {
		d.addID(knownKey{kind: kindNorm, a: normK}, DriftRef{UserID: user})
		if emailK != "" {
			e, added := d.addID(knownKey{kind: kindEmail, a: emailK}, DriftRef{UserID: user, Product: product})
			if e.display == "" {
				e.display = ownID(email)
			}
			if added && distinctUsers(e.ids) > 1 {
				d.conflict(knownKey{kind: kindEmail, a: emailK}, e.display, e.ids, now)
			}
		}
		if anon != "" && anon != user {
			d.addID(knownKey{kind: kindAnon, a: anon}, DriftRef{UserID: user})
		}
	}
	if session != "" && (user != "" || anon != "") {
		d.session(product, session, user, anon, now)
	}
}

// session records user and anonymous ids seen on a session. A user id new to
// a session that already carried others is a conflict, and each earlier id
// and anonymous id of the session now points to the new user.
func (d *Drift) session(product, session, user, anon string, now time.Time) {
	k := knownKey{kind: kindSession, a: product, b: session}
	e, ok := d.known.Get(k)
	if !ok {
		k = knownKey{kind: kindSession, a: ownID(product), b: ownID(session)}
		e = &knownEntry{}
		d.known.Add(k, e)
	}
	if anon != "" && anon != user && !slices.Contains(e.anons, anon) && len(e.anons) < driftMaxAnons {
		e.anons = append(e.anons, ownID(anon))
	}
	if user == "" || slices.ContainsFunc(e.ids, func(r DriftRef) bool { return r.UserID == user }) {
		return
	}
	earlier := slices.Clone(e.ids)
	if len(e.ids) < driftMaxIDs {
		e.ids = append(e.ids, DriftRef{UserID: ownID(user), Product: product})
	}
	for _, a := range e.anons {
		if a != user {
			d.addID(knownKey{kind: kindAnon, a: a}, DriftRef{UserID: user})
		}
	}
	for _, r := range earlier {
		d.addID(knownKey{kind: kindAnon, a: r.UserID}, DriftRef{UserID: user})
	}
	ck := knownKey{kind: kindSession, a: product, b: session}
	if len(earlier) > 0 || d.conflicts.Contains(ck) {
		ids := append(earlier, DriftRef{UserID: user, Product: product})
		d.conflict(ck, "", ids, now)
	}
}

// addID adds ref to the known entry k (created if needed, made most recently
// used) and reports whether it was new there.
func (d *Drift) addID(k knownKey, ref DriftRef) (*knownEntry, bool) {
	e, ok := d.known.Get(k)
	if !ok {
		k.a, k.b = ownID(k.a), ownID(k.b)
		e = &knownEntry{}
		d.known.Add(k, e)
	}
	if slices.Contains(e.ids, ref) || len(e.ids) >= driftMaxIDs {
		return e, false
	}
	ref.UserID, ref.Product = ownID(ref.UserID), ownID(ref.Product)
	e.ids = append(e.ids, ref)
	return e, true
}

// conflict merges ids into the conflict k.
func (d *Drift) conflict(k knownKey, display string, ids []DriftRef, now time.Time) {
	c, ok := d.conflicts.Get(k)
	if !ok {
		k.a, k.b = ownID(k.a), ownID(k.b)
		c = &conflictEntry{display: display}
		d.conflicts.Add(k, c)
	}
	c.last = later(c.last, now)
	for _, r := range ids {
		if !slices.Contains(c.ids, r) && len(c.ids) < driftMaxIDs {
			c.ids = append(c.ids, r)
		}
	}
}

// row returns the row counting source's traffic for product. A configured
// source with a product_id always uses it; deliveries of a source without
// one use its product-less row; unknown source names share one row.
func (d *Drift) row(source, product, provider string) *sourceRow {
	s, configured := d.sources[source]
	switch {
	case !configured:
		source, product = UnknownSource, ""
	case s.ProductID != "":
		product = s.ProductID
	}
	k := rowKey{source, product}
	if r, ok := d.rows[k]; ok {
		return r
	}
	if d.extraRows >= driftMaxExtraRows && product != "" {
		k.product = "" // full: count under the source's product-less row
		if r, ok := d.rows[k]; ok {
			return r
		}
	}
	if configured {
		provider = s.Provider
	}
	r := &sourceRow{provider: ownID(provider)}
	d.rows[rowKey{ownID(k.source), ownID(k.product)}] = r
	d.extraRows++
	return r
}

func (r *sourceRow) addExample(session string, now time.Time, limit int) {
	if i := slices.IndexFunc(r.examples, func(e DriftExample) bool { return e.SessionID == session }); i >= 0 {
		r.examples = slices.Delete(r.examples, i, i+1)
	} else {
		session = ownID(session)
	}
	if len(r.examples) >= limit {
		r.examples = r.examples[:limit-1]
	}
	r.examples = slices.Insert(r.examples, 0, DriftExample{SessionID: session, At: now.UTC().Truncate(time.Second)})
}

// Report returns the current window's report at now. limit > 0 caps every
// list; its cost is a copy of the tables under the lock, a sort outside it,
// and a candidate search for each miss reported. products, when non-nil, is the reader's product scope: only rows and
// conflicts of products it allows are shown, totals are summed over the rows
// shown, and lookup misses (which carry no product) are left out; nil means
// every product, lookup misses included.
func (d *Drift) Report(now time.Time, limit int, products func(string) bool) DriftReport {
	d.mu.Lock()
	st := d.driftState()
	d.mu.Unlock()
	rep := AssembleDriftReport(st, d.order, d.limits.MaxExamples, now, limit, products)
	// Candidates only for the misses reported, so that a large table costs
	// a copy and a sort outside the lock, not a search per entry under it.
	if len(rep.LookupMisses) > 0 {
		d.mu.Lock()
		for i := range rep.LookupMisses {
			rep.LookupMisses[i].Candidates = d.driftCandidatesLocked(rep.LookupMisses[i].UserID)
		}
		d.mu.Unlock()
	}
	return rep
}

// sortConflicts orders conflicts by number of user ids, then most recent,
// then key.
func sortConflicts[C any](cs []C, at []time.Time, ids func(C) []string, key func(C) string) []C {
	idx := make([]int, len(cs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int {
		return cmp.Or(cmp.Compare(len(ids(cs[j])), len(ids(cs[i]))), at[j].Compare(at[i]), cmp.Compare(key(cs[i]), key(cs[j])))
	})
	out := make([]C, len(cs))
	for i, j := range idx {
		out[i] = cs[j]
	}
	return out
}

func mergeRow(s DriftSourceReport, r DriftRowState, maxExamples int) DriftSourceReport {
	s.Deliveries += r.Deliveries
	s.Payloads += r.Payloads
	s.MissingUserID += r.Missing
	s.Late += r.Late
	for code, n := range r.Rejected {
		s.Rejected[code] += n
	}
	for _, e := range r.Examples {
		if !slices.ContainsFunc(s.Examples, func(x DriftExample) bool { return x.SessionID == e.SessionID }) {
			s.Examples = append(s.Examples, e)
		}
	}
	slices.SortStableFunc(s.Examples, func(a, b DriftExample) int {
		return cmp.Or(b.At.Compare(a.At), cmp.Compare(a.SessionID, b.SessionID))
	})
	s.Examples = s.Examples[:min(len(s.Examples), maxExamples)]
	return s
}

func rejectedTotal(s DriftSourceReport) int64 {
	var n int64
	for _, v := range s.Rejected {
		n += v
	}
	return n
}

// similarity names how two ids with the same normalized form differ:
// whitespace only, case (and maybe whitespace), or a prefix.
func similarity(a, b string) string {
	a, b = visibleOnly(a), visibleOnly(b)
	switch {
	case a == b:
		return ReasonWhitespace
	case strings.EqualFold(a, b):
		return ReasonCase
	default:
		return ReasonPrefix
	}
}

func distinctUsers(refs []DriftRef) int { return len(refUserIDs(refs, nil)) }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// boundedID trims s and returns "" for ids too long to remember.
func boundedID(s string) string {
	s = cleanID(s)
	if len(s) > driftMaxIDBytes {
		return ""
	}
	return s
}

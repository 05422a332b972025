package drift

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/replayhook/replayhook/normalize"
)

// Memory tracks identity drift in this process's memory. It implements the HTTP layer's Observer
// (Delivery, Payload, Lookup): each call does no I/O and holds one mutex for
// a few map operations. Report and Reset serve GET and DELETE /v1/drift.
//
// Findings (rows, misses, conflicts, window totals) belong to the current
// window, which Reset restarts. What is known about ids (user ids, emails,
// anonymous ids, sessions) outlives a Reset, so misses in a fresh window are
// still explained by ids seen before it.
type Memory struct {
	limits  Limits
	sources map[string]Source
	order   []Source

	life struct{ deliveries, payloads, missing, lookups, misses atomic.Int64 }

	mu        sync.Mutex
	start     time.Time
	window    Totals // lookups and misses of the window (the rest is summed from rows)
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
	examples                            []Example // newest first, unique sessions
	lateExamples                        []Example // the same, of late payloads
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
	ids     []Ref    // distinct, first seen first, ≤ MaxIDs
	anons   []string // sessions: anonymous ids seen, ≤ MaxAnons
	display string   // emails: the email as first seen
}

type conflictEntry struct {
	display string
	ids     []Ref
	last    time.Time
}

// NewMemory builds a tracker for the configured sources. Its first window
// starts now (wall clock); Reset starts a new one at a given time.
func NewMemory(limits Limits, sources []Source) *Memory {
	limits.MaxLookupMisses = max(limits.MaxLookupMisses, 1)
	limits.MaxConflicts = max(limits.MaxConflicts, 1)
	limits.MaxKnownIDs = max(limits.MaxKnownIDs, 1)
	limits.MaxExamples = max(limits.MaxExamples, 0)
	d := &Memory{limits: limits, sources: map[string]Source{}}
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
func (d *Memory) Reset(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.resetLocked(now)
}

func (d *Memory) resetLocked(now time.Time) {
	d.start = now
	d.window = Totals{}
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
func (d *Memory) Totals() Totals {
	return Totals{
		Deliveries:    d.life.deliveries.Load(),
		Payloads:      d.life.payloads.Load(),
		MissingUserID: d.life.missing.Load(),
		Lookups:       d.life.lookups.Load(),
		LookupMisses:  d.life.misses.Load(),
	}
}

// Sizes reports how many entries each bounded table holds.
func (d *Memory) Sizes() Sizes {
	d.mu.Lock()
	defer d.mu.Unlock()
	return Sizes{KnownIDs: d.known.Len(), LookupMisses: d.misses.Len(), Conflicts: d.conflicts.Len(), SourceRows: len(d.rows)}
}

// Delivery counts one webhook request to source with its outcome:
// "accepted", "duplicate", "ignored", or an error code, counted as rejected.
func (d *Memory) Delivery(source, provider, outcome string) {
	d.life.deliveries.Add(1)
	outcome, rejected := Outcome(outcome)
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.row(source, "", provider)
	r.deliveries++
	if !rejected {
		return
	}
	if _, ok := r.rejected[outcome]; !ok && len(r.rejected) >= MaxCodes {
		outcome = "other"
	}
	if r.rejected == nil {
		r.rejected = map[string]int64{}
	}
	r.rejected[strings.Clone(outcome)]++
}

// Lookup counts one chat-layer lookup; a miss is remembered with its count
// and time.
func (d *Memory) Lookup(userID string, hit bool, now time.Time) {
	d.life.lookups.Add(1)
	if !hit {
		d.life.misses.Add(1)
	}
	id, remember := MissID(userID)
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
func (d *Memory) Payload(source, provider string, p *normalize.ActionsPayload, late bool, now time.Time) {
	ids, ok := ReadPayload(p, d.sources[source].ProductID)
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
		if session != "" && d.limits.MaxExamples > 0 {
			r.lateExamples = addExample(r.lateExamples, session, now, d.limits.MaxExamples)
		}
	}
	if missing {
		r.missing++
		if session != "" && d.limits.MaxExamples > 0 {
			r.examples = addExample(r.examples, session, now, d.limits.MaxExamples)
		}
	}
	if user != "" {
		d.addID(knownKey{kind: kindNorm, a: normK}, Ref{UserID: user})
		if emailK != "" {
			e, added := d.addID(knownKey{kind: kindEmail, a: emailK}, Ref{UserID: user, Product: product})
			if e.display == "" {
				e.display = ownID(email)
			}
			if added && distinctUsers(e.ids) > 1 {
				d.conflict(knownKey{kind: kindEmail, a: emailK}, e.display, e.ids, now)
			}
		}
		if anon != "" && anon != user {
			d.addID(knownKey{kind: kindAnon, a: anon}, Ref{UserID: user})
		}
	}
	if session != "" && (user != "" || anon != "") {
		d.session(product, session, user, anon, now)
	}
}

// session records user and anonymous ids seen on a session. A user id new to
// a session that already carried others is a conflict, and each earlier id
// and anonymous id of the session now points to the new user.
func (d *Memory) session(product, session, user, anon string, now time.Time) {
	k := knownKey{kind: kindSession, a: product, b: session}
	e, ok := d.known.Get(k)
	if !ok {
		k = knownKey{kind: kindSession, a: ownID(product), b: ownID(session)}
		e = &knownEntry{}
		d.known.Add(k, e)
	}
	if anon != "" && anon != user && !slices.Contains(e.anons, anon) && len(e.anons) < MaxAnons {
		e.anons = append(e.anons, ownID(anon))
	}
	if user == "" || slices.ContainsFunc(e.ids, func(r Ref) bool { return r.UserID == user }) {
		return
	}
	earlier := slices.Clone(e.ids)
	if len(e.ids) < MaxIDs {
		e.ids = append(e.ids, Ref{UserID: ownID(user), Product: product})
	}
	for _, a := range e.anons {
		if a != user {
			d.addID(knownKey{kind: kindAnon, a: a}, Ref{UserID: user})
		}
	}
	for _, r := range earlier {
		d.addID(knownKey{kind: kindAnon, a: r.UserID}, Ref{UserID: user})
	}
	ck := knownKey{kind: kindSession, a: product, b: session}
	if len(earlier) > 0 || d.conflicts.Contains(ck) {
		d.conflict(ck, "", append(earlier, Ref{UserID: user, Product: product}), now) // earlier is a copy
	}
}

// addID adds ref to the known entry k (created if needed, made most recently
// used) and reports whether it was new there.
func (d *Memory) addID(k knownKey, ref Ref) (*knownEntry, bool) {
	e, ok := d.known.Get(k)
	if !ok {
		k.a, k.b = ownID(k.a), ownID(k.b)
		e = &knownEntry{}
		d.known.Add(k, e)
	}
	if slices.Contains(e.ids, ref) || len(e.ids) >= MaxIDs {
		return e, false
	}
	ref.UserID, ref.Product = ownID(ref.UserID), ownID(ref.Product)
	e.ids = append(e.ids, ref)
	return e, true
}

// conflict merges ids into the conflict k.
func (d *Memory) conflict(k knownKey, display string, ids []Ref, now time.Time) {
	c, ok := d.conflicts.Get(k)
	if !ok {
		k.a, k.b = ownID(k.a), ownID(k.b)
		c = &conflictEntry{display: display}
		d.conflicts.Add(k, c)
	}
	c.last = later(c.last, now)
	for _, r := range ids {
		if !slices.Contains(c.ids, r) && len(c.ids) < MaxIDs {
			c.ids = append(c.ids, r)
		}
	}
}

// row returns the row counting source's traffic for product. A configured
// source with a product_id always uses it; deliveries of a source without
// one use its product-less row; unknown source names share one row.
func (d *Memory) row(source, product, provider string) *sourceRow {
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
	if d.extraRows >= MaxExtraRows && product != "" {
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

// addExample puts session first in examples (newest first, distinct,
// at most limit).
func addExample(examples []Example, session string, now time.Time, limit int) []Example {
	if i := slices.IndexFunc(examples, func(e Example) bool { return e.SessionID == session }); i >= 0 {
		examples = slices.Delete(examples, i, i+1)
	} else {
		session = ownID(session)
	}
	if len(examples) >= limit {
		examples = examples[:limit-1]
	}
	return slices.Insert(examples, 0, Example{SessionID: session, At: now.UTC().Truncate(time.Second)})
}

// Report returns the current window's report at now. limit > 0 caps every
// list; its cost is a copy of the tables under the lock, a sort outside it,
// and a candidate search for each miss reported. products, when non-nil, is the reader's product scope: only rows and
// conflicts of products it allows are shown, totals are summed over the rows
// shown, and lookup misses (which carry no product) are left out; nil means
// every product, lookup misses included.
func (d *Memory) Report(now time.Time, limit int, products func(string) bool) Report {
	d.mu.Lock()
	st := d.state()
	d.mu.Unlock()
	rep := Assemble(st, d.order, d.limits.MaxExamples, now, limit, products)
	// Candidates only for the misses reported, so that a large table costs
	// a copy and a sort outside the lock, not a search per entry under it.
	if len(rep.LookupMisses) > 0 {
		d.mu.Lock()
		for i := range rep.LookupMisses {
			rep.LookupMisses[i].Candidates = d.candidatesLocked(rep.LookupMisses[i].UserID)
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

func mergeRow(s SourceReport, r RowState, maxExamples int) SourceReport {
	s.Deliveries += r.Deliveries
	s.Payloads += r.Payloads
	s.MissingUserID += r.Missing
	s.Late += r.Late
	for code, n := range r.Rejected {
		s.Rejected[code] += n
	}
	s.Examples = mergeExamples(s.Examples, r.Examples, maxExamples)
	s.LateExamples = mergeExamples(s.LateExamples, r.LateExamples, maxExamples)
	return s
}

// mergeExamples adds more's sessions to into, newest first, at most max.
func mergeExamples(into, more []Example, maxExamples int) []Example {
	for _, e := range more {
		if !slices.ContainsFunc(into, func(x Example) bool { return x.SessionID == e.SessionID }) {
			into = append(into, e)
		}
	}
	slices.SortStableFunc(into, func(a, b Example) int {
		return cmp.Or(b.At.Compare(a.At), cmp.Compare(a.SessionID, b.SessionID))
	})
	return into[:min(len(into), maxExamples)]
}

func rejectedTotal(s SourceReport) int64 {
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

func distinctUsers(refs []Ref) int { return len(refUserIDs(refs, nil)) }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// boundedID trims s and returns "" for ids too long to remember.
func boundedID(s string) string {
	s = cleanID(s)
	if len(s) > maxIDBytes {
		return ""
	}
	return s
}

// ReportErr is Report for callers that also serve trackers which can fail
// (package redisdrift): the memory tracker never fails, and ignores ctx.
func (d *Memory) ReportErr(_ context.Context, now time.Time, limit int, products func(string) bool) (Report, error) {
	return d.Report(now, limit, products), nil
}

// ResetErr is Reset for callers that also serve trackers which can fail:
// the memory tracker never fails, and ignores ctx.
func (d *Memory) ResetErr(_ context.Context, now time.Time) error {
	d.Reset(now)
	return nil
}

// driftState copies the window's state (d.mu held).
func (d *Memory) state() State {
	st := State{Start: d.start, Lookups: d.window.Lookups, LookupMisses: d.window.LookupMisses}
	for k, r := range d.rows {
		row := RowState{Source: k.source, Product: k.product, Provider: r.provider,
			Deliveries: r.deliveries, Payloads: r.payloads, Missing: r.missing, Late: r.late,
			Examples: slices.Clone(r.examples), LateExamples: slices.Clone(r.lateExamples)}
		if len(r.rejected) > 0 {
			row.Rejected = make(map[string]int64, len(r.rejected))
			for code, n := range r.rejected {
				row.Rejected[code] = n
			}
		}
		st.Rows = append(st.Rows, row)
	}
	for _, id := range d.misses.Keys() {
		m, _ := d.misses.Peek(id)
		st.Misses = append(st.Misses, MissState{UserID: id, Count: m.count, Last: m.last})
	}
	for _, k := range d.conflicts.Keys() {
		c, _ := d.conflicts.Peek(k)
		cs := ConflictState{Last: c.last, Refs: slices.Clone(c.ids)}
		switch k.kind {
		case kindSession:
			cs.ProductID, cs.SessionID = k.a, k.b
		case kindEmail:
			cs.Email, cs.Display = true, c.display
		default:
			continue
		}
		st.Conflicts = append(st.Conflicts, cs)
	}
	return st
}

// knownRefs are the refs of the known entry k, or nil (d.mu held).
func (d *Memory) knownRefs(k knownKey) []Ref {
	e, ok := d.known.Peek(k)
	if !ok {
		return nil
	}
	return slices.Clone(e.ids)
}

// candidatesLocked is Candidates over the memory tables (d.mu
// held).
func (d *Memory) candidatesLocked(missed string) []Candidate {
	norm, email, isEmail, anon := CandidateKeys(missed)
	var byEmail []Ref
	if isEmail {
		byEmail = d.knownRefs(knownKey{kind: kindEmail, a: email})
	}
	return Candidates(missed, d.knownRefs(knownKey{kind: kindNorm, a: norm}), byEmail, d.knownRefs(knownKey{kind: kindAnon, a: anon}))
}

package drift

import (
	"cmp"
	"slices"
	"time"

	"github.com/replayhook/replayhook/normalize"
)

// What every identity-drift tracker shares, whatever holds its state (this
// process's memory in Memory, Redis in package redisdrift): how an
// observation is read, how a missed lookup finds its candidates, and how a
// report is assembled from a window's State. Two trackers fed the same
// observations report the same thing. A new kind of finding is added here
// once: a field in State, its assembly in Assemble, and each tracker fills
// the field.

// Ref is a user id as drift remembers it, with the product it was seen
// in ("" where the product does not matter: known normalized ids and
// anonymous ids).
type Ref struct {
	UserID  string
	Product string
}

// RowState is one (source, product) row of a window.
type RowState struct {
	Source, Product, Provider           string
	Deliveries, Payloads, Missing, Late int64
	// Rejected counts rejections by code (nil or empty when none).
	Rejected map[string]int64
	// Examples are distinct sessions, newest first, times truncated to the
	// second.
	Examples []Example
	// LateExamples are the same for late payloads.
	LateExamples []Example
}

// MissState is one remembered lookup miss.
type MissState struct {
	UserID string
	Count  int64
	Last   time.Time
}

// ConflictState is one remembered session or email conflict.
type ConflictState struct {
	// Email tells an email conflict (Display is the email as first seen)
	// from a session conflict (ProductID and SessionID).
	Email                bool
	Display              string
	ProductID, SessionID string
	// Refs are the user ids with their products, first seen first.
	Refs []Ref
	// Last is when the conflict last grew; it orders conflicts of equal
	// size, most recent first.
	Last time.Time
}

// State is a window's state as report assembly reads it. The order of
// its slices does not matter: the report sorts every list with a total
// order.
type State struct {
	// Start is the window's start.
	Start time.Time
	// Lookups and LookupMisses are the window's lookup counts.
	Lookups, LookupMisses int64
	Rows                  []RowState
	Misses                []MissState
	Conflicts             []ConflictState
}

// PayloadIDs is what one stored payload tells drift, read the same way
// by every tracker: ids trimmed, ids longer than 1 KiB forgotten (""), the
// product replaced by the source's configured one.
type PayloadIDs struct {
	User, Email, Session, Anon, Product string
	// Missing: the payload, as stored, has no user id (an id too long to
	// remember still counts as present).
	Missing bool
	// NormKey is the user's normalized form and EmailKey the email's ("" when
	// there is no user id or no email).
	NormKey, EmailKey string
}

// ReadPayload reads p for drift; configuredProduct is the source's
// configured product ("" when the payload names its own). ok is false for a
// nil payload, which is not counted.
func ReadPayload(p *normalize.ActionsPayload, configuredProduct string) (ids PayloadIDs, ok bool) {
	if p == nil {
		return ids, false
	}
	ids = PayloadIDs{
		User:    boundedID(normalize.Str(p.UserID)),
		Email:   boundedID(normalize.Str(p.Email)),
		Session: boundedID(normalize.Str(p.SessionID)),
		Anon:    boundedID(p.AnonymousID),
		Product: boundedID(p.ProductID),
		Missing: cleanID(normalize.Str(p.UserID)) == "",
	}
	if configuredProduct != "" {
		ids.Product = configuredProduct // the pipeline stamps it; be sure of it
	}
	if ids.User != "" {
		ids.NormKey = normKey(ids.User)
		if ids.Email != "" {
			ids.EmailKey = emailKey(ids.Email)
		}
	}
	return ids, true
}

// Outcome is outcome as a row counts it: codes longer than 64 bytes are
// "other". Rejected reports whether the outcome counts as a rejection
// (anything but "accepted", "duplicate" and "ignored").
func Outcome(outcome string) (code string, rejected bool) {
	if len(outcome) > 64 {
		outcome = "other"
	}
	switch outcome {
	case "accepted", "duplicate", "ignored":
		return outcome, false
	}
	return outcome, true
}

// MissID is the id under which a missed lookup of userID is
// remembered; ok is false when it is not remembered (blank, or longer than
// 1 KiB), though still counted.
func MissID(userID string) (id string, ok bool) {
	id = cleanID(userID)
	return id, id != "" && len(id) <= maxIDBytes
}

// CandidateKeys are the keys under which known ids may explain a
// missed lookup of missed: its normalized form, its email form (ok=false
// when missed does not look like an email) and missed itself as an
// anonymous id.
func CandidateKeys(missed string) (norm, email string, isEmail bool, anon string) {
	ek := emailKey(missed)
	return normKey(missed), ek, looksLikeEmail(ek), missed
}

// Candidates lists the known user ids that are probably the person
// missed asks for, best reason first, at most five: byNorm are the ids known
// under missed's normalized form (reason whitespace, case or prefix),
// byEmail those seen with missed as their email, byAnon those that later
// carried missed as an anonymous id. It never returns nil.
func Candidates(missed string, byNorm, byEmail, byAnon []Ref) []Candidate {
	out := []Candidate{}
	add := func(userID, reason string) {
		if userID == missed || len(out) >= maxCandidates ||
			slices.ContainsFunc(out, func(c Candidate) bool { return c.UserID == userID }) {
			return
		}
		out = append(out, Candidate{UserID: userID, Reason: reason})
	}
	for _, r := range byNorm {
		add(r.UserID, similarity(missed, r.UserID))
	}
	for _, r := range byEmail {
		add(r.UserID, ReasonEmail)
	}
	for _, r := range byAnon {
		add(r.UserID, ReasonAnonymousID)
	}
	return out
}

// Assemble builds the report of st at now (see Memory.Report for
// limit and products), for the configured sources and MaxExamples.
// Lookup misses come without candidates (nil): the caller fills them with
// Candidates for the misses reported, after the limit is applied.
func Assemble(st State, sources []Source, maxExamples int, now time.Time, limit int, products func(string) bool) Report {
	rep := Report{
		GeneratedAt:      now.UTC().Truncate(time.Second),
		WindowSeconds:    max(int64(now.Sub(st.Start)/time.Second), 0),
		Sources:          assembleRows(st.Rows, sources, maxExamples, products),
		LookupMisses:     []Miss{},
		SessionConflicts: []SessionConflict{},
		EmailConflicts:   []EmailConflict{},
	}
	if products == nil {
		rep.Totals.Lookups, rep.Totals.LookupMisses = st.Lookups, st.LookupMisses
		for _, m := range st.Misses {
			rep.LookupMisses = append(rep.LookupMisses, Miss{UserID: m.UserID, Count: m.Count, LastAt: m.Last.UTC().Truncate(time.Second)})
		}
	}
	var conflictAt, emailAt []time.Time
	for _, c := range st.Conflicts {
		if c.Email {
			ids := refUserIDs(c.Refs, products)
			if len(ids) < 2 {
				continue
			}
			rep.EmailConflicts = append(rep.EmailConflicts, EmailConflict{Email: c.Display, UserIDs: ids})
			emailAt = append(emailAt, c.Last)
			continue
		}
		if products != nil && !products(c.ProductID) {
			continue
		}
		rep.SessionConflicts = append(rep.SessionConflicts, SessionConflict{ProductID: c.ProductID, SessionID: c.SessionID, UserIDs: refUserIDs(c.Refs, nil)})
		conflictAt = append(conflictAt, c.Last)
	}

	for _, s := range rep.Sources {
		rep.Totals.Deliveries += s.Deliveries
		rep.Totals.Payloads += s.Payloads
		rep.Totals.MissingUserID += s.MissingUserID
	}
	slices.SortStableFunc(rep.Sources, func(a, b SourceReport) int {
		return cmp.Or(
			cmp.Compare(b.MissingUserIDRatio, a.MissingUserIDRatio),
			cmp.Compare(b.MissingUserID, a.MissingUserID),
			cmp.Compare(rejectedTotal(b), rejectedTotal(a)),
			cmp.Compare(b.Deliveries, a.Deliveries),
			cmp.Compare(a.Source, b.Source),
			cmp.Compare(a.ProductID, b.ProductID),
		)
	})
	slices.SortStableFunc(rep.LookupMisses, func(a, b Miss) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), b.LastAt.Compare(a.LastAt), cmp.Compare(a.UserID, b.UserID))
	})
	rep.SessionConflicts = sortConflicts(rep.SessionConflicts, conflictAt, func(c SessionConflict) []string { return c.UserIDs },
		func(c SessionConflict) string { return c.ProductID + "\x00" + c.SessionID })
	rep.EmailConflicts = sortConflicts(rep.EmailConflicts, emailAt, func(c EmailConflict) []string { return c.UserIDs },
		func(c EmailConflict) string { return c.Email })
	if limit > 0 {
		rep.Sources = rep.Sources[:min(limit, len(rep.Sources))]
		rep.LookupMisses = rep.LookupMisses[:min(limit, len(rep.LookupMisses))]
		rep.SessionConflicts = rep.SessionConflicts[:min(limit, len(rep.SessionConflicts))]
		rep.EmailConflicts = rep.EmailConflicts[:min(limit, len(rep.EmailConflicts))]
	}
	return rep
}

// assembleRows turns rows into report rows visible in products. For the
// all-products view, a source's rows are merged into one, whose product is
// the source's configured product ("" for a source without one). Configured
// sources are always shown, with zero counts when st holds no row for them.
func assembleRows(rows []RowState, sources []Source, maxExamples int, products func(string) bool) []SourceReport {
	configured := make(map[string]Source, len(sources))
	type key struct{ source, product string }
	have := map[key]bool{}
	for _, r := range rows {
		have[key{r.Source, r.Product}] = true
	}
	for _, s := range sources {
		if _, dup := configured[s.Name]; dup || s.Name == "" {
			continue
		}
		configured[s.Name] = s
		if !have[key{s.Name, s.ProductID}] {
			rows = append(rows, RowState{Source: s.Name, Product: s.ProductID, Provider: s.Provider})
		}
	}
	out := []SourceReport{}
	bySource := map[string]int{}
	for _, r := range rows {
		if products != nil && (r.Product == "" || !products(r.Product)) {
			continue
		}
		product := r.Product
		if products == nil {
			product = configured[r.Source].ProductID
			if i, ok := bySource[r.Source]; ok {
				out[i] = mergeRow(out[i], r, maxExamples)
				continue
			}
			bySource[r.Source] = len(out)
		}
		out = append(out, mergeRow(SourceReport{Source: r.Source, Provider: r.Provider, ProductID: product,
			Rejected: map[string]int64{}, Examples: []Example{}, LateExamples: []Example{}}, r, maxExamples))
	}
	for i := range out {
		if out[i].Payloads > 0 {
			ratio := float64(out[i].MissingUserID) / float64(out[i].Payloads)
			out[i].MissingUserIDRatio = float64(int64(ratio*10000+0.5)) / 10000
		}
	}
	return out
}

// refUserIDs lists the distinct user ids of refs whose product is allowed
// (all when products is nil), first seen first.
func refUserIDs(refs []Ref, products func(string) bool) []string {
	out := []string{}
	for _, r := range refs {
		if products != nil && (r.Product == "" || !products(r.Product)) {
			continue
		}
		if !slices.Contains(out, r.UserID) {
			out = append(out, r.UserID)
		}
	}
	return out
}

package driftpage

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/replayhook/replayhook/drift"
)

// verdict is the one line at the top: the worst source, the lookup misses
// and their most common explanation, then conflicts; and its level (ok,
// warn or bad).
func verdict(in Input) (string, string) {
	r := in.Report
	var clauses []string
	level := "ok"
	add := func(clause, lvl string) {
		if clause != "" {
			clauses = append(clauses, clause)
			level = worse(level, lvl)
		}
	}
	add(missingClause(r))
	if in.All {
		add(lookupClause(r))
	}
	if n := len(r.SessionConflicts); n > 0 && len(clauses) < 2 {
		add(fmt.Sprintf("%d %s more than one user_id", n, plural(n, "session carries", "sessions carry")), "warn")
	}
	if n := len(r.EmailConflicts); n > 0 && len(clauses) < 2 {
		add(fmt.Sprintf("%d %s on several user ids", n, plural(n, "email appears", "emails appear")), "warn")
	}
	if rej := rejectedCount(r); rej > 0 && len(clauses) == 0 {
		add(fmt.Sprintf("%d %s rejected", rej, plural(int(rej), "delivery was", "deliveries were")), "warn")
	}
	switch {
	case len(clauses) > 0:
		s := strings.Join(clauses, "; ") + "."
		return strings.ToUpper(s[:1]) + s[1:], level
	case r.Totals.Deliveries == 0 && r.Totals.Lookups == 0:
		return "Nothing observed in this window yet: no deliveries and no lookups.", "ok"
	case !in.All:
		return "No identity drift in your products: every payload carried a user_id.", "ok"
	}
	return "No identity drift: every payload carried a user_id and every lookup found sessions.", "ok"
}

// worse is the worse of two levels.
func worse(a, b string) string {
	rank := map[string]int{"ok": 0, "warn": 1, "bad": 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// missingClause names the worst source for payloads without a user id
// (bad from half of them), "" when every payload had one.
func missingClause(r drift.Report) (string, string) {
	var worst *drift.SourceReport
	var withMissing int
	for i := range r.Sources {
		if r.Sources[i].MissingUserID > 0 {
			withMissing++
			if worst == nil {
				worst = &r.Sources[i]
			}
		}
	}
	if worst == nil {
		return "", "ok"
	}
	c := fmt.Sprintf("%s of %s payloads carry no user_id", percent(worst.MissingUserIDRatio), worst.Source)
	if withMissing > 1 {
		c += fmt.Sprintf(" (and %d more %s)", withMissing-1, plural(withMissing-1, "source", "sources"))
	}
	if worst.MissingUserIDRatio >= 0.5 {
		return c, "bad"
	}
	return c, "warn"
}

// lookupClause counts the missed lookups and how many match a known user
// (bad from a fifth of the lookups), "" when none missed.
func lookupClause(r drift.Report) (string, string) {
	if r.Totals.LookupMisses == 0 {
		return "", "ok"
	}
	c := fmt.Sprintf("%d chat %s missed", r.Totals.LookupMisses, plural(int(r.Totals.LookupMisses), "lookup", "lookups")) +
		explainedClause(r.LookupMisses)
	if r.Totals.Lookups > 0 && float64(r.Totals.LookupMisses)/float64(r.Totals.Lookups) >= 0.2 {
		return c, "bad"
	}
	return c, "warn"
}

func rejectedCount(r drift.Report) int64 {
	var n int64
	for _, s := range r.Sources {
		for _, v := range s.Rejected {
			n += v
		}
	}
	return n
}

// reasons are the candidate reasons, in the order the verdict breaks ties.
var reasons = []string{drift.ReasonCase, drift.ReasonWhitespace, drift.ReasonPrefix, drift.ReasonEmail, drift.ReasonAnonymousID}

// explainedClause counts the missed lookups that have a candidate, whatever
// its reason, and says how they match: ", 8 of them match a known user (5
// by case, 3 by email)", or "" when none has a candidate. Each miss counts
// under its best candidate's reason.
func explainedClause(misses []drift.Miss) string {
	byReason := map[string]int64{}
	var explained int64
	for _, m := range misses {
		if len(m.Candidates) > 0 {
			byReason[m.Candidates[0].Reason] += m.Count
			explained += m.Count
		}
	}
	if explained == 0 {
		return ""
	}
	order := slices.Clone(reasons)
	slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(byReason[b], byReason[a]) })
	var how []string
	for _, reason := range order {
		if n := byReason[reason]; n > 0 {
			how = append(how, fmt.Sprintf("%d %s", n, reasonHow(reason)))
		}
	}
	verb := plural(int(explained), "matches", "match")
	if len(how) == 1 {
		return fmt.Sprintf(", %d of them %s a known user %s", explained, verb, reasonHow(order[0]))
	}
	return fmt.Sprintf(", %d of them %s a known user (%s)", explained, verb, strings.Join(how, ", "))
}

// reasonHow is how a candidate of reason matches.
func reasonHow(reason string) string {
	switch reason {
	case drift.ReasonCase:
		return "by case"
	case drift.ReasonWhitespace:
		return "but for white space"
	case drift.ReasonPrefix:
		return "once a prefix is removed"
	case drift.ReasonEmail:
		return "by email"
	case drift.ReasonAnonymousID:
		return "through an anonymous id"
	}
	return "in another way"
}

package driftpage

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/replayhook/replayhook/drift"
)

// The page's headline numbers and its sections, one per kind of finding:
// what is wrong, how to fix it, and the rows of evidence.

func stats(in Input) []pageStat {
	r := in.Report
	out := []pageStat{{Label: "Deliveries", Value: count(r.Totals.Deliveries), Note: fmt.Sprintf("%s rejected", count(rejectedCount(r)))}}
	ratio := 0.0
	if r.Totals.Payloads > 0 {
		ratio = float64(r.Totals.MissingUserID) / float64(r.Totals.Payloads)
	}
	out = append(out, pageStat{Label: "Payloads without user_id", Value: percent(ratio),
		Note: fmt.Sprintf("%s of %s", count(r.Totals.MissingUserID), count(r.Totals.Payloads)), Bar: bar(ratio, "")})
	if in.All {
		ratio = 0
		if r.Totals.Lookups > 0 {
			ratio = float64(r.Totals.LookupMisses) / float64(r.Totals.Lookups)
		}
		out = append(out, pageStat{Label: "Lookups that missed", Value: percent(ratio),
			Note: fmt.Sprintf("%s of %s", count(r.Totals.LookupMisses), count(r.Totals.Lookups)), Bar: bar(ratio, "")})
	}
	out = append(out, pageStat{Label: "Conflicts", Value: count(int64(len(r.SessionConflicts) + len(r.EmailConflicts))),
		Note: fmt.Sprintf("%d %s, %d %s", len(r.SessionConflicts), plural(len(r.SessionConflicts), "session", "sessions"),
			len(r.EmailConflicts), plural(len(r.EmailConflicts), "email", "emails"))})
	return out
}

// bar is a ratio bar; the tone follows the ratio unless given.
func bar(ratio float64, tone string) *pageBar {
	ratio = min(max(ratio, 0), 1)
	if tone == "" {
		switch {
		case ratio == 0:
			tone = "ok"
		case ratio < 0.1:
			tone = "warn"
		default:
			tone = "bad"
		}
	}
	w := ratio * 100
	if ratio > 0 {
		w = max(w, 2) // a sliver stays visible
	}
	return &pageBar{Width: math.Round(w*10) / 10, Label: percent(ratio), Tone: tone}
}

func missingUserSection(in Input) (pageSection, [][]pageCell) {
	var rows [][]pageCell
	providers := map[string]bool{}
	var order []string
	var never []string
	for _, s := range in.Report.Sources {
		if s.MissingUserID == 0 {
			continue
		}
		if !providers[s.Provider] {
			providers[s.Provider] = true
			order = append(order, s.Provider)
		}
		if s.MissingUserID == s.Payloads {
			never = append(never, s.Source)
		}
		ex := sessions(s.Examples)
		rows = append(rows, []pageCell{
			{Parts: code(s.Source), Sub: productLabel(s.ProductID)},
			{Parts: plain(fmt.Sprintf("%s of %s", count(s.MissingUserID), count(s.Payloads))), Bar: bar(s.MissingUserIDRatio, "")},
			{Parts: ex},
		})
	}
	sec := pageSection{
		ID: "missing-user-id", Title: "Payloads without a user_id", Severity: "warn",
		Columns: []string{"Source", "Without user_id", "Recent sessions without a user"},
	}
	summary := "These sessions are stored and readable by session id (`GET /v1/sessions/{session_id}`), but no user lookup can find them."
	if len(never) > 0 {
		sec.Severity = "bad"
		summary = fmt.Sprintf("%s never sent a user_id in this window. ", strings.Join(never, ", ")) + summary
	}
	sec.Summary = md(summary)
	for _, prov := range order {
		sec.Fix = append(sec.Fix, md(identifyFix(prov)))
	}
	return sec, rows
}

// identifyFix says how to make a vendor's events carry the user id.
func identifyFix(provider string) string {
	switch provider {
	case "posthog":
		return "PostHog: call `posthog.identify(userId)` as soon as the user logs in, before the chat widget boots, with the same id the chat layer asks with."
	case "segment":
		return "Segment: call `analytics.identify(userId)` at login; until then events carry only an anonymousId, which is not a user."
	case "fullstory":
		return "FullStory: call `FS('setIdentity', { uid: userId })` at login, and map `user_id` in the Streams destination."
	case "amplitude":
		return "Amplitude: call `amplitude.setUserId(userId)` at login."
	case "highlight":
		return "Highlight: call `H.identify(userId)` at login."
	case "sentry":
		return "Sentry: call `Sentry.setUser({ id: userId })` at login."
	case "autoplay":
		return "Autoplay connector: identify the user in the product analytics the connector reads from (e.g. `posthog.identify(userId)`), so it can forward `user_id`."
	default:
		return "Send the user id the chat layer asks with (`user_id`) on every event, or identify the anonymous id as soon as the user logs in."
	}
}

// missGroup is the lookup misses sharing their best explanation.
type missGroup struct {
	reason  string
	total   int64
	section pageSection
	rows    [][]pageCell
}

func missGroups(in Input) []missGroup {
	if !in.All || len(in.Report.LookupMisses) == 0 {
		return nil
	}
	var maxCount int64
	for _, m := range in.Report.LookupMisses {
		maxCount = max(maxCount, m.Count)
	}
	byReason := map[string]*missGroup{}
	var groups []*missGroup
	for _, m := range in.Report.LookupMisses {
		reason := ""
		if len(m.Candidates) > 0 {
			reason = m.Candidates[0].Reason
		}
		g := byReason[reason]
		if g == nil {
			g = &missGroup{reason: reason}
			byReason[reason] = g
			groups = append(groups, g)
		}
		g.total += m.Count
		var cands []textPart
		for i, c := range m.Candidates {
			if i > 0 {
				cands = append(cands, textPart{Text: ", "})
			}
			cands = append(cands, textPart{Text: in.id(c.UserID), Code: true}, textPart{Text: " (" + c.Reason + ")"})
		}
		if len(cands) == 0 {
			cands = plain("no known user alike")
		}
		g.rows = append(g.rows, []pageCell{
			{Parts: code(in.id(m.UserID))},
			{Parts: plain(count(m.Count)), Num: true, Bar: &pageBar{Width: math.Round(float64(m.Count)/float64(maxCount)*1000) / 10, Label: count(m.Count), Tone: "warn"}},
			{Parts: plain(ago(in.Now, m.LastAt))},
			{Parts: cands},
		})
	}
	slices.SortStableFunc(groups, func(a, b *missGroup) int {
		return cmp.Or(cmp.Compare(unexplained(a.reason), unexplained(b.reason)), cmp.Compare(b.total, a.total))
	})
	out := make([]missGroup, 0, len(groups))
	for _, g := range groups {
		g.section = missSection(g.reason, g.total, g.rows[0][0].Parts[0].Text, firstCandidate(in, g))
		out = append(out, *g)
	}
	return out
}

// unexplained sorts misses without a candidate after the explained ones,
// which come with a concrete fix.
func unexplained(reason string) int {
	if reason == "" {
		return 1
	}
	return 0
}

func firstCandidate(in Input, g *missGroup) string {
	for _, m := range in.Report.LookupMisses {
		if len(m.Candidates) > 0 && m.Candidates[0].Reason == g.reason {
			return in.id(m.Candidates[0].UserID)
		}
	}
	return ""
}

func missSection(reason string, total int64, asked, known string) pageSection {
	s := pageSection{
		ID: "misses-" + cmp.Or(reason, "unexplained"), Severity: "bad",
		Columns: []string{"Chat layer asked for", "Misses", "Last", "Probably"},
	}
	n := fmt.Sprintf("%d %s", total, plural(int(total), "lookup", "lookups"))
	var fix string
	switch reason {
	case drift.ReasonCase:
		s.Title = "Lookups that differ from a known user id only in case"
		s.Summary = md(fmt.Sprintf("%s asked for an id like `%s` while the events carry `%s`. Ids are compared exactly, case included.", n, asked, known))
		fix = "Lower-case ids on one side, or better, send the exact same string to `identify()` and to the chat layer."
	case drift.ReasonWhitespace:
		s.Title = "Lookups that differ from a known user id only by white space"
		s.Summary = md(fmt.Sprintf("%s asked for an id that matches a known user once spaces or invisible characters (zero-width space, no-break space, byte-order mark) are removed. replayhook trims only the ends of an id.", n))
		fix = "Strip white space and invisible characters where the id is produced (a copied value, a template, a form field), on both sides."
	case drift.ReasonPrefix:
		s.Title = "Lookups that match a known user id once a prefix is removed"
		s.Summary = md(fmt.Sprintf("%s asked for an id like `%s` while the events carry `%s`: the same id, formatted differently.", n, asked, known))
		fix = "Pick one form of the id (with or without the prefix or identity-provider namespace such as `auth0|`) and use it on both sides, or map it in the chat layer before the lookup."
	case drift.ReasonEmail:
		s.Title = "Lookups by email"
		s.Summary = md(fmt.Sprintf("%s asked with an email that the events carry next to another user id (`%s`).", n, known))
		fix = "Ask with the user id the events carry, not the email, or send the email as `user_id` in `identify()` if that is the id your chat layer knows."
	case drift.ReasonAnonymousID:
		s.Title = "Lookups with an anonymous id"
		s.Summary = md(fmt.Sprintf("%s asked with an id seen as an anonymous id before the user was identified; the sessions now carry `%s`.", n, known))
		fix = "Call `identify()` before the chat widget boots and pass the identified id to the chat layer, not the anonymous one (`posthog.get_distinct_id()` before login is anonymous)."
	default:
		s.Title = "Lookups that match no known user"
		s.Severity = "warn"
		s.Summary = md(fmt.Sprintf("%s asked for ids that resemble no user id, email or anonymous id seen in this process.", n))
		fix = "Check where the chat layer gets the id it asks with. Either the events for these users carry no user_id (see the sources above), their sessions are older than the lookback (`index.lookback_seconds`), or the ids come from another system."
	}
	s.Fix = [][]textPart{md(fix)}
	return s
}

func sessionConflictSection(in Input) (pageSection, [][]pageCell) {
	var rows [][]pageCell
	for _, c := range in.Report.SessionConflicts {
		rows = append(rows, []pageCell{
			{Parts: code(c.SessionID), Sub: productLabel(c.ProductID)},
			{Parts: in.idChain(c.UserIDs, " → ")},
		})
	}
	return pageSection{
		ID: "session-conflicts", Title: "Sessions that carry more than one user_id", Severity: "warn",
		Summary: md("Each of these sessions was seen with several user ids, in the order shown. When the first is an anonymous id, the visitor logged in mid-session: expected, but the chat layer must ask with the identified id. When both are real users, two people shared a browser session."),
		Fix: [][]textPart{
			md("Anonymous → identified: call `identify()` as early as possible after login, and ask with the identified id."),
			md("Two people: call your vendor's reset at logout (`posthog.reset()`, `analytics.reset()`, `FS('setIdentity', { anonymous: true })`), so the next person starts a new session."),
		},
		Columns: []string{"Session", "User ids, first seen first"},
	}, rows
}

func emailConflictSection(in Input) (pageSection, [][]pageCell) {
	var rows [][]pageCell
	for _, c := range in.Report.EmailConflicts {
		rows = append(rows, []pageCell{
			{Parts: code(in.email(c.Email))},
			{Parts: in.idChain(c.UserIDs, ", ")},
		})
	}
	return pageSection{
		ID: "email-conflicts", Title: "Emails on several user ids", Severity: "warn",
		Summary: md("The same person exists under several user ids (for example your database id and an identity provider's `auth0|…` id). A lookup finds only the sessions under the id it asks with."),
		Fix:     [][]textPart{md("Send one canonical user id everywhere (in `identify()` and in the chat layer); map the identity provider's id to it at login.")},
		Columns: []string{"Email", "User ids"},
	}, rows
}

func rejectedSection(in Input) (pageSection, [][]pageCell) {
	type rej struct {
		source, product, code string
		n                     int64
	}
	var all []rej
	for _, s := range in.Report.Sources {
		for c, n := range s.Rejected {
			all = append(all, rej{s.Source, s.ProductID, c, n})
		}
	}
	slices.SortFunc(all, func(a, b rej) int {
		return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.source, b.source), cmp.Compare(a.code, b.code))
	})
	var rows [][]pageCell
	for _, r := range all {
		rows = append(rows, []pageCell{
			{Parts: code(r.source), Sub: productLabel(r.product)},
			{Parts: code(r.code)},
			{Parts: plain(count(r.n)), Num: true},
			{Parts: md(rejectionFix(r.code))},
		})
	}
	return pageSection{
		ID: "rejected", Title: "Rejected deliveries", Severity: "bad",
		Summary: md("These deliveries were refused and stored nothing. Vendors retry some of them; a persistent reason is a setup problem."),
		Columns: []string{"Source", "Reason", "Count", "What to do"},
	}, rows
}

func rejectionFix(code string) string {
	switch code {
	case "invalid_signature":
		return "The signing secret differs: copy the vendor's secret into the source's `secrets` (list the old and the new one while rotating)."
	case "stale_timestamp":
		return "The signed timestamp is outside the tolerance: check the server clock (NTP), or raise the source's `tolerance_seconds`."
	case "payload_too_large":
		return "Raise `server.max_body_bytes`, or make the vendor send smaller batches."
	case "malformed_json":
		return "The body is not a JSON object: check that the vendor posts to the right source."
	case "invalid_payload":
		return "The JSON does not fit the source's provider: check that the source's `provider` matches the vendor."
	case "product_mismatch":
		return "Payloads name another product than the source's `product_id`: fix one of them."
	case "unknown_source":
		return "Something posts to `/webhooks/<name>` with a name that is not configured: check the URL set in the vendor."
	case "unavailable":
		return "The store was unavailable and the vendor was asked to retry: see the server log."
	default:
		return "See `GET /v1/deliveries/rejected` and the server log."
	}
}

func lateSection(in Input) (pageSection, [][]pageCell) {
	var rows [][]pageCell
	for _, s := range in.Report.Sources {
		if s.Late == 0 {
			continue
		}
		ratio := 0.0
		if s.Payloads > 0 {
			ratio = float64(s.Late) / float64(s.Payloads)
		}
		rows = append(rows, []pageCell{
			{Parts: code(s.Source), Sub: productLabel(s.ProductID)},
			{Parts: plain(fmt.Sprintf("%s of %s", count(s.Late), count(s.Payloads))), Bar: bar(ratio, "warn")},
			{Parts: sessions(s.LateExamples)},
		})
	}
	return pageSection{
		ID: "late", Title: "Late events", Severity: "warn",
		Summary: md("These payloads were already older than the lookback (`index.lookback_seconds`) when they arrived: they are readable by session id but not linked to their user."),
		Fix:     [][]textPart{md("Make the vendor deliver sooner (smaller batches, no delay), or raise `index.lookback_seconds` to cover the delay.")},
		Columns: []string{"Source", "Late payloads", "Recent late sessions"},
	}, rows
}

func quietSection(in Input) (pageSection, [][]pageCell) {
	var rows [][]pageCell
	for _, s := range in.Report.Sources {
		if s.Deliveries == 0 && s.Payloads == 0 && s.Source != drift.UnknownSource {
			rows = append(rows, []pageCell{
				{Parts: code(s.Source), Sub: productLabel(s.ProductID)},
				{Parts: code("/webhooks/" + s.Source)},
			})
		}
	}
	return pageSection{
		ID: "quiet", Title: "Sources with no deliveries", Severity: "info",
		Summary: md("Nothing arrived at these sources in this window."),
		Fix:     [][]textPart{md("If the vendor should be sending, check the webhook URL configured there: `https://<host>/webhooks/<source>`.")},
		Columns: []string{"Source", "Endpoint"},
	}, rows
}

// recentRejectionsSection lists the rejected-delivery log, when the server
// keeps one and the reader may see it.
func recentRejectionsSection(in Input) (pageSection, [][]pageCell) {
	var rows [][]pageCell
	for _, r := range in.Rejections {
		rows = append(rows, []pageCell{
			{Parts: plain(ago(in.Now, r.At))},
			{Parts: code(r.Source)},
			{Parts: code(r.Code), Sub: r.Reason},
			{Parts: code(cmp.Or(r.RequestID, "—"))},
		})
	}
	return pageSection{
		ID: "recent-rejections", Title: "Recent rejected deliveries", Severity: "info",
		Summary: md("The latest refused deliveries, newest first (`GET /v1/deliveries/rejected` has more)."),
		Columns: []string{"When", "Source", "Reason", "Request id"},
	}, rows
}

// sessions lists example sessions as code, "—" when there is none.
func sessions(examples []drift.Example) []textPart {
	if len(examples) == 0 {
		return plain("—")
	}
	out := make([]textPart, 0, len(examples)*2)
	for i, e := range examples {
		if i > 0 {
			out = append(out, textPart{Text: " "})
		}
		out = append(out, textPart{Text: e.SessionID, Code: true})
	}
	return out
}

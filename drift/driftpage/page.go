// Package driftpage renders an identity-drift report as a page a person can
// act on: a verdict, the headline numbers, and one section per finding with
// what is wrong, how to fix it and the evidence. It is pure: a report in,
// HTML out; the HTTP layer reads the report and serves the bytes.
package driftpage

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	_ "embed" // the page's template and style sheet
	"encoding/base64"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/replayhook/replayhook/drift"
)

// The page is one self-contained document: its style sheet is inlined and
// allowed by hash in the Content-Security-Policy (CSP), which forbids every
// other load (no script, no image but data:, no font, no connection), so the
// browser never requests anything but the page itself.

//go:embed templates/drift.html
var pageHTML string

//go:embed templates/drift.css
var pageCSS string

// page is the template, parsed once: it is a constant of ours.
var page = template.Must(template.New("drift").Funcs(template.FuncMap{"runs": runs}).Parse(pageHTML))

// csp is CSP's value, computed once.
var csp = func() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}()

// CSP is the Content-Security-Policy to serve the page with: nothing but
// the inlined style sheet and data: images.
func CSP() string { return csp }

// Input is everything the page is built from.
type Input struct {
	// Report is the window's report, its lists cut to at least Limit
	// entries (the verdict groups the lookup misses it holds).
	Report drift.Report
	Now    time.Time
	// Limit is the rows shown per section.
	Limit int
	// All: the reader may see every product (and lookup misses).
	All        bool
	ShowEmails bool
	// Scope names what the reader sees ("all products", "products a, b").
	Scope string
	// Rejections are the recent rejected deliveries, newest first (only
	// for a reader who sees all products).
	Rejections []Rejection
}

// Rejection is one rejected delivery as the page lists it.
type Rejection struct {
	At        time.Time
	Source    string
	Code      string
	Reason    string
	RequestID string
}

// Render is the page of in, as HTML.
func Render(in Input) ([]byte, error) {
	var buf bytes.Buffer
	if err := page.Execute(&buf, build(in)); err != nil {
		return nil, fmt.Errorf("drift page: %w", err)
	}
	return buf.Bytes(), nil
}

// driftPage is the template's data.
type driftPage struct {
	Verdict    string
	Level      string // ok | warn | bad
	Window     string
	Generated  string
	Scope      string
	Stats      []pageStat
	Sections   []pageSection
	Masked     bool
	CSS        template.CSS
	LimitShown int
}

type pageStat struct {
	Label string
	Value string
	Note  string
	Bar   *pageBar
}

// pageSection is one finding: what is wrong, how to fix it, the evidence.
type pageSection struct {
	ID       string
	Title    string
	Severity string // bad | warn | info
	Summary  []textPart
	Fix      [][]textPart // one paragraph, or a list when several
	Columns  []string
	Rows     [][]pageCell
	More     int // rows not shown
}

// textPart is plain text, or code when Code is set; templates escape both.
type textPart struct {
	Text string
	Code bool
}

type pageCell struct {
	Parts []textPart
	Sub   string
	Bar   *pageBar
	Num   bool
}

// pageBar is a horizontal bar, Width in 0..100.
type pageBar struct {
	Width float64
	Label string
	Tone  string // bad | warn | ok | info
}

// md turns "text with `code`" into parts.
func md(s string) []textPart {
	var out []textPart
	for i, p := range strings.Split(s, "`") {
		if p != "" {
			out = append(out, textPart{Text: p, Code: i%2 == 1})
		}
	}
	return out
}

func plain(s string) []textPart { return []textPart{{Text: s}} }
func code(s string) []textPart  { return []textPart{{Text: s, Code: true}} }

// build turns the report into the verdict, the headline numbers and
// one section per finding.
func build(in Input) driftPage {
	r := in.Report
	p := driftPage{
		Window:     duration(time.Duration(r.WindowSeconds) * time.Second),
		Generated:  r.GeneratedAt.UTC().Format("2006-01-02 15:04:05 UTC"),
		Scope:      in.Scope,
		Masked:     !in.ShowEmails,
		CSS:        template.CSS(pageCSS), // a constant of ours, not input
		LimitShown: in.Limit,
	}
	p.Verdict, p.Level = verdict(in)
	p.Stats = stats(in)
	add := func(s pageSection, rows [][]pageCell) {
		if len(rows) == 0 {
			return
		}
		if len(rows) > in.Limit {
			s.More = len(rows) - in.Limit
			rows = rows[:in.Limit]
		}
		s.Rows = rows
		p.Sections = append(p.Sections, s)
	}
	add(missingUserSection(in))
	for _, g := range missGroups(in) {
		add(g.section, g.rows)
	}
	add(sessionConflictSection(in))
	add(emailConflictSection(in))
	add(rejectedSection(in))
	add(lateSection(in))
	add(quietSection(in))
	add(recentRejectionsSection(in))
	return p
}

// verdict is the one line at the top: the worst source, the lookup misses
// and their most common explanation, then conflicts.
func verdict(in Input) (string, string) {
	r := in.Report
	var clauses []string
	level := "ok"
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
	if worst != nil {
		c := fmt.Sprintf("%s of %s payloads carry no user_id", percent(worst.MissingUserIDRatio), worst.Source)
		if withMissing > 1 {
			c += fmt.Sprintf(" (and %d more %s)", withMissing-1, plural(withMissing-1, "source", "sources"))
		}
		clauses = append(clauses, c)
		level = "warn"
		if worst.MissingUserIDRatio >= 0.5 {
			level = "bad"
		}
	}
	if in.All && r.Totals.LookupMisses > 0 {
		c := fmt.Sprintf("%d chat %s missed", r.Totals.LookupMisses, plural(int(r.Totals.LookupMisses), "lookup", "lookups"))
		c += explainedClause(r.LookupMisses)
		clauses = append(clauses, c)
		if level == "ok" {
			level = "warn"
		}
		if r.Totals.Lookups > 0 && float64(r.Totals.LookupMisses)/float64(r.Totals.Lookups) >= 0.2 {
			level = "bad"
		}
	}
	if n := len(r.SessionConflicts); n > 0 && len(clauses) < 2 {
		clauses = append(clauses, fmt.Sprintf("%d %s more than one user_id", n, plural(n, "session carries", "sessions carry")))
		if level == "ok" {
			level = "warn"
		}
	}
	if n := len(r.EmailConflicts); n > 0 && len(clauses) < 2 {
		clauses = append(clauses, fmt.Sprintf("%d %s on several user ids", n, plural(n, "email appears", "emails appear")))
		if level == "ok" {
			level = "warn"
		}
	}
	if rej := rejectedCount(r); rej > 0 && len(clauses) == 0 {
		clauses = append(clauses, fmt.Sprintf("%d %s rejected", rej, plural(int(rej), "delivery was", "deliveries were")))
		level = "warn"
	}
	if len(clauses) > 0 {
		s := strings.Join(clauses, "; ") + "."
		return strings.ToUpper(s[:1]) + s[1:], level
	}
	if r.Totals.Deliveries == 0 && r.Totals.Lookups == 0 {
		return "Nothing observed in this window yet: no deliveries and no lookups.", "ok"
	}
	if !in.All {
		return "No identity drift in your products: every payload carried a user_id.", "ok"
	}
	return "No identity drift: every payload carried a user_id and every lookup found sessions.", "ok"
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

func productLabel(p string) string {
	if p == "" {
		return ""
	}
	return "product " + p
}

// id shows a user id, masking it when it is an email and emails are masked.
func (in Input) id(s string) string {
	if in.ShowEmails {
		return s
	}
	return maskEmail(s)
}

func (in Input) email(s string) string { return in.id(s) }

func (in Input) idChain(ids []string, sep string) []textPart {
	var out []textPart
	for i, id := range ids {
		if i > 0 {
			out = append(out, textPart{Text: sep})
		}
		out = append(out, textPart{Text: in.id(id), Code: true})
	}
	return out
}

// run is a stretch of code text: visible characters, or one invisible
// character shown by its code point (Mark).
type run struct {
	Text string
	Mark bool
}

// runs splits code text so that the page shows what a reader could not
// see: every invisible character (zero-width space, byte-order mark, bidi
// marks, no-break and other spaces than U+0020, control characters) becomes
// a marked "U+200B". Ids that differ only by such a character would
// otherwise look identical.
func runs(s string) []run {
	var out []run
	start := 0
	for i, r := range s {
		if !invisible(r) {
			continue
		}
		if i > start {
			out = append(out, run{Text: s[start:i]})
		}
		out = append(out, run{Text: fmt.Sprintf("U+%04X", r), Mark: true})
		start = i + utf8.RuneLen(r)
	}
	if start < len(s) {
		out = append(out, run{Text: s[start:]})
	}
	return out
}

// invisible reports whether r shows as nothing, or as a plain space that
// is not one.
func invisible(r rune) bool {
	if r == ' ' {
		return false
	}
	return r == utf8.RuneError || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) || !unicode.IsGraphic(r)
}

// maskEmail turns "dana.whitfield@example.com" into "d***@example.com";
// anything that is not shaped like an email is returned unchanged.
func maskEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return s
	}
	r, _ := utf8.DecodeRuneInString(s)
	return string(r) + "***" + s[at:]
}

func percent(ratio float64) string {
	switch {
	case ratio <= 0:
		return "0%"
	case ratio < 0.01:
		return "<1%"
	case ratio < 1 && ratio > 0.99:
		return ">99%"
	}
	return fmt.Sprintf("%.0f%%", ratio*100)
}

func count(n int64) string {
	s := fmt.Sprint(n)
	if n < 10000 {
		return s
	}
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// duration is a window length for people: "45 s", "12 min", "3 h 5 min", "2 d 4 h".
func duration(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%d s", s)
	case s < 3600:
		return fmt.Sprintf("%d min", s/60)
	case s < 86400:
		if m := s % 3600 / 60; m > 0 {
			return fmt.Sprintf("%d h %d min", s/3600, m)
		}
		return fmt.Sprintf("%d h", s/3600)
	default:
		if h := s % 86400 / 3600; h > 0 {
			return fmt.Sprintf("%d d %d h", s/86400, h)
		}
		return fmt.Sprintf("%d d", s/86400)
	}
}

func ago(now, t time.Time) string {
	d := now.Sub(t)
	if d < 5*time.Second {
		return "just now"
	}
	return duration(d) + " ago"
}

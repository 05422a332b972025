// Package driftpage renders an identity-drift report as a page a person can
// act on: a verdict, the headline numbers, and one section per finding with
// what is wrong, how to fix it and the evidence. It is pure: a report in,
// HTML out; the HTTP layer reads the report and serves the bytes.
package driftpage

import (
	"bytes"
	"crypto/sha256"
	_ "embed" // the page's template and style sheet
	"encoding/base64"
	"fmt"
	"html/template"
	"strings"
	"time"

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

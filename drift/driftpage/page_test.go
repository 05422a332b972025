package driftpage

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/drift"
)

func TestDriftPageVerdicts(t *testing.T) {
	base := drift.Report{WindowSeconds: 3900}
	withSource := func(r drift.Report, s drift.SourceReport) drift.Report {
		r.Sources = append(slices.Clone(r.Sources), s)
		r.Totals.Deliveries += s.Deliveries
		r.Totals.Payloads += s.Payloads
		r.Totals.MissingUserID += s.MissingUserID
		return r
	}
	clean := withSource(base, drift.SourceReport{Source: "posthog-prod", Deliveries: 10, Payloads: 10})
	clean.Totals.Lookups = 4
	tests := []struct {
		name  string
		in    Input
		want  string
		level string
	}{
		{"nothing yet", Input{Report: base, All: true}, "Nothing observed in this window yet: no deliveries and no lookups.", "ok"},
		{"clean", Input{Report: clean, All: true}, "No identity drift: every payload carried a user_id and every lookup found sessions.", "ok"},
		{"clean, scoped", Input{Report: clean}, "No identity drift in your products: every payload carried a user_id.", "ok"},
		{"a few missing", Input{Report: withSource(base, drift.SourceReport{Source: "posthog-prod", Deliveries: 100, Payloads: 100, MissingUserID: 12, MissingUserIDRatio: 0.12})},
			"12% of posthog-prod payloads carry no user_id.", "warn"},
		{"misses explained by case", Input{All: true, Report: drift.Report{
			Totals: drift.Totals{Lookups: 400, LookupMisses: 37},
			LookupMisses: []drift.Miss{
				{UserID: "A", Count: 30, Candidates: []drift.Candidate{{UserID: "a", Reason: drift.ReasonCase}}},
				{UserID: "x", Count: 7, Candidates: []drift.Candidate{}}}}},
			"37 chat lookups missed, 30 of them match a known user by case.", "warn"},
		{"misses explained by several reasons", Input{All: true, Report: drift.Report{
			Totals: drift.Totals{Lookups: 400, LookupMisses: 11},
			LookupMisses: []drift.Miss{
				{UserID: "A", Count: 3, Candidates: []drift.Candidate{{UserID: "a", Reason: drift.ReasonCase}}},
				{UserID: "u@x.io", Count: 5, Candidates: []drift.Candidate{{UserID: "u1", Reason: drift.ReasonEmail}, {UserID: "U1", Reason: drift.ReasonCase}}},
				{UserID: "x", Count: 3, Candidates: []drift.Candidate{}}}}},
			"11 chat lookups missed, 8 of them match a known user (5 by email, 3 by case).", "warn"},
		{"conflicts only", Input{All: true, Report: drift.Report{Totals: drift.Totals{Deliveries: 2},
			SessionConflicts: []drift.SessionConflict{{}}, EmailConflicts: []drift.EmailConflict{{}, {}}}},
			"1 session carries more than one user_id; 2 emails appear on several user ids.", "warn"},
		{"rejections only", Input{All: true, Report: withSource(base, drift.SourceReport{Source: "s", Deliveries: 3, Rejected: map[string]int64{"invalid_signature": 3}})},
			"3 deliveries were rejected.", "warn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, level := verdict(tt.in)
			if got != tt.want || level != tt.level {
				t.Errorf("verdict = %q (%s), want %q (%s)", got, level, tt.want, tt.level)
			}
		})
	}
}

func TestDriftPageFormats(t *testing.T) {
	masks := map[string]string{
		"dana.whitfield@example.com": "d***@example.com",
		"Ünal@example.com":           "Ü***@example.com",
		"usr_48213":                  "usr_48213",
		"@example.com":               "@example.com",
		"dana@":                      "dana@",
	}
	for in, want := range masks {
		if got := maskEmail(in); got != want {
			t.Errorf("maskEmail(%q) = %q, want %q", in, got, want)
		}
	}
	percents := map[float64]string{0: "0%", 0.004: "<1%", 0.1224: "12%", 0.995: ">99%", 1: "100%"}
	for in, want := range percents {
		if got := percent(in); got != want {
			t.Errorf("percent(%v) = %q, want %q", in, got, want)
		}
	}
	durations := map[time.Duration]string{
		45 * time.Second: "45 s", 12 * time.Minute: "12 min", time.Hour + 5*time.Minute: "1 h 5 min",
		2 * time.Hour: "2 h", 52 * time.Hour: "2 d 4 h", 48 * time.Hour: "2 d",
	}
	for in, want := range durations {
		if got := duration(in); got != want {
			t.Errorf("duration(%v) = %q, want %q", in, got, want)
		}
	}
	if got := count(1234567); got != "1,234,567" {
		t.Errorf("count = %q", got)
	}
}

// Invisible characters in ids are shown by their code point; a plain
// space stays a space.
func TestInvisibleCharactersAreShown(t *testing.T) {
	tests := []struct {
		in   string
		want []run
	}{
		{"usr_48213", []run{{Text: "usr_48213"}}},
		{"acme 55", []run{{Text: "acme 55"}}},
		{"usr_48213\u200b", []run{{Text: "usr_48213"}, {Text: "U+200B", Mark: true}}},
		{"\ufeffdana\u00a0w", []run{{Text: "U+FEFF", Mark: true}, {Text: "dana"}, {Text: "U+00A0", Mark: true}, {Text: "w"}}},
		{"a\tb\u202e", []run{{Text: "a"}, {Text: "U+0009", Mark: true}, {Text: "b"}, {Text: "U+202E", Mark: true}}},
	}
	for _, tt := range tests {
		if got := runs(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("runs(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	page, err := Render(Input{Limit: 5, All: true, Report: drift.Report{
		Totals:       drift.Totals{Lookups: 1, LookupMisses: 1},
		LookupMisses: []drift.Miss{{UserID: "usr_48213\u200b", Count: 1, Candidates: []drift.Candidate{{UserID: "usr_48213", Reason: drift.ReasonWhitespace}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), `<code>usr_48213<span class="mark" title="an invisible character">U&#43;200B</span></code>`) {
		t.Errorf("the page does not show the zero-width space:\n%s", page)
	}
}

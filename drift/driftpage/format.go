package driftpage

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// How ids, numbers and times are shown to people.

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

package normalize

import (
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Length bounds applied to text built from vendor data, so that one
// delivery cannot make a stored action arbitrarily large.
const (
	maxLabelRunes = 200
	maxURLBytes   = 4096
)

// Payloads groups events into one ActionsPayload per (product_id,
// session_id), in order of first appearance, with readable titles and
// descriptions, canonical URLs and identity taken from the group's events
// (the last non-empty user id and email win). Events without a session id
// form their own payload with a null session_id; the caller decides what to
// do with it (replayhook never stores those under a shared key). now is the
// receive time: it stamps forwarded_at and stands in for unknown event times.
func Payloads(events []Event, now time.Time) []ActionsPayload {
	type groupKey struct{ product, session string }
	order := []groupKey{}
	groups := map[groupKey][]Event{}
	for _, e := range events {
		k := groupKey{CleanID(e.ProductID), CleanID(e.SessionID)}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], e)
	}
	nowS := UnixSeconds(now)
	out := make([]ActionsPayload, 0, len(order))
	for _, k := range order {
		evs := groups[k]
		var user, email, anon string
		for _, e := range evs {
			if v := CleanID(e.UserID); v != "" {
				user = v
			}
			if v := CleanID(e.Email); v != "" {
				email = v
			}
			if v := CleanID(e.AnonymousID); v != "" {
				anon = v
			}
		}
		p := ActionsPayload{
			Type:        "actions",
			ProductID:   k.product,
			SessionID:   OptStr(k.session),
			UserID:      OptStr(user),
			Email:       OptStr(email),
			ForwardedAt: nowS,
			AnonymousID: anon,
			Actions:     make([]SlimAction, 0, len(evs)),
		}
		for i, e := range evs {
			ts := nowS
			if !e.Time.IsZero() {
				ts = UnixSeconds(e.Time)
			}
			rawURL := clip(strings.TrimSpace(e.URL), maxURLBytes)
			title, desc := Describe(e)
			p.Actions = append(p.Actions, SlimAction{
				Index:          i,
				Type:           e.Kind,
				Title:          title,
				Description:    desc,
				TimestampStart: ts,
				TimestampEnd:   ts,
				RawURL:         rawURL,
				CanonicalURL:   CanonicalURL(rawURL),
				SessionID:      p.SessionID,
				UserID:         p.UserID,
				Email:          p.Email,
			})
			if i > 0 && p.Actions[i-1].TimestampEnd < ts {
				p.Actions[i-1].TimestampEnd = ts
			}
		}
		p.Count = len(p.Actions)
		out = append(out, p)
	}
	return out
}

// Describe returns the title and description of an event, e.g. "Click
// Place order" / "User clicked Place order on /checkout". An event's own
// Title or Description wins over the generated one.
func Describe(e Event) (title, desc string) {
	label := clipRunes(oneLine(e.Label), maxLabelRunes)
	where := ""
	if p := pagePath(e.URL); p != "" {
		where = " on " + p
	}
	switch e.Kind {
	case "pageview":
		page := pagePath(e.URL)
		if label != "" {
			title, desc = "Page view: "+label, "User viewed "+label
			if page != "" {
				desc += " (" + page + ")"
			}
		} else {
			title, desc = "Page view: "+orDash(page), "User viewed "+orDash(page)
		}
	case "click", "submit", "type", "focus", "blur":
		verb := map[string][2]string{
			"click":  {"Click", "clicked"},
			"submit": {"Submit", "submitted"},
			"type":   {"Input", "typed in"},
			"focus":  {"Focus", "focused"},
			"blur":   {"Blur", "left"},
		}[e.Kind]
		if label == "" {
			title, desc = verb[0], "User "+verb[1]+" an element"+where
		} else {
			title, desc = verb[0]+" "+label, "User "+verb[1]+" "+label+where
		}
	case "error":
		title, desc = orDefault(label, "Error"), "User hit an error: "+orDefault(label, "unknown error")+where
	case "note":
		title, desc = "Note", "Note on the session: "+orDefault(label, "(empty)")+where
	case "session":
		title, desc = orDefault(label, "Session"), orDefault(label, "Session")+where
	default: // custom and anything a vendor names
		title, desc = orDefault(label, "Event"), orDefault(label, "Event")+where
	}
	if t := clipRunes(oneLine(e.Title), maxLabelRunes); t != "" {
		title = t
	}
	if d := clipRunes(oneLine(e.Description), 4*maxLabelRunes); d != "" {
		desc = d
	}
	return title, desc
}

// CleanID trims white space from an id from outside and replaces invalid
// UTF-8, so stored ids are always valid strings. Length is not cut here (a
// cut id would silently name someone else): validation rejects ids over
// 256 bytes.
func CleanID(s string) string {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// UnixSeconds converts t to float unix seconds, the SDK's time format.
func UnixSeconds(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}

// FromUnixSeconds converts float unix seconds to a time.
func FromUnixSeconds(s float64) time.Time {
	return time.Unix(0, int64(s*1e9))
}

func pagePath(raw string) string {
	c := CanonicalURL(raw)
	if c == "" {
		return ""
	}
	u, err := url.Parse(c)
	if err != nil || u.Host == "" {
		return c
	}
	if u.Path == "" {
		return "/"
	}
	return u.Path
}

func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.ContainsAny(s, "\r\n\t") {
		s = strings.Join(strings.Fields(s), " ")
	}
	return strings.TrimSpace(s)
}

// clip bounds s to n bytes without splitting a rune; invalid UTF-8 is replaced.
func clip(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func orDash(s string) string { return orDefault(s, "unknown page") }

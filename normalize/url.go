package normalize

import (
	"net/url"
	"strings"
)

// CanonicalURL returns raw without query or fragment, with the scheme and
// host lower-cased and dynamic path segments (numbers, UUIDs, long hex and
// other id-like tokens) collapsed to ":id", so that the same page of two
// users reads the same: https://shop.example.com/orders/8123?x=1 →
// https://shop.example.com/orders/:id. Unparseable input is returned with
// its query and fragment cut, never an error.
func CanonicalURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = strings.TrimSpace(raw[:i])
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	u.User = nil
	segs := strings.Split(u.EscapedPath(), "/")
	changed := false
	for i, s := range segs {
		if IsIDLike(s) {
			segs[i] = ":id"
			changed = true
		}
	}
	if changed {
		joined := strings.Join(segs, "/")
		if p, err := url.PathUnescape(joined); err == nil {
			u.Path, u.RawPath = p, joined
		}
	}
	return u.String()
}

// IsIDLike reports whether a path segment looks like an identifier rather
// than a page name: all digits; a UUID; 12+ hex characters with a digit; or
// a token of 6+ letters, digits, '_' or '-' with at least two digits and a
// letter (ord_7F3K2Q, usr_48213, Lq3vTz9YbH2k). Words such as "checkout",
// "v2" or "oauth2" and file names with a dot are kept.
func IsIDLike(s string) bool {
	if s == "" || s == ":id" {
		return false
	}
	digits, letters, hexOnly, other := 0, 0, true, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			letters++
		case c >= 'g' && c <= 'z' || c >= 'G' && c <= 'Z':
			letters++
			hexOnly = false
		case c == '-' || c == '_':
			hexOnly = hexOnly && c == '-'
		default:
			other = true
		}
	}
	if other {
		return false
	}
	switch {
	case letters == 0 && digits > 0 && !strings.ContainsAny(s, "_") && strings.Trim(s, "-") == s:
		return true // 8123, 2025-03-14
	case hexOnly && digits > 0 && digits+letters >= 12:
		return true // UUIDs, hashes
	case len(s) >= 6 && digits >= 2 && letters > 0:
		return true
	}
	return false
}

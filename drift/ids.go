package drift

import (
	"strings"
	"unicode"
)

// How drift compares ids. Two ids are probably the same person when their
// normalized forms are equal: every white-space and invisible character
// removed, lower-cased, and common prefixes and namespaces stripped.

// maxNamespaceBytes bounds an identity-provider namespace before "|"
// ("auth0|", "google-oauth2|", "samlp|acme|").
const maxNamespaceBytes = 32

// normKey is the normalized form under which known user ids are indexed.
func normKey(id string) string {
	s := strings.ToLower(visibleOnly(id))
	for range 4 {
		t := stripPrefix(s)
		if t == s || t == "" {
			break
		}
		s = t
	}
	return s
}

// stripPrefix removes one namespace ("auth0|") or prefix word with its
// separator ("user_") from the lower-cased s; s unchanged when none. A dot
// is not a separator: "user.name@example.com" keeps its "user".
func stripPrefix(s string) string {
	if i := strings.IndexByte(s, '|'); i > 0 && i <= maxNamespaceBytes && isNamespace(s[:i]) {
		return s[i+1:]
	}
	i := strings.IndexAny(s, "_-:")
	if i <= 0 || i == len(s)-1 {
		return s
	}
	if prefixWord(s[:i]) {
		return s[i+1:]
	}
	return s
}

// prefixWord reports whether w, followed by one of "_-:", is a prefix that
// ids commonly carry: "user_123", "USR-123", "u_123", "id:123",
// "email:dana@example.com" all normalize to what follows the separator.
func prefixWord(w string) bool {
	switch w {
	case "user", "users", "usr", "u", "uid", "userid", "id",
		"email", "mail", "mailto",
		"account", "acct", "member", "customer", "cust", "person", "profile", "contact":
		return true
	}
	return false
}

func isNamespace(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// visibleOnly removes every white-space character (unicode.IsSpace: spaces,
// tabs, no-break spaces) and every format character (Unicode Cf: zero-width
// space and joiners, BOM, soft hyphen, bidi marks). The pipeline trims ids,
// so what this catches in practice is white space inside an id and
// invisible characters that trimming leaves in place.
func visibleOnly(s string) string {
	clean := true
	for _, r := range s {
		if invisible(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if invisible(r) {
			return -1
		}
		return r
	}, s)
}

func invisible(r rune) bool { return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) }

// emailKey is the normalized form under which emails are indexed:
// lower-cased, invisible characters removed, "mailto:" / "email:" dropped.
func emailKey(email string) string {
	s := strings.ToLower(visibleOnly(email))
	for _, p := range []string{"mailto:", "email:", "mail:"} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

// looksLikeEmail reports whether s has the shape local@domain.
func looksLikeEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1
}

// cleanID is an id as drift compares it: surrounding white space removed,
// as the stores do on write and read.
func cleanID(s string) string { return strings.TrimSpace(s) }

// ownID returns a copy of id that shares no memory with the caller's
// string, so a remembered id never keeps a larger buffer (a request body)
// alive.
func ownID(id string) string { return strings.Clone(id) }

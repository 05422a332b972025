package posthog

import "strings"

// PostHog's elements_chain serialises the autocaptured element and its
// ancestors, innermost first, separated by ";":
//
//	button.btn.btn-primary:attr__class="btn btn-primary"nth-child="2"text="Place order";form:attr__id="payment-form"
//
// Each element is "tag.class.class" then, after a ":", key="value" pairs
// with no separator between them; a double quote inside a value is escaped
// as \". The readers below walk the string once, never index past its end,
// and treat anything they do not understand as absent.

// chainAttr returns the value of key (e.g. "text", "attr__aria-label") of
// the first element of chain that has a non-blank one, unescaped and
// trimmed; "" when none has.
func chainAttr(chain, key string) string {
	for _, el := range splitChain(chain) {
		if v := strings.TrimSpace(elementAttr(el, key)); v != "" {
			return v
		}
	}
	return ""
}

// splitChain splits chain at the ";" that are outside quoted values.
func splitChain(chain string) []string {
	var out []string
	start, inQuote := 0, false
	for i := 0; i < len(chain); i++ {
		switch chain[i] {
		case '\\':
			if inQuote {
				i++ // skip the escaped byte
			}
		case '"':
			inQuote = !inQuote
		case ';':
			if !inQuote {
				out = append(out, chain[start:i])
				start = i + 1
			}
		}
	}
	return append(out, chain[start:])
}

// elementAttr returns the raw value of key in one element: the first
// key="..." outside quotes that starts right after the ":" opening the
// attributes or right after the closing quote of the previous value (so
// that "text" does not match inside "attr__data-text").
func elementAttr(el, key string) string {
	prefix := key + `="`
	inQuote := false
	for i := 0; i < len(el); i++ {
		c := el[i]
		if inQuote {
			switch c {
			case '\\':
				i++
			case '"':
				inQuote = false
			}
			continue
		}
		if i > 0 && (el[i-1] == ':' || el[i-1] == '"') && strings.HasPrefix(el[i:], prefix) {
			return readQuoted(el[i+len(prefix):])
		}
		if c == '"' {
			inQuote = true
		}
	}
	return ""
}

// readQuoted reads a value up to its closing unescaped quote (or the end of
// s), turning \" into ".
func readQuoted(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && s[i+1] == '"':
			b.WriteByte('"')
			i++
		case c == '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

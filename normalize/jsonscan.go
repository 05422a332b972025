package normalize

import (
	"errors"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is a small JSON reader for the ingest hot path. Decoding a
// connector payload with encoding/json took two passes (a map of
// json.RawMessage, then every field again) and ~360 allocations for a
// 1.5 KB body; this reader walks the body once, validates it exactly as
// encoding/json does (the differential fuzz test in decode_test.go checks
// that every input is accepted or refused alike and decodes to the same
// payload), and allocates only the strings it returns.

// maxDepth is encoding/json's nesting limit: deeper input is refused alike.
const maxDepth = 10000

var errSyntax = errors.New("invalid JSON")

// syntaxError is a JSON syntax error at a byte offset.
func syntaxError(pos int, what string) error {
	return &jsonError{pos: pos, what: what}
}

type jsonError struct {
	pos  int
	what string
}

func (e *jsonError) Error() string { return what(e.what) + " at byte " + strconv.Itoa(e.pos) }
func (e *jsonError) Unwrap() error { return errSyntax }

func what(s string) string {
	if s == "" {
		return "invalid JSON"
	}
	return "invalid JSON: " + s
}

// isSpace is JSON whitespace (RFC 8259: space, tab, LF, CR).
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace returns the offset of the first non-whitespace byte at or after pos.
func skipSpace(data []byte, pos int) int {
	for pos < len(data) && isSpace(data[pos]) {
		pos++
	}
	return pos
}

// skipValue validates the JSON value starting at pos (no leading
// whitespace) and returns the offset just past it.
func skipValue(data []byte, pos, depth int) (int, error) {
	if pos >= len(data) {
		return pos, syntaxError(pos, "unexpected end of input")
	}
	switch c := data[pos]; {
	case c == '"':
		end, _, err := scanString(data, pos)
		return end, err
	case c == '{':
		return skipObject(data, pos, depth+1)
	case c == '[':
		return skipArray(data, pos, depth+1)
	case c == '-' || c >= '0' && c <= '9':
		return scanNumber(data, pos)
	case c == 't':
		return literal(data, pos, "true")
	case c == 'f':
		return literal(data, pos, "false")
	case c == 'n':
		return literal(data, pos, "null")
	default:
		return pos, syntaxError(pos, "unexpected character")
	}
}

func literal(data []byte, pos int, lit string) (int, error) {
	if len(data)-pos < len(lit) || string(data[pos:pos+len(lit)]) != lit {
		return pos, syntaxError(pos, "invalid literal")
	}
	return pos + len(lit), nil
}

// skipObject validates the object at data[pos] == '{'.
func skipObject(data []byte, pos, depth int) (int, error) {
	return eachMember(data, pos, depth, nil)
}

// eachMember validates the object at data[pos] == '{', whose own nesting
// depth is depth, and returns the offset just past it. For every member it
// calls value with the raw key (between the quotes, escapes intact),
// whether the key needs unquoting, and the offset where the value starts;
// value must validate the value (skipValue(data, start, depth) does) and
// return the offset just past it. A nil value skips every value.
func eachMember(data []byte, pos, depth int, value func(key []byte, escaped bool, start int) (int, error)) (int, error) {
	if depth > maxDepth {
		return pos, syntaxError(pos, "exceeded max depth")
	}
	pos = skipSpace(data, pos+1)
	if pos < len(data) && data[pos] == '}' {
		return pos + 1, nil
	}
	for {
		if pos >= len(data) || data[pos] != '"' {
			return pos, syntaxError(pos, "expected a string key")
		}
		keyEnd, escaped, err := scanString(data, pos)
		if err != nil {
			return pos, err
		}
		key := data[pos+1 : keyEnd-1]
		pos = skipSpace(data, keyEnd)
		if pos >= len(data) || data[pos] != ':' {
			return pos, syntaxError(pos, "expected ':'")
		}
		start := skipSpace(data, pos+1)
		var end int
		if value == nil {
			end, err = skipValue(data, start, depth)
		} else {
			end, err = value(key, escaped, start)
		}
		if err != nil {
			return end, err
		}
		pos = skipSpace(data, end)
		if pos >= len(data) {
			return pos, syntaxError(pos, "unexpected end of input")
		}
		switch data[pos] {
		case ',':
			pos = skipSpace(data, pos+1)
		case '}':
			return pos + 1, nil
		default:
			return pos, syntaxError(pos, "expected ',' or '}'")
		}
	}
}

// skipArray validates the array at data[pos] == '['.
func skipArray(data []byte, pos, depth int) (int, error) {
	return eachElement(data, pos, depth, nil)
}

// eachElement validates the array at data[pos] == '[', whose own nesting
// depth is depth, calling value for every element as eachMember does.
func eachElement(data []byte, pos, depth int, value func(start int) (int, error)) (int, error) {
	if depth > maxDepth {
		return pos, syntaxError(pos, "exceeded max depth")
	}
	pos = skipSpace(data, pos+1)
	if pos < len(data) && data[pos] == ']' {
		return pos + 1, nil
	}
	for {
		var end int
		var err error
		if value == nil {
			end, err = skipValue(data, pos, depth)
		} else {
			end, err = value(pos)
		}
		if err != nil {
			return end, err
		}
		pos = skipSpace(data, end)
		if pos >= len(data) {
			return pos, syntaxError(pos, "unexpected end of input")
		}
		switch data[pos] {
		case ',':
			pos = skipSpace(data, pos+1)
		case ']':
			return pos + 1, nil
		default:
			return pos, syntaxError(pos, "expected ',' or ']'")
		}
	}
}

// scanString validates the string at data[pos] == '"' and returns the
// offset just past its closing quote and whether it needs unquoting
// (escapes or bytes that are not valid UTF-8).
func scanString(data []byte, pos int) (end int, escaped bool, err error) {
	i := pos + 1
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(data) {
				return i, false, syntaxError(i, "unexpected end of input")
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(data)-i < 6 || hex4(data[i+2:i+6]) < 0 {
					return i, false, syntaxError(i, "invalid \\u escape")
				}
				i += 6
			default:
				return i, false, syntaxError(i, "invalid escape")
			}
		case c < 0x20:
			return i, false, syntaxError(i, "control character in string")
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				escaped = true // replaced by U+FFFD when unquoted
			}
			i += size
		}
	}
	return i, false, syntaxError(i, "unexpected end of input")
}

// hex4 decodes four hex digits, -1 if they are not.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// scanNumber validates the number at data[pos] with JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(data []byte, pos int) (int, error) {
	i := pos
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		i = digits(data, i)
	default:
		return i, syntaxError(i, "invalid number")
	}
	if i < len(data) && data[i] == '.' {
		j := digits(data, i+1)
		if j == i+1 {
			return j, syntaxError(j, "invalid number")
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(data, i)
		if j == i {
			return j, syntaxError(j, "invalid number")
		}
		i = j
	}
	return i, nil
}

func digits(data []byte, i int) int {
	for i < len(data) && data[i] >= '0' && data[i] <= '9' {
		i++
	}
	return i
}

// unquote returns the string value of a validated JSON string body (the
// bytes between the quotes), decoded as encoding/json does: escapes
// resolved, invalid UTF-8 bytes and unpaired surrogates replaced by U+FFFD.
func unquote(s []byte, escaped bool) string {
	if !escaped {
		return string(s)
	}
	b := make([]byte, 0, len(s)+2*utf8.UTFMax)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			switch s[i+1] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(s[i+2:])
				i += 6
				if utf16.IsSurrogate(r) {
					if len(s)-i >= 6 && s[i] == '\\' && s[i+1] == 'u' {
						if r2 := hex4(s[i+2:]); r2 >= 0 {
							if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
								b = utf8.AppendRune(b, dec)
								i += 6
								continue
							}
						}
					}
					r = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, r)
				continue
			default: // '"', '\\', '/'
				b = append(b, s[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
	return string(b)
}

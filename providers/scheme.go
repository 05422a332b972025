package providers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Scheme is one way a sender proves a delivery is theirs: an HMAC over the
// body (HMAC), a static secret in a header (Token) or in the URL
// (QueryToken), or a choice between several (FirstPresent, AnyOf). A vendor
// is its schemes plus a field map; Auth adds what every source shares.
type Scheme interface {
	// Verify returns nil for an authentic request, else an error wrapping
	// ErrInvalidSignature or ErrStaleTimestamp whose text is safe to show.
	Verify(req *Request) error
	// Present reports whether req carries this scheme's credential at all
	// (even empty or malformed), so that combinators can tell "missing"
	// from "wrong".
	Present(req *Request) bool
	// Sign sets on h what a sender using secret adds for body at now.
	Sign(h http.Header, body []byte, secret string, now time.Time)
	// Describe names the credential for rejection reasons ("X-Signature
	// header"); it never contains a secret.
	Describe() string
}

// The header rule every scheme reads its headers by.
const (
	// MaxHeaderBytes bounds one credential header value (after joining
	// repeated lines where a scheme allows them). Real values are well under
	// 200 bytes; 4 KiB leaves room for many rotated signatures.
	MaxHeaderBytes = 4096
	// MaxHeaderLines bounds how many lines of one credential header a scheme
	// that allows repeats looks at, so a request cannot make Verify do
	// unbounded work.
	MaxHeaderLines = 8
)

// HeaderValues returns the lines of header name under the one header rule:
// at most one line unless several is set (then at most MaxHeaderLines),
// each at most MaxHeaderBytes. The error wraps ErrInvalidSignature.
func HeaderValues(h http.Header, name string, several bool) ([]string, error) {
	vals := h.Values(name)
	switch {
	case len(vals) > 1 && !several:
		return nil, Reject(ErrInvalidSignature, "more than one %s header", name)
	case len(vals) > MaxHeaderLines:
		return nil, Reject(ErrInvalidSignature, "too many %s headers", name)
	}
	for _, v := range vals {
		if len(v) > MaxHeaderBytes {
			return nil, Reject(ErrInvalidSignature, "%s header is too long", name)
		}
	}
	return vals, nil
}

// FirstPresent verifies with the first scheme whose credential the request
// carries, and only that one: a bad signature is never rescued by a weaker
// credential sent alongside. With none present the request is "missing"
// all of them. Sign signs with the first scheme.
func FirstPresent(schemes ...Scheme) Scheme { return firstPresent(schemes) }

type firstPresent []Scheme

func (f firstPresent) Verify(req *Request) error {
	for _, s := range f {
		if s.Present(req) {
			return s.Verify(req)
		}
	}
	return Reject(ErrInvalidSignature, "missing %s", f.Describe())
}

func (f firstPresent) Present(req *Request) bool {
	for _, s := range f {
		if s.Present(req) {
			return true
		}
	}
	return false
}

func (f firstPresent) Sign(h http.Header, body []byte, secret string, now time.Time) {
	f[0].Sign(h, body, secret, now)
}

func (f firstPresent) Describe() string { return describeAll(f, " or ") }

// AnyOf accepts a request when any present scheme verifies it. With none
// present it is "missing"; present but none verifying, "does not match". A
// refusal of the header rule (too long, too many lines) stands whatever the
// other schemes say. Sign signs with the first scheme.
func AnyOf(schemes ...Scheme) Scheme { return anyOf(schemes) }

type anyOf []Scheme

func (a anyOf) Verify(req *Request) error {
	present := false
	var stale error
	for _, s := range a {
		if !s.Present(req) {
			continue
		}
		err := s.Verify(req)
		present = present || !isMissing(err)
		switch {
		case err == nil:
			return a.headerRule(req)
		case isHeaderRule(err):
			return err
		case stale == nil && isStale(err):
			stale = err
		}
	}
	switch {
	case !present:
		return Reject(ErrInvalidSignature, "missing %s", a.Describe())
	case stale != nil:
		return stale
	}
	return Reject(ErrInvalidSignature, "%s does not match", a.Describe())
}

// headerRule re-checks the header rule of every present scheme after one
// matched, so an oversized header is refused whatever else the request
// carries.
func (a anyOf) headerRule(req *Request) error {
	for _, s := range a {
		if s.Present(req) {
			if err := s.Verify(req); err != nil && isHeaderRule(err) {
				return err
			}
		}
	}
	return nil
}

func (a anyOf) Present(req *Request) bool { return firstPresent(a).Present(req) }

func (a anyOf) Sign(h http.Header, body []byte, secret string, now time.Time) {
	a[0].Sign(h, body, secret, now)
}

func (a anyOf) Describe() string { return describeAll(a, " or ") }

func describeAll(schemes []Scheme, sep string) string {
	seen := map[string]bool{}
	var parts []string
	for _, s := range schemes {
		if d := s.Describe(); !seen[d] {
			seen[d] = true
			parts = append(parts, d)
		}
	}
	return strings.Join(parts, sep)
}

// headerRuleError marks a refusal by the header rule.
type headerRuleError struct{ error }

func (e headerRuleError) Unwrap() error { return e.error }

func isHeaderRule(err error) bool {
	var hr headerRuleError
	return errors.As(err, &hr)
}

// missingError marks a credential header that is there but empty: AnyOf
// counts it as missing.
type missingError struct{ error }

func (e missingError) Unwrap() error { return e.error }

func isMissing(err error) bool {
	var m missingError
	return errors.As(err, &m)
}

func isStale(err error) bool { return errors.Is(err, ErrStaleTimestamp) }

// values reads a credential header by the header rule, marking its refusals.
func values(h http.Header, name string, several bool) ([]string, error) {
	v, err := HeaderValues(h, name, several)
	if err != nil {
		return nil, headerRuleError{err}
	}
	return v, nil
}

// errNoSecret is the factory error of a source with no secret.
func errNoSecret(vendor, help string) error {
	return fmt.Errorf("%s: %s (or mark the source unsigned for local development only)", vendor, help)
}

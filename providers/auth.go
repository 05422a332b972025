package providers

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"hash"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// AuthSpec is what a vendor says about authentication besides its scheme.
type AuthSpec struct {
	// Vendor names the vendor in factory errors.
	Vendor string
	// NoSecret tells the operator what secret to configure; a source with
	// none does not start unless it is unsigned.
	NoSecret string
	// Headerless says the vendor's sender cannot set any header (Highlight):
	// with a URL token, Sign then adds nothing, as the real sender does.
	Headerless bool
	// Headers are the non-credential headers the real sender adds
	// (User-Agent, a resource name...); Content-Type is always JSON.
	Headers func(h http.Header, body []byte, now time.Time)
}

// Auth is the verification half of every provider: the vendor's scheme,
// plus what every source shares, in one place: the "unsigned" switch, the
// opt-in URL token and the rule that a source without a secret does not
// start. Vendors embed it and add Parse.
type Auth struct {
	scheme   Scheme
	spec     AuthSpec
	unsigned bool
	urlToken *QueryToken
}

// NewAuth builds the Auth of one source. scheme builds the vendor's scheme
// from the source's secrets (not called for an unsigned source without
// secrets).
func NewAuth(s Settings, spec AuthSpec, scheme func(secrets []string) (Scheme, error)) (*Auth, error) {
	if len(s.Secrets) == 0 && !s.Unsigned {
		return nil, errNoSecret(spec.Vendor, spec.NoSecret)
	}
	a := &Auth{spec: spec, unsigned: s.Unsigned}
	sc, err := scheme(s.Secrets)
	if err != nil {
		return nil, err
	}
	a.scheme = sc
	if s.URLToken {
		a.urlToken = NewQueryToken(s.Secrets)
	}
	return a, nil
}

// Verify authenticates req: anything when the source is unsigned; the URL
// token when the source accepts one and the URL carries it; the vendor's
// scheme otherwise.
func (a *Auth) Verify(req *Request) error {
	if a.unsigned {
		return nil
	}
	if a.urlToken != nil && a.urlToken.Present(req) {
		return a.urlToken.Verify(req)
	}
	return a.scheme.Verify(req)
}

// Sign produces the headers the vendor's real sender adds for body.
func (a *Auth) Sign(body []byte, secret string, now time.Time) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if a.spec.Headers != nil {
		a.spec.Headers(h, body, now)
	}
	if a.spec.Headerless && a.urlToken != nil {
		return h
	}
	a.scheme.Sign(h, body, secret, now)
	return h
}

// SignQuery is the query string the sender's URL carries: the URL token
// when the source accepts one, else nothing.
func (a *Auth) SignQuery(secret string) url.Values {
	if a.urlToken == nil {
		return nil
	}
	return a.urlToken.Query(secret)
}

// HMACSHA256 returns HMAC-SHA256(key, parts...).
func HMACSHA256(key []byte, parts ...[]byte) []byte { return mac(sha256.New, key, parts) }

// HMACSHA1 returns HMAC-SHA1(key, parts...).
func HMACSHA1(key []byte, parts ...[]byte) []byte { return mac(sha1.New, key, parts) }

func mac(h func() hash.Hash, key []byte, parts [][]byte) []byte {
	m := hmac.New(h, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// EqualHex reports, in constant time, whether the hex text got (any case)
// encodes want. Malformed hex is simply unequal.
func EqualHex(got string, want []byte) bool {
	b, err := hex.DecodeString(strings.TrimSpace(got))
	if err != nil {
		return false
	}
	return hmac.Equal(b, want)
}

// EqualSecret compares two secrets in constant time. Both are hashed first so
// that neither the length nor a prefix of the secret leaks through timing.
func EqualSecret(got, want string) bool {
	g := sha256.Sum256([]byte(got))
	w := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// BearerToken returns the token of an "Authorization: Bearer <token>" header.
func BearerToken(h http.Header) (string, bool) {
	v := h.Get("Authorization")
	if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
		return "", false
	}
	return strings.TrimSpace(v[7:]), true
}

// Build makes a vendor's Provider for one source: the source's Auth (see
// NewAuth) wrapped in the vendor's type, which adds Parse.
func Build[P Provider](s Settings, spec AuthSpec, scheme func(secrets []string) (Scheme, error), wrap func(*Auth) P) (Provider, error) {
	a, err := NewAuth(s, spec, scheme)
	if err != nil {
		return nil, err
	}
	return wrap(a), nil
}

// TokenScheme is NewToken for header, in the form NewAuth takes.
func TokenScheme(header string) func(secrets []string) (Scheme, error) {
	return func(secrets []string) (Scheme, error) { return NewToken(header, secrets), nil }
}

// HMACScheme is NewHMAC for opts, in the form NewAuth takes.
func HMACScheme(opts HMACOptions) func(secrets []string) (Scheme, error) {
	return func(secrets []string) (Scheme, error) { return NewHMAC(opts, secrets) }
}

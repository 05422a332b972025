package providers

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Token is a static secret a sender puts in a header: "Authorization:
// Bearer <secret>" when the header is "" or Authorization, the plain secret
// in any other header. It authenticates the sender, not the body. Up to
// MaxHeaderLines lines are looked at, each compared with every secret in
// constant time.
type Token struct {
	header  string
	bearer  bool
	secrets []string
}

var _ Scheme = (*Token)(nil)

// NewToken builds the scheme for header ("" means Authorization: Bearer).
func NewToken(header string, secrets []string) *Token {
	header = strings.TrimSpace(header)
	t := &Token{header: header, secrets: append([]string(nil), secrets...)}
	if header == "" || strings.EqualFold(header, "Authorization") {
		t.header, t.bearer = "Authorization", true
	}
	return t
}

// Describe names the credential.
func (t *Token) Describe() string {
	if t.bearer {
		return "Authorization: Bearer secret"
	}
	return t.header + " secret"
}

// Present reports whether a non-empty token is there.
func (t *Token) Present(req *Request) bool {
	for _, v := range req.Header.Values(t.header) {
		if tok, ok := t.token(v); ok && tok != "" {
			return true
		}
	}
	return false
}

func (t *Token) token(v string) (string, bool) {
	if !t.bearer {
		return strings.TrimSpace(v), true
	}
	tok, ok := cutPrefixFold(strings.TrimSpace(v), "bearer ")
	return strings.TrimSpace(tok), ok
}

// Verify compares every line's token with every secret.
func (t *Token) Verify(req *Request) error {
	vals, err := values(req.Header, t.header, true)
	if err != nil {
		return err
	}
	present, match := false, false
	for _, v := range vals {
		tok, ok := t.token(v)
		if !ok || tok == "" {
			continue
		}
		present = true
		match = matchSecret(tok, t.secrets) || match
	}
	switch {
	case !present:
		return Reject(ErrInvalidSignature, "missing %s", t.Describe())
	case !match:
		return Reject(ErrInvalidSignature, "%s does not match", t.Describe())
	}
	return nil
}

// Sign sets the token header.
func (t *Token) Sign(h http.Header, _ []byte, secret string, _ time.Time) {
	if t.bearer {
		h.Set("Authorization", "Bearer "+secret)
		return
	}
	h.Set(t.header, secret)
}

// matchSecret compares got with every secret, in constant time each and
// without stopping at the first match.
func matchSecret(got string, secrets []string) bool {
	match := false
	for _, s := range secrets {
		if EqualSecret(got, s) {
			match = true
		}
	}
	return match
}

// URLTokenParam is the query parameter of URL-token authentication.
const URLTokenParam = "token"

// QueryToken is the secret in the webhook URL (?token=<secret>), for senders
// that cannot set a header (Highlight). A source opts in (Settings.URLToken).
// The URL is a credential then: replayhook never logs a query string, and
// check-config warns when the URL is plain http off loopback.
type QueryToken struct{ secrets []string }

var _ Scheme = (*QueryToken)(nil)

// NewQueryToken builds the scheme.
func NewQueryToken(secrets []string) *QueryToken {
	return &QueryToken{secrets: append([]string(nil), secrets...)}
}

// Describe names the credential.
func (q *QueryToken) Describe() string { return "?" + URLTokenParam + "= URL token" }

// Present reports whether the URL names a token parameter.
func (q *QueryToken) Present(req *Request) bool { return req.Query.Has(URLTokenParam) }

// Verify takes exactly one token of at most MaxHeaderBytes and compares it
// with every secret in constant time.
func (q *QueryToken) Verify(req *Request) error {
	vals := req.Query[URLTokenParam]
	switch {
	case len(vals) == 0 || vals[0] == "":
		return Reject(ErrInvalidSignature, "missing %s", q.Describe())
	case len(vals) > 1:
		return Reject(ErrInvalidSignature, "more than one %s", q.Describe())
	case len(vals[0]) > MaxHeaderBytes:
		return Reject(ErrInvalidSignature, "%s is too long", q.Describe())
	case !matchSecret(vals[0], q.secrets):
		return Reject(ErrInvalidSignature, "%s does not match", q.Describe())
	}
	return nil
}

// Sign adds no header: the token is in the URL (see Auth.SignQuery).
func (q *QueryToken) Sign(http.Header, []byte, string, time.Time) {}

// Query is the query string carrying secret.
func (q *QueryToken) Query(secret string) url.Values { return url.Values{URLTokenParam: {secret}} }

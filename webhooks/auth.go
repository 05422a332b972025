package webhooks

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/providers"
)

type token struct {
	name     string
	secret   string
	all      bool
	products map[string]bool
}

func newTokens(ts []config.Token) []token {
	out := make([]token, 0, len(ts))
	for _, t := range ts {
		tk := token{name: t.Name, secret: t.Token, products: map[string]bool{}}
		for _, p := range t.Products {
			if p == "*" {
				tk.all = true
			}
			tk.products[p] = true
		}
		out = append(out, tk)
	}
	return out
}

// allows reports whether the token may read product p.
func (t *token) allows(p string) bool { return t.all || t.products[p] }

// requireToken accepts "Authorization: Bearer <token>" or HTTP Basic with
// the token as password (for the browser page). Every configured token is
// compared, each in constant time, so timing says nothing about which one
// (if any) matched.
func (s *Server) requireToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		got, ok := providers.BearerToken(c.Request().Header)
		if !ok {
			if _, pw, basic := c.Request().BasicAuth(); basic {
				got, ok = pw, true
			}
		}
		var match *token
		if ok && got != "" {
			for i := range s.tokens {
				if providers.EqualSecret(got, s.tokens[i].secret) && match == nil {
					match = &s.tokens[i]
				}
			}
		}
		if match == nil {
			return apiErr(http.StatusUnauthorized, CodeUnauthorized, "missing or invalid token")
		}
		c.Set(ctxTokenName, match.name)
		c.Set(ctxToken, match)
		return next(c)
	}
}

// ctxToken is the context key of the request's *token. It is not one of
// the access log's keys (which log what is set under them).
const ctxToken = "token_ref"

// tokenOf is the token the request authenticated with, nil when none.
func tokenOf(c echo.Context) *token {
	t, _ := c.Get(ctxToken).(*token)
	return t
}

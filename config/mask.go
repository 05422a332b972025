package config

import (
	"regexp"
)

// Masked returns a copy with every secret, token and password replaced by a
// mask that keeps only its length class, for printing.
func (c *Config) Masked() Config {
	m := *c
	m.Auth.Tokens = append([]Token(nil), c.Auth.Tokens...)
	for i := range m.Auth.Tokens {
		m.Auth.Tokens[i].Token = mask(m.Auth.Tokens[i].Token)
	}
	m.Sources = append([]Source(nil), c.Sources...)
	for i := range m.Sources {
		secs := make([]string, len(m.Sources[i].Secrets))
		for j, s := range m.Sources[i].Secrets {
			secs[j] = mask(s)
		}
		m.Sources[i].Secrets = secs
	}
	if m.Store.Redis.Password != "" {
		m.Store.Redis.Password = mask(m.Store.Redis.Password)
	}
	if m.Store.Redis.SentinelPassword != "" {
		m.Store.Redis.SentinelPassword = mask(m.Store.Redis.SentinelPassword)
	}
	m.Forward = maskedForward(c.Forward)
	m.Store.Redis.Addr = maskURLPassword(m.Store.Redis.Addr)
	m.Store.Redis.Addrs = append([]string(nil), c.Store.Redis.Addrs...)
	return m
}

func mask(s string) string {
	if IsDevSecret(s) {
		return DevSecretPrefix + "****"
	}
	return "****"
}

// urlPassword matches a redis:// URL's password: from the colon after the
// user name to the LAST '@'. Passwords are often pasted unescaped, and one
// holding '@' (u:Sup3r@Secr3t@host) must be masked whole: stopping at the
// first '@' would print the rest of it. Host names and ports never hold
// '@', so the last one ends the user info.
var urlPassword = regexp.MustCompile(`(rediss?://[^:/@]*:).*@`)

func maskURLPassword(s string) string { return urlPassword.ReplaceAllString(s, "${1}****@") }

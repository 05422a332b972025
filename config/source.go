package config

import "fmt"

// Per-source keys beyond the secret (the Source fields they fill are
// declared with the others in config.go):
//
//   - url_token (default false): also accept the source's secret as the
//     URL's ?token= parameter, for senders that cannot set a header
//     (Highlight). The URL is then a credential: replayhook never logs a
//     query string, and check-config warns when the listener is plain http
//     off loopback (put a TLS-terminating proxy in front).
//   - honor_deletions (default true): a vendor's user deletion request
//     (Segment "delete") erases the user everywhere, as
//     DELETE /v1/users/{id} does; false answers it "ignored".

// HonorsDeletions reports whether the source's deletion requests erase
// (honor_deletions, true when unset).
func (s Source) HonorsDeletions() bool { return s.HonorDeletions == nil || *s.HonorDeletions }

// validateSources checks the per-source keys of this file.
func (c *Config) validateSources() []string {
	var problems []string
	for i, s := range c.Sources {
		if s.URLToken && len(s.Secrets) == 0 {
			problems = append(problems, fmt.Sprintf("sources[%d].url_token: source %q has no secret to accept as ?token=", i, s.Name))
		}
	}
	return problems
}

// sourceWarnings are the per-source warnings check-config prints.
func (c *Config) sourceWarnings() []string {
	var w []string
	for i, s := range c.Sources {
		if s.URLToken && !c.LoopbackOnly() {
			w = append(w, fmt.Sprintf("sources[%d].url_token (%s): the webhook URL carries the secret, and server.addr %s is plain http off loopback; "+
				"serve it only behind a TLS-terminating proxy (https://.../webhooks/%s?token=...), never over plain http", i, s.Name, c.Server.Addr, s.Name))
		}
		if s.URLToken && s.Unsigned {
			w = append(w, fmt.Sprintf("sources[%d].url_token (%s): the source is unsigned, so the token is not checked", i, s.Name))
		}
	}
	return w
}

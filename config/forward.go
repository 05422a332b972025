package config

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of a forwarding target; a zero value in the file means the default.
const (
	DefaultForwardTimeout     = 5 * time.Second
	DefaultForwardMaxAttempts = 50
	DefaultForwardMaxAge      = 24 * time.Hour
	DefaultForwardConcurrency = 4
	DefaultForwardMaxQueued   = 100000
	DefaultForwardMaxDead     = 1000
)

// ForwardTarget is one endpoint every stored payload of its products is
// pushed to, signed the way the Autoplay connector signs its push webhooks
// (the Autoplay SDK's WebhookReceiver verifies it). Targets come only from
// the configuration: a payload never chooses where it goes.
type ForwardTarget struct {
	// Name identifies the target in the API, metrics and logs.
	Name string `yaml:"name" validate:"required,max=64,source_name"`
	// URL is POSTed to; https unless the host is loopback. Redirects are
	// never followed.
	URL string `yaml:"url" validate:"required,max=2048"`
	// Products are the product ids forwarded ("*" = all).
	Products []string `yaml:"products" validate:"required,min=1,max=1000,dive,required,max=256"`
	// Secret keys the HMAC-SHA256 signature (X-Connector-Signature); set it
	// from the environment.
	Secret string `yaml:"secret" validate:"required,max=1024"`
	// Timeout bounds one attempt (0 = 5s).
	Timeout time.Duration `yaml:"timeout" validate:"min=0,max=1m"`
	// MaxAttempts and MaxAge bound the retries of one payload (0 = 50
	// attempts, 24h); past either it becomes a dead letter.
	MaxAttempts int           `yaml:"max_attempts" validate:"min=0,max=10000"`
	MaxAge      time.Duration `yaml:"max_age" validate:"min=0,max=720h"`
	// Concurrency is how many sessions are delivered in parallel (0 = 4):
	// the target's queue has that many partitions, each in order.
	Concurrency int `yaml:"concurrency" validate:"min=0,max=256"`
	// MaxQueued bounds the payloads waiting for this target in the memory
	// outbox (0 = 100000); beyond it ingest answers 503.
	MaxQueued int `yaml:"max_queued" validate:"min=0,max=10000000"`
	// MaxDead bounds the dead letters kept (0 = 1000); the oldest go first.
	MaxDead int `yaml:"max_dead" validate:"min=0,max=1000000"`
	// Bearer also sends "Authorization: Bearer <secret>" (the connector's
	// docs show it; only when the receiver asks for it).
	Bearer bool `yaml:"bearer"`
	// Headers are static extra headers.
	Headers map[string]string `yaml:"headers" validate:"max=32"`
}

// WithDefaults returns t with every zero limit replaced by its default.
func (t ForwardTarget) WithDefaults() ForwardTarget {
	if t.Timeout == 0 {
		t.Timeout = DefaultForwardTimeout
	}
	if t.MaxAttempts == 0 {
		t.MaxAttempts = DefaultForwardMaxAttempts
	}
	if t.MaxAge == 0 {
		t.MaxAge = DefaultForwardMaxAge
	}
	if t.Concurrency == 0 {
		t.Concurrency = DefaultForwardConcurrency
	}
	if t.MaxQueued == 0 {
		t.MaxQueued = DefaultForwardMaxQueued
	}
	if t.MaxDead == 0 {
		t.MaxDead = DefaultForwardMaxDead
	}
	return t
}

// reservedForwardHeaders are set by replayhook on every forward; a static
// header may not replace them.
var reservedForwardHeaders = map[string]bool{
	"Content-Type": true, "Content-Length": true, "Host": true, "Authorization": true,
	"X-Connector-Signature": true, "Transfer-Encoding": true, "Connection": true,
}

// loopbackHost reports whether host (no port) is a loopback name or address.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validateForward checks the forward list: unique names, URLs that are
// https (or http on loopback) without credentials, headers that are valid
// and do not replace the signature's.
func (c *Config) validateForward() []string {
	var problems []string
	names := map[string]bool{}
	for i, t := range c.Forward {
		key := fmt.Sprintf("forward[%d]", i)
		if names[t.Name] {
			problems = append(problems, fmt.Sprintf("%s.name: duplicate target %q", key, t.Name))
		}
		names[t.Name] = true
		u, err := url.Parse(t.URL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			problems = append(problems, key+".url: must be an absolute http(s) URL")
		case u.User != nil:
			problems = append(problems, key+".url: must not carry credentials (use secret, bearer or headers)")
		case u.Scheme == "http" && !loopbackHost(u.Hostname()):
			problems = append(problems, key+".url: must be https (plain http only to a loopback host)")
		}
		for name, v := range t.Headers {
			canon := http.CanonicalHeaderKey(name)
			switch {
			case name == "" || strings.ContainsAny(name, " \t\r\n:"):
				problems = append(problems, fmt.Sprintf("%s.headers: %q is not a header name", key, name))
			case reservedForwardHeaders[canon] || strings.HasPrefix(canon, "X-Replayhook-"):
				problems = append(problems, fmt.Sprintf("%s.headers: %s is set by replayhook", key, canon))
			case strings.ContainsAny(v, "\r\n\x00") || len(v) > 4096:
				problems = append(problems, fmt.Sprintf("%s.headers.%s: value must be one line of at most 4096 bytes", key, name))
			}
		}
	}
	return problems
}

// forwardDevSecrets lists the forward targets signing with a development secret.
func (c *Config) forwardDevSecrets() []string {
	var keys []string
	for i, t := range c.Forward {
		if IsDevSecret(t.Secret) {
			keys = append(keys, fmt.Sprintf("forward[%d].secret (%s)", i, t.Name))
		}
	}
	return keys
}

// forwardWarnings lists risky forward settings for check-config.
func (c *Config) forwardWarnings() []string {
	var w []string
	for i, t := range c.Forward {
		if u, err := url.Parse(t.URL); err == nil && u.Scheme == "http" {
			w = append(w, fmt.Sprintf("forward[%d].url (%s) is plain http: payloads and signatures travel unencrypted (fine only for a receiver on this host)", i, t.Name))
		}
		if len(t.Secret) < 16 && !IsDevSecret(t.Secret) {
			w = append(w, fmt.Sprintf("forward[%d].secret (%s) is shorter than 16 characters", i, t.Name))
		}
	}
	return w
}

// maskedForward is the forward list with defaults filled in and secrets
// (and header values, which often carry credentials) masked.
func maskedForward(ts []ForwardTarget) []ForwardTarget {
	out := make([]ForwardTarget, len(ts))
	for i, t := range ts {
		t = t.WithDefaults()
		t.Secret = mask(t.Secret)
		if len(t.Headers) > 0 {
			h := make(map[string]string, len(t.Headers))
			for k := range t.Headers {
				h[k] = "****"
			}
			t.Headers = h
		}
		t.Products = append([]string(nil), t.Products...)
		out[i] = t
	}
	return out
}

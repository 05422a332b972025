package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-playground/validator/v10"
)

var sectionOf = map[string]string{
	"Server": "server", "Auth": "auth", "Token": "auth.tokens[]", "Index": "index", "Activity": "activity",
	"Dedupe": "dedupe", "Drift": "drift", "Rejected": "rejected", "Snapshot": "snapshot", "Store": "store",
	"Redis": "store.redis", "Log": "log", "Source": "sources[]", "ForwardTarget": "forward[]",
}

var sourceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Validate checks every value and cross-field rule; the error names the key.
func (c *Config) Validate() error {
	v := validator.New()
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		return name
	})
	_ = v.RegisterValidation("source_name", func(fl validator.FieldLevel) bool {
		return sourceName.MatchString(fl.Field().String())
	})
	_ = v.RegisterValidation("listen_addr", func(fl validator.FieldLevel) bool {
		_, port, err := net.SplitHostPort(fl.Field().String())
		n, perr := strconv.Atoi(port)
		return err == nil && perr == nil && n >= 0 && n <= 65535
	})
	var problems []string
	if err := v.Struct(c); err != nil {
		var ves validator.ValidationErrors
		if !errors.As(err, &ves) {
			return fmt.Errorf("config: %v", err)
		}
		for _, fe := range ves {
			key := fe.Namespace()
			if _, rest, ok := strings.Cut(key, "."); ok {
				key = rest
			}
			problems = append(problems, fmt.Sprintf("%s: %s", key, describe(fe)))
		}
	}
	names := map[string]bool{}
	for i, s := range c.Sources {
		if names[s.Name] {
			problems = append(problems, fmt.Sprintf("sources[%d].name: duplicate source %q", i, s.Name))
		}
		names[s.Name] = true
		if !s.Unsigned && len(s.Secrets) == 0 {
			problems = append(problems, fmt.Sprintf("sources[%d].secrets: source %q has no secret (set one, or unsigned: true for local development only)", i, s.Name))
		}
	}
	tokens := map[string]bool{}
	for i, t := range c.Auth.Tokens {
		if tokens[t.Name] {
			problems = append(problems, fmt.Sprintf("auth.tokens[%d].name: duplicate token name %q", i, t.Name))
		}
		tokens[t.Name] = true
	}
	problems = append(problems, c.validateSources()...)
	problems = append(problems, c.validateCustom()...)
	problems = append(problems, c.Store.Redis.validate(c.Store.Backend)...)
	problems = append(problems, c.validateForward()...)
	problems = append(problems, c.Server.validateLimits()...)
	problems = append(problems, c.Stream.validate()...)
	if len(problems) > 0 {
		return fmt.Errorf("config: %s", strings.Join(problems, "; "))
	}
	return nil
}

func describe(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "min":
		if fe.Kind() == reflect.Slice || fe.Kind() == reflect.String {
			return "must have at least " + fe.Param() + " items/characters"
		}
		return "must be >= " + fe.Param()
	case "max":
		if fe.Kind() == reflect.Slice || fe.Kind() == reflect.String {
			return "must have at most " + fe.Param() + " items/characters"
		}
		return "must be <= " + fe.Param()
	case "oneof":
		return "must be one of: " + fe.Param()
	case "listen_addr":
		return "must be host:port"
	case "cidr":
		return "must be a CIDR such as 10.0.0.0/8"
	case "source_name":
		return "must be lower-case letters, digits, '-' or '_' (it is a URL path segment)"
	default:
		return "fails " + fe.Tag()
	}
}

// DevSecrets lists the keys whose value is a development secret or token.
func (c *Config) DevSecrets() []string {
	var keys []string
	for i, t := range c.Auth.Tokens {
		if IsDevSecret(t.Token) {
			keys = append(keys, fmt.Sprintf("auth.tokens[%d].token (%s)", i, t.Name))
		}
	}
	for i, s := range c.Sources {
		for j, sec := range s.Secrets {
			if IsDevSecret(sec) {
				keys = append(keys, fmt.Sprintf("sources[%d].secrets[%d] (%s)", i, j, s.Name))
			}
		}
		if s.Unsigned {
			keys = append(keys, fmt.Sprintf("sources[%d].unsigned (%s)", i, s.Name))
		}
	}
	keys = append(keys, c.forwardDevSecrets()...)
	return keys
}

// IsDevSecret reports whether a secret is a development value: it starts
// with "dev-", or it is a Standard Webhooks "whsec_" secret whose decoded
// bytes do.
func IsDevSecret(s string) bool {
	if strings.HasPrefix(s, DevSecretPrefix) {
		return true
	}
	if rest, ok := strings.CutPrefix(s, "whsec_"); ok {
		b, err := base64.StdEncoding.DecodeString(rest)
		return strings.HasPrefix(rest, DevSecretPrefix) || (err == nil && strings.HasPrefix(string(b), DevSecretPrefix))
	}
	return false
}

// LoopbackOnly reports whether server.addr binds only a loopback address.
func (c *Config) LoopbackOnly() bool {
	host, _, err := net.SplitHostPort(c.Server.Addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckListen refuses a non-loopback listen address while development
// secrets are in use.
func (c *Config) CheckListen() error {
	if c.LoopbackOnly() {
		return nil
	}
	if dev := c.DevSecrets(); len(dev) > 0 {
		return fmt.Errorf("config: refusing to listen on %s (not loopback) while development secrets are in use: %s; set real secrets (values not starting with %q) or listen on 127.0.0.1",
			c.Server.Addr, strings.Join(dev, ", "), DevSecretPrefix)
	}
	return nil
}

// Warnings lists risky but valid settings, for check-config.
func (c *Config) Warnings() []string {
	var w []string
	if dev := c.DevSecrets(); len(dev) > 0 {
		w = append(w, "development secrets in use (fine on 127.0.0.1, refused elsewhere): "+strings.Join(dev, ", "))
	}
	if len(c.Auth.Tokens) == 0 {
		w = append(w, "auth.tokens is empty: every lookup endpoint will answer 401")
	}
	if len(c.Sources) == 0 {
		w = append(w, "sources is empty: every webhook will answer 404")
	}
	for i, s := range c.Sources {
		for j, sec := range s.Secrets {
			if len(sec) < 16 && !IsDevSecret(sec) {
				w = append(w, fmt.Sprintf("sources[%d].secrets[%d] (%s) is shorter than 16 characters", i, j, s.Name))
			}
		}
	}
	w = append(w, c.sourceWarnings()...)
	if c.Server.MaxBodyBytes > 8<<20 {
		w = append(w, fmt.Sprintf("server.max_body_bytes is %d: vendors send far less; a large limit lets one request use that much memory", c.Server.MaxBodyBytes))
	}
	if c.Index.MaxUsers > 10_000_000 || c.Activity.MaxSessions > 10_000_000 {
		w = append(w, "index.max_users or activity.max_sessions above 10 million: check the memory this implies (~400 B per user, ~1 KB per stored action)")
	}
	r := c.Store.Redis
	if c.Store.Backend == "redis" && r.Mode() == RedisSentinel && len(r.Addrs) == 1 {
		w = append(w, "store.redis.addrs lists one Sentinel: while it is down replayhook cannot find the master; list every Sentinel (three or more)")
	}
	if c.Store.Backend != "redis" && (len(r.Addrs) > 0 || r.MasterName != "" || r.Cluster) {
		w = append(w, "store.redis addrs/master_name/cluster are set but store.backend is "+c.Store.Backend+": they are not used")
	}
	w = append(w, c.forwardWarnings()...)
	if c.Snapshot.Path == "" && c.Store.Backend == "memory" {
		w = append(w, "snapshot.path is empty with the memory store: state is lost on restart")
	}
	return w
}

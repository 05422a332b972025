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

var sourceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// headerName is an HTTP header field name (RFC 9110 token characters).
var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// Validate checks every value and cross-field rule; the error names the
// key, its line, the bad value (never a secret's) and the ${VAR} it came from.
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
	// problems are "key: message" lines from the sections' own validate
	// functions; found are this function's, with the key path kept apart
	// so the message can add the line and the value.
	var problems []string
	var found []problem
	if err := v.Struct(c); err != nil {
		var ves validator.ValidationErrors
		if !errors.As(err, &ves) {
			return fmt.Errorf("config: %w", err)
		}
		for _, fe := range ves {
			key := fe.Namespace()
			if _, rest, ok := strings.Cut(key, "."); ok {
				key = rest
			}
			msg, got := describe(fe)
			found = append(found, problem{path: key, msg: msg, got: got})
		}
	}
	names := map[string]int{}
	for i, s := range c.Sources {
		path := fmt.Sprintf("sources[%d]", i)
		if first, dup := names[s.Name]; dup {
			found = append(found, problem{path: path + ".name", msg: fmt.Sprintf("duplicate source %q (also sources[%d])", s.Name, first)})
		} else {
			names[s.Name] = i
		}
		if !s.Unsigned && len(s.Secrets) == 0 {
			found = append(found, problem{path: path + ".secrets", msg: fmt.Sprintf("source %q has no secret (set one, or unsigned: true for local development only)", s.Name)})
		}
		for j, sec := range s.Secrets {
			if sec != "" && strings.TrimSpace(sec) == "" {
				found = append(found, problem{path: fmt.Sprintf("%s.secrets[%d]", path, j), msg: "is only whitespace"})
			}
		}
		if s.SecretHeader != "" && !headerName.MatchString(s.SecretHeader) {
			found = append(found, problem{path: path + ".secret_header", got: true,
				msg: "must be a header name only, such as X-Webhook-Secret (the header's whole value is compared with the secrets)"})
		}
	}
	tokenNames := map[string]int{}
	tokenValues := map[string]int{}
	for i, t := range c.Auth.Tokens {
		path := fmt.Sprintf("auth.tokens[%d]", i)
		if first, dup := tokenNames[t.Name]; dup {
			found = append(found, problem{path: path + ".name", msg: fmt.Sprintf("duplicate token name %q (also auth.tokens[%d])", t.Name, first)})
		} else {
			tokenNames[t.Name] = i
		}
		if t.Token != "" && strings.TrimSpace(t.Token) == "" {
			found = append(found, problem{path: path + ".token", msg: "is only whitespace"})
			continue
		}
		if first, dup := tokenValues[t.Token]; dup && t.Token != "" {
			found = append(found, problem{path: path + ".token", msg: fmt.Sprintf(
				"has the same value as %s.token: a request would get the first one's products; give each client its own token", c.src.display(fmt.Sprintf("auth.tokens[%d]", first)))})
		} else {
			tokenValues[t.Token] = i
		}
	}
	problems = append(problems, c.validateSources()...)
	problems = append(problems, c.validateCustom()...)
	problems = append(problems, c.Store.Redis.validate(c.Store.Backend)...)
	problems = append(problems, c.validateForward()...)
	problems = append(problems, c.Server.validateLimits()...)
	problems = append(problems, c.Stream.validate()...)
	for _, p := range problems {
		key, msg, _ := strings.Cut(p, ": ")
		if strings.Contains(key, "(line ") {
			found = append(found, problem{raw: p}) // located by its section already
			continue
		}
		found = append(found, problem{path: key, msg: msg})
	}
	if len(found) > 0 {
		return report(c.src, found)
	}
	return nil
}

// describe words a validation failure; got reports whether the bad value
// is worth showing after it.
func describe(fe validator.FieldError) (msg string, got bool) {
	slice := fe.Kind() == reflect.Slice
	str := fe.Kind() == reflect.String
	switch fe.Tag() {
	case "required":
		if slice {
			return "is required (a list with at least one entry)", false
		}
		return "is required", false
	case "min":
		switch {
		case slice:
			return "must have at least " + fe.Param() + " entries", false
		case str:
			return "must be at least " + fe.Param() + " characters long", false
		}
		return "must be at least " + fe.Param(), true
	case "max":
		switch {
		case slice:
			return "must have at most " + fe.Param() + " entries", false
		case str:
			return "must be at most " + fe.Param() + " characters long", false
		}
		return "must be at most " + fe.Param(), true
	case "oneof":
		return "must be one of " + strings.Join(strings.Fields(fe.Param()), ", "), true
	case "listen_addr":
		return "must be host:port, such as 127.0.0.1:8080 or :8080", true
	case "cidr":
		return "must be a CIDR such as 10.0.0.0/8", true
	case "source_name":
		return "must be lower-case letters, digits, '-' or '_' (it is a URL path segment)", true
	default:
		return "fails " + fe.Tag(), true
	}
}

// DevSecrets lists the keys whose value is a development secret or token,
// each with the environment variable that sets it, when there is one:
// "auth.tokens[0] (chat-layer).token: set $REPLAYHOOK_API_TOKEN".
func (c *Config) DevSecrets() []string {
	var keys []string
	add := func(path string) {
		k := c.src.display(path)
		if vars := c.src.envVars(path); len(vars) > 0 {
			k += ": set $" + strings.Join(vars, " or $")
		}
		keys = append(keys, k)
	}
	for i, t := range c.Auth.Tokens {
		if IsDevSecret(t.Token) {
			add(fmt.Sprintf("auth.tokens[%d].token", i))
		}
	}
	for i, s := range c.Sources {
		for j, sec := range s.Secrets {
			if IsDevSecret(sec) {
				add(fmt.Sprintf("sources[%d].secrets[%d]", i, j))
			}
		}
		if s.Unsigned {
			add(fmt.Sprintf("sources[%d].unsigned", i))
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
		return fmt.Errorf("config: refusing to listen on %s (not loopback) while development secrets are in use:\n  %s\nset real secrets (values not starting with %q), remove the sources you do not use, or listen on 127.0.0.1 (deploy/config.production.yaml is a production starting point)",
			c.Server.Addr, strings.Join(dev, "\n  "), DevSecretPrefix)
	}
	return nil
}

// Warnings lists risky but valid settings, for check-config.
func (c *Config) Warnings() []string {
	var w []string
	if dev := c.DevSecrets(); len(dev) > 0 {
		w = append(w, "development secrets in use (fine on 127.0.0.1, refused elsewhere): "+strings.Join(dev, "; "))
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
				w = append(w, fmt.Sprintf("%s is shorter than 16 characters", c.src.display(fmt.Sprintf("sources[%d].secrets[%d]", i, j))))
			}
			if strings.TrimSpace(sec) != sec {
				w = append(w, fmt.Sprintf("%s starts or ends with whitespace (a newline from a file?): vendors sign with the exact secret", c.src.display(fmt.Sprintf("sources[%d].secrets[%d]", i, j))))
			}
		}
	}
	for i, p := range c.Server.TrustedProxies {
		if _, n, err := net.ParseCIDR(p); err == nil {
			if ones, _ := n.Mask.Size(); ones == 0 {
				w = append(w, fmt.Sprintf("server.trusted_proxies[%d] is %s: every client may set X-Forwarded-For and choose the address that is logged and rate limited; list only your load balancers' ranges", i, p))
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

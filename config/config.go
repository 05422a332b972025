// Package config loads replayhook's configuration: defaults, then the YAML
// file with ${VAR} / ${VAR:-default} expanded from the environment, decoded
// strictly (an unknown key is an error naming it) and validated (a bad value
// is an error naming its key). See contract §5 and docs/configuration in the
// README.
package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
	yaml "go.yaml.in/yaml/v3"
)

// DevSecretPrefix marks development secrets and tokens. The shipped
// config.yaml uses such values as defaults so it runs out of the box; the
// server refuses to listen on a non-loopback address while any is in use.
const DevSecretPrefix = "dev-"

// Config is the whole configuration.
type Config struct {
	Server   Server   `yaml:"server"`
	Auth     Auth     `yaml:"auth"`
	Index    Index    `yaml:"index"`
	Activity Activity `yaml:"activity"`
	Dedupe   Dedupe   `yaml:"dedupe"`
	Drift    Drift    `yaml:"drift"`
	Rejected Rejected `yaml:"rejected"`
	Snapshot Snapshot `yaml:"snapshot"`
	Store    Store    `yaml:"store"`
	Log      Log      `yaml:"log"`
	Sources  []Source `yaml:"sources" validate:"dive"`
}

// Server is the HTTP listener.
type Server struct {
	Addr string `yaml:"addr" validate:"required,listen_addr"`
	// MaxBodyBytes bounds a webhook body (413 beyond it).
	MaxBodyBytes int64 `yaml:"max_body_bytes" validate:"min=1024,max=67108864"`
	// MaxHeaderBytes bounds request headers (net/http answers 431 beyond it).
	MaxHeaderBytes  int           `yaml:"max_header_bytes" validate:"min=4096,max=1048576"`
	ReadTimeout     time.Duration `yaml:"read_timeout" validate:"min=100ms,max=5m"`
	WriteTimeout    time.Duration `yaml:"write_timeout" validate:"min=100ms,max=5m"`
	IdleTimeout     time.Duration `yaml:"idle_timeout" validate:"min=1s,max=1h"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" validate:"min=1s,max=10m"`
	// DrainDelay is how long /readyz fails before the listener closes on
	// SIGTERM, so a load balancer stops sending traffic first (0 = close at once).
	DrainDelay time.Duration `yaml:"drain_delay" validate:"min=0,max=5m"`
	// MaxConcurrentIngests bounds webhook requests in progress; beyond it the
	// server answers 503 with Retry-After instead of queueing.
	MaxConcurrentIngests int `yaml:"max_concurrent_ingests" validate:"min=1,max=100000"`
	// IngestWorkers is how many of those run at once; the others wait in
	// line (unread) for at most IngestQueueTimeout, then get 503 with
	// Retry-After. Capping the deliveries that compete for the CPU keeps
	// lookups fast while ingest runs at full load. 0 means automatic: the
	// number of CPUs Go uses with the memory store, 16 times that with
	// Redis (whose round trips leave the CPU idle).
	IngestWorkers int `yaml:"ingest_workers" validate:"min=0,max=100000"`
	// IngestQueueTimeout bounds the wait for a worker.
	IngestQueueTimeout time.Duration `yaml:"ingest_queue_timeout" validate:"min=1ms,max=1m"`
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed; empty
	// means the client address is the TCP peer.
	TrustedProxies []string `yaml:"trusted_proxies" validate:"dive,cidr"`
}

// Auth holds the lookup API's bearer tokens.
type Auth struct {
	Tokens []Token `yaml:"tokens" validate:"dive"`
}

// Token is one bearer token, limited to some product ids ("*" = all).
type Token struct {
	Name     string   `yaml:"name" validate:"required,max=64"`
	Token    string   `yaml:"token" validate:"required,min=8,max=512"`
	Products []string `yaml:"products" validate:"required,min=1,dive,required,max=256"`
}

// Index bounds the user → sessions index.
type Index struct {
	LookbackSeconds    int `yaml:"lookback_seconds" validate:"min=1,max=31536000"`
	MaxSessionsPerUser int `yaml:"max_sessions_per_user" validate:"min=1,max=1000"`
	MaxUsers           int `yaml:"max_users" validate:"min=1,max=100000000"`
}

// Lookback is LookbackSeconds as a duration.
func (i Index) Lookback() time.Duration { return time.Duration(i.LookbackSeconds) * time.Second }

// Activity bounds the per-session activity store.
type Activity struct {
	MaxSessions          int `yaml:"max_sessions" validate:"min=1,max=100000000"`
	MaxActionsPerSession int `yaml:"max_actions_per_session" validate:"min=1,max=100000"`
}

// Dedupe bounds the record of deliveries already stored.
type Dedupe struct {
	MaxKeys       int `yaml:"max_keys" validate:"min=1,max=100000000"`
	WindowSeconds int `yaml:"window_seconds" validate:"min=1,max=2592000"`
}

// Window is WindowSeconds as a duration.
func (d Dedupe) Window() time.Duration { return time.Duration(d.WindowSeconds) * time.Second }

// Drift bounds identity-drift tracking.
type Drift struct {
	// MaxLookupMisses bounds the distinct missed user ids remembered.
	MaxLookupMisses int `yaml:"max_lookup_misses" validate:"min=1,max=1000000"`
	// MaxConflicts bounds the session and email conflicts remembered.
	MaxConflicts int `yaml:"max_conflicts" validate:"min=1,max=1000000"`
	// MaxKnownIDs bounds the known user ids, emails and anonymous ids kept to
	// explain misses.
	MaxKnownIDs int `yaml:"max_known_ids" validate:"min=1,max=10000000"`
	// MaxExamples bounds example session ids per source.
	MaxExamples int `yaml:"max_examples" validate:"min=0,max=100"`
}

// Rejected bounds the log of recent rejected deliveries.
type Rejected struct {
	MaxEntries int `yaml:"max_entries" validate:"min=0,max=100000"`
}

// Snapshot is the on-disk state saved at shutdown and periodically.
type Snapshot struct {
	// Path of the snapshot file; "" turns snapshots off.
	Path     string        `yaml:"path" validate:"max=4096"`
	Interval time.Duration `yaml:"interval" validate:"min=0,max=24h"`
}

// Store selects the state backend.
type Store struct {
	Backend string `yaml:"backend" validate:"oneof=memory redis"`
	Redis   Redis  `yaml:"redis"`
}

// Redis configures the shared store. Which Redis it talks to is Mode():
// one node at Addr (or at the single entry of Addrs), a Redis Cluster
// seeded by Addrs, or the master that the Sentinels at Addrs name
// MasterName.
type Redis struct {
	// Addr is host:port, or a redis:// or rediss:// URL, of one node. It is
	// not used when Addrs is set (setting both to different values is an
	// error, the default Addr aside).
	Addr string `yaml:"addr" validate:"max=1024"`
	// Addrs are host:port entries: Cluster nodes to discover the cluster
	// from (two or more, or one with Cluster), or the Sentinels' addresses
	// when MasterName is set.
	Addrs []string `yaml:"addrs" validate:"max=64,dive,required,max=1024"`
	// Cluster forces Cluster mode with a single Addrs entry (a managed
	// cluster's configuration endpoint).
	Cluster bool `yaml:"cluster"`
	// MasterName is the master the Sentinels at Addrs monitor; setting it
	// selects Sentinel mode.
	MasterName string `yaml:"master_name" validate:"max=256"`
	// SentinelUsername and SentinelPassword authenticate to the Sentinels
	// (Username and Password authenticate to the Redis nodes).
	SentinelUsername string `yaml:"sentinel_username" validate:"max=256"`
	SentinelPassword string `yaml:"sentinel_password" validate:"max=1024"`
	// Username and Password authenticate to the Redis nodes.
	Username     string        `yaml:"username" validate:"max=256"`
	Password     string        `yaml:"password" validate:"max=1024"`
	DB           int           `yaml:"db" validate:"min=0,max=1024"`
	KeyPrefix    string        `yaml:"key_prefix" validate:"max=128"`
	TLS          bool          `yaml:"tls"`
	PoolSize     int           `yaml:"pool_size" validate:"min=0,max=10000"`
	DialTimeout  time.Duration `yaml:"dial_timeout" validate:"min=0,max=1m"`
	ReadTimeout  time.Duration `yaml:"read_timeout" validate:"min=0,max=1m"`
	WriteTimeout time.Duration `yaml:"write_timeout" validate:"min=0,max=1m"`
}

// The modes Redis.Mode returns.
const (
	RedisSingle   = "single"
	RedisCluster  = "cluster"
	RedisSentinel = "sentinel"
)

// Mode is how the store reaches Redis: RedisSentinel when MasterName is
// set, RedisCluster when Cluster is set or Addrs has two or more entries,
// else RedisSingle (Addrs' single entry, or Addr).
func (r Redis) Mode() string {
	switch {
	case r.MasterName != "":
		return RedisSentinel
	case r.Cluster || len(r.Addrs) > 1:
		return RedisCluster
	default:
		return RedisSingle
	}
}

// Endpoint describes where the store connects, with any password in a URL
// masked, for logs and errors: "127.0.0.1:6379", "cluster a:1,b:2" or
// "sentinel master mymaster via a:1,b:2".
func (r Redis) Endpoint() string {
	switch r.Mode() {
	case RedisSentinel:
		return "sentinel master " + r.MasterName + " via " + strings.Join(r.Addrs, ",")
	case RedisCluster:
		return "cluster " + strings.Join(r.Addrs, ",")
	}
	if len(r.Addrs) == 1 {
		return r.Addrs[0]
	}
	return maskURLPassword(r.Addr)
}

// validate checks the cross-field rules of store.redis; backend is
// store.backend (some keys are required only with the redis backend).
func (r Redis) validate(backend string) []string {
	var problems []string
	def := Default().Store.Redis.Addr
	if len(r.Addrs) > 0 && r.Addr != "" && r.Addr != def {
		problems = append(problems, "store.redis.addr: set addr (one node) or addrs (Cluster or Sentinel), not both")
	}
	for i, a := range r.Addrs {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" || strings.Contains(a, "://") {
			problems = append(problems, fmt.Sprintf("store.redis.addrs[%d]: %q must be host:port", i, a))
		}
	}
	if r.MasterName != "" && r.Cluster {
		problems = append(problems, "store.redis.cluster: cannot be true with master_name (Sentinel)")
	}
	if r.MasterName != "" && len(r.Addrs) == 0 {
		problems = append(problems, "store.redis.addrs: the Sentinels' host:port list is required when master_name is set")
	}
	if r.Cluster && len(r.Addrs) == 0 {
		problems = append(problems, "store.redis.addrs: required when cluster is true")
	}
	if r.MasterName == "" && (r.SentinelUsername != "" || r.SentinelPassword != "") {
		problems = append(problems, "store.redis.sentinel_username/sentinel_password: only used with master_name (Sentinel)")
	}
	if r.Mode() == RedisCluster && r.DB != 0 {
		problems = append(problems, "store.redis.db: must be 0 with a Redis Cluster (it has one database)")
	}
	if backend == "redis" && r.Addr == "" && len(r.Addrs) == 0 {
		problems = append(problems, "store.redis.addr: required when store.backend is redis")
	}
	return problems
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level" validate:"oneof=debug info warn error"`
	Format string `yaml:"format" validate:"oneof=json text"`
}

// Source is one webhook endpoint: POST /webhooks/{name}.
type Source struct {
	Name     string `yaml:"name" validate:"required,max=64,source_name"`
	Provider string `yaml:"provider" validate:"required,max=64"`
	// ProductID, when set, is stamped on every payload and payloads naming
	// another product are rejected; empty takes the payload's.
	ProductID string `yaml:"product_id" validate:"max=256"`
	// Secrets are accepted secrets; several allow rotation.
	Secrets []string `yaml:"secrets" validate:"dive,required,max=1024"`
	// SecretHeader names the header of a static secret for vendors that do
	// not sign; empty means Authorization: Bearer.
	SecretHeader     string `yaml:"secret_header" validate:"max=128"`
	ToleranceSeconds int    `yaml:"tolerance_seconds" validate:"min=0,max=86400"`
	// Unsigned accepts deliveries without any check: local development only,
	// refused on a non-loopback address.
	Unsigned bool `yaml:"unsigned"`
}

// Tolerance is ToleranceSeconds as a duration.
func (s Source) Tolerance() time.Duration { return time.Duration(s.ToleranceSeconds) * time.Second }

// Default returns the configuration used for every key the file omits.
func Default() Config {
	return Config{
		Server: Server{
			Addr: "127.0.0.1:8080", MaxBodyBytes: 1 << 20, MaxHeaderBytes: 64 << 10,
			ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
			ShutdownTimeout: 20 * time.Second, MaxConcurrentIngests: 512, IngestQueueTimeout: 500 * time.Millisecond,
		},
		Index:    Index{LookbackSeconds: 300, MaxSessionsPerUser: 20, MaxUsers: 100000},
		Activity: Activity{MaxSessions: 100000, MaxActionsPerSession: 200},
		Dedupe:   Dedupe{MaxKeys: 200000, WindowSeconds: 86400},
		Drift:    Drift{MaxLookupMisses: 1000, MaxConflicts: 1000, MaxKnownIDs: 100000, MaxExamples: 5},
		Rejected: Rejected{MaxEntries: 200},
		Snapshot: Snapshot{Path: "data/replayhook.snapshot", Interval: 5 * time.Minute},
		Store: Store{Backend: "memory", Redis: Redis{
			Addr: "127.0.0.1:6379", KeyPrefix: "replayhook:", PoolSize: 0,
			DialTimeout: 2 * time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
		}},
		Log: Log{Level: "info", Format: "json"},
	}
}

// Load reads the file at path with getenv for ${VAR} expansion.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, getenv)
}

// Parse builds a Config from YAML bytes: defaults, then the document with
// environment references expanded, then validation.
func Parse(data []byte, getenv func(string) string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("config: %v", err)
	}
	cfg := Default()
	if root.Kind != 0 {
		if err := expandNode(&root, getenv); err != nil {
			return nil, err
		}
		expanded, err := yaml.Marshal(&root)
		if err != nil {
			return nil, fmt.Errorf("config: %v", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(expanded))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil {
			return nil, fmt.Errorf("config: %s", decodeMessage(err, keyLines(&root)))
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandNode expands ${VAR} and ${VAR:-default} in every scalar value (not in
// keys), so an expanded value can never change the document's structure.
func expandNode(n *yaml.Node, getenv func(string) string) error {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		var missing []string
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if v := getenv(m[1]); v != "" {
				return v
			}
			if m[2] != "" {
				return m[3]
			}
			missing = append(missing, m[1])
			return ""
		})
		if len(missing) > 0 {
			return fmt.Errorf("config: line %d: environment variable %s is not set and has no default (write ${%s:-} for an empty default)", n.Line, missing[0], missing[0])
		}
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			return nil // quoted in the file: stays a string
		}
		n.Tag = "" // plain: let the decoder resolve "8080", "true" from an env value
		return nil
	}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 {
			continue // keys are not expanded
		}
		if err := expandNode(c, getenv); err != nil {
			return err
		}
	}
	return nil
}

var fieldNotFound = regexp.MustCompile(`line (\d+): field (\S+) not found in type config\.(\w+)`)

var badValue = regexp.MustCompile(`line (\d+): cannot unmarshal (\S+) ` + "`" + `([^` + "`" + `]*)` + "`" + ` into (\S+)`)

// keyLines maps line numbers to the dotted key whose value starts there.
func keyLines(root *yaml.Node) map[int]string {
	out := map[int]string{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := n.Content[i].Value
				if path != "" {
					p = path + "." + p
				}
				if _, seen := out[n.Content[i+1].Line]; !seen || n.Content[i+1].Kind == yaml.ScalarNode {
					out[n.Content[i+1].Line] = p
				}
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if c.Kind == yaml.ScalarNode {
					out[c.Line] = p
				}
				walk(c, p)
			}
		}
	}
	walk(root, "")
	return out
}

func decodeMessage(err error, lines map[int]string) string {
	msg := err.Error()
	if m := badValue.FindAllStringSubmatch(msg, -1); m != nil && !strings.Contains(msg, "not found in type") {
		parts := make([]string, 0, len(m))
		for _, x := range m {
			var line int
			fmt.Sscan(x[1], &line)
			key := lines[line]
			if key == "" {
				key = "line " + x[1]
			}
			parts = append(parts, fmt.Sprintf("%s: %q is not a valid %s (line %s)", key, x[3], x[4], x[1]))
		}
		return strings.Join(parts, "; ")
	}
	if m := fieldNotFound.FindAllStringSubmatch(msg, -1); m != nil {
		parts := make([]string, 0, len(m))
		for _, x := range m {
			section := sectionOf[x[3]]
			key := x[2]
			if section != "" {
				key = section + "." + key
			}
			parts = append(parts, fmt.Sprintf("unknown key %q (line %s)", key, x[1]))
		}
		return strings.Join(parts, "; ")
	}
	return strings.TrimPrefix(msg, "yaml: ")
}

var sectionOf = map[string]string{
	"Server": "server", "Auth": "auth", "Token": "auth.tokens[]", "Index": "index", "Activity": "activity",
	"Dedupe": "dedupe", "Drift": "drift", "Rejected": "rejected", "Snapshot": "snapshot", "Store": "store",
	"Redis": "store.redis", "Log": "log", "Source": "sources[]",
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
	problems = append(problems, c.Store.Redis.validate(c.Store.Backend)...)
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

var urlPassword = regexp.MustCompile(`(rediss?://[^:/@]*:)[^@]*@`)

func maskURLPassword(s string) string { return urlPassword.ReplaceAllString(s, "${1}****@") }

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
	if c.Snapshot.Path == "" && c.Store.Backend == "memory" {
		w = append(w, "snapshot.path is empty with the memory store: state is lost on restart")
	}
	return w
}

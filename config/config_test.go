package config

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestShippedConfigLoads(t *testing.T) {
	cfg, err := Load("../config.yaml", env(nil))
	if err != nil {
		t.Fatalf("shipped config.yaml: %v", err)
	}
	if cfg.Server.Addr != "127.0.0.1:8080" || !cfg.LoopbackOnly() {
		t.Fatalf("shipped config must listen on loopback, got %s", cfg.Server.Addr)
	}
	if err := cfg.CheckListen(); err != nil {
		t.Fatalf("shipped config refused on loopback: %v", err)
	}
	if len(cfg.DevSecrets()) == 0 {
		t.Fatal("shipped config should be marked as using development secrets")
	}
	providers := map[string]bool{}
	for _, s := range cfg.Sources {
		providers[s.Provider] = true
	}
	for _, p := range []string{"autoplay", "posthog", "fullstory", "sentry", "segment", "amplitude", "highlight", "standard"} {
		if !providers[p] {
			t.Errorf("shipped config has no %s source", p)
		}
	}
}

func TestEnvironmentExpansion(t *testing.T) {
	doc := `
server:
  addr: ${ADDR:-127.0.0.1:9999}
  max_body_bytes: ${BODY}
auth:
  tokens:
    - name: t
      token: "${TOKEN}"
      products: ["*"]
sources:
  - name: a
    provider: autoplay
    secrets: ["${S1}", "${S2:-fallback-secret-123}"]
`
	cfg, err := Parse([]byte(doc), env(map[string]string{"BODY": "2048", "TOKEN": "tok: with # yaml chars", "S1": "first"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr != "127.0.0.1:9999" {
		t.Errorf("default not applied: %q", cfg.Server.Addr)
	}
	if cfg.Server.MaxBodyBytes != 2048 {
		t.Errorf("number from env: %d", cfg.Server.MaxBodyBytes)
	}
	if cfg.Auth.Tokens[0].Token != "tok: with # yaml chars" {
		t.Errorf("an env value must not change the YAML structure: %q", cfg.Auth.Tokens[0].Token)
	}
	if got := cfg.Sources[0].Secrets; got[0] != "first" || got[1] != "fallback-secret-123" {
		t.Errorf("secrets: %v", got)
	}
	// Defaults fill what the file omits.
	if cfg.Index.LookbackSeconds != 300 || cfg.Server.ReadTimeout != 10*time.Second {
		t.Errorf("defaults: %+v %+v", cfg.Index, cfg.Server)
	}
}

// TestBrokenFilesExactMessages breaks one line of the shipped config.yaml
// (comments and all) and checks the whole message: the key, the source's
// name, the bad value, the ${VAR} it came from and the line, where {line} is
// the line the broken text is on.
func TestBrokenFilesExactMessages(t *testing.T) {
	shipped, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		old, new string // replace the first old with new in config.yaml
		env      map[string]string
		want     string
	}{
		{"word for a number", "max_users: 100000", "max_users: lots", nil,
			`config: index.max_users: "lots" is not a whole number (line {line})`},
		{"word for a number in a source", "    tolerance_seconds: 300", "    tolerance_seconds: yes", nil,
			`config: sources[2] (fullstory).tolerance_seconds: "yes" is not a whole number (line {line})`},
		{"number without a unit", "read_timeout: 10s", "read_timeout: 10", nil,
			`config: server.read_timeout: 10 is not a duration with a unit, such as 10s, 500ms or 2m (line {line})`},
		{"list for a string", "  format: json", "  format: [json]", nil,
			`config: log.format: must be text, not a list or mapping (line {line})`},
		{"string for a list", `    products: ["*"]`, `    products: all`, nil,
			`config: auth.tokens[0] (chat-layer).products: must be a list such as [a, b], got "all" (line {line})`},
		{"typo in a key", "  max_users: 100000", "  max_user: 100000", nil,
			`config: index.max_user: unknown key; did you mean "max_users"? (line {line})`},
		{"typo in a source key", "    tolerance_seconds: 300", "    tolerence_seconds: 300", nil,
			`config: sources[2] (fullstory).tolerence_seconds: unknown key; did you mean "tolerance_seconds"? (line {line})`},
		{"typo in a section", "activity:", "activty:", nil,
			`config: activty: unknown key; did you mean "activity"? (line {line})`},
		{"unknown key far from any", "  max_users: 100000", "  colour: blue", nil,
			`config: index.colour: unknown key (known keys: lookback_seconds, max_sessions_per_user, max_users) (line {line})`},
		{"bad value from the environment", "addr: ${REPLAYHOOK_ADDR:-127.0.0.1:8080}", "addr: ${REPLAYHOOK_ADDR:-127.0.0.1:8080}", map[string]string{"REPLAYHOOK_ADDR": "notanaddr"},
			`config: server.addr: must be host:port, such as 127.0.0.1:8080 or :8080, got "notanaddr" (line {line}, from $REPLAYHOOK_ADDR)`},
		{"bad default in the file", "addr: ${REPLAYHOOK_ADDR:-127.0.0.1:8080}", "addr: ${REPLAYHOOK_ADDR:-localhost}", nil,
			`config: server.addr: must be host:port, such as 127.0.0.1:8080 or :8080, got "localhost" (line {line}, $REPLAYHOOK_ADDR not set, the file's default applies)`},
		{"number out of range", "max_users: 100000", "max_users: 0", nil,
			`config: index.max_users: must be at least 1, got 0 (line {line})`},
		{"duration out of range", "read_timeout: 10s", "read_timeout: 1ms", nil,
			`config: server.read_timeout: must be at least 100ms, got "1ms" (line {line})`},
		{"word from the environment for a number", "max_body_bytes: 1048576", "max_body_bytes: ${BODY}", map[string]string{"BODY": "1MB"},
			`config: server.max_body_bytes: "1MB" is not a whole number (line {line}, from $BODY)`},
		{"empty secret from the environment", `secrets: ["${POSTHOG_WEBHOOK_SECRET:-dev-posthog-secret}"]`, `secrets: ["${POSTHOG_WEBHOOK_SECRET:-}"]`, nil,
			`config: sources[1] (posthog).secrets[0]: is required (line {line}, $POSTHOG_WEBHOOK_SECRET not set, the file's default applies)`},
		{"whitespace-only secret, value never shown", `secrets: ["${POSTHOG_WEBHOOK_SECRET:-dev-posthog-secret}"]`, `secrets: ["${POSTHOG_WEBHOOK_SECRET:-dev-posthog-secret}"]`, map[string]string{"POSTHOG_WEBHOOK_SECRET": "   "},
			`config: sources[1] (posthog).secrets[0]: is only whitespace (line {line}, from $POSTHOG_WEBHOOK_SECRET)`},
		{"secret of the wrong type is not shown", `secrets: ["${SENTRY_CLIENT_SECRET:-dev-sentry-secret}"]`, `secrets: [{s3cr3t: 1}]`, nil,
			`config: sources[3] (sentry).secrets[0]: must be text, not a list or mapping (line {line})`},
		{"header line for a header name", "    tolerance_seconds: 300", "    secret_header: 'Authorization: Bearer'", nil,
			`config: sources[2] (fullstory).secret_header: must be a header name only, such as X-Webhook-Secret (the header's whole value is compared with the secrets), got "Authorization: Bearer" (line {line})`},
		{"unset variable without a default", "max_users: 100000", "max_users: ${USERS}", nil,
			`config: index.max_users: environment variable USERS is not set and ${USERS} has no default (set it, or write ${USERS:-} for an empty default) (line {line})`},
		{"key set twice", "  max_users: 100000", "  max_users: 100000\n  max_users: 5", nil,
			`config: index.max_users: set twice (first on line {prev}) (line {line})`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(string(shipped), tt.old) {
				t.Fatalf("config.yaml no longer contains %q", tt.old)
			}
			doc := strings.Replace(string(shipped), tt.old, tt.new, 1)
			last := tt.new[strings.LastIndex(tt.new, "\n")+1:]
			line := strings.Count(doc[:strings.Index(doc, tt.new)+strings.Index(tt.new, last)], "\n") + 1
			want := strings.ReplaceAll(tt.want, "{line}", strconv.Itoa(line))
			want = strings.ReplaceAll(want, "{prev}", strconv.Itoa(line-1))
			_, err := Parse([]byte(doc), env(tt.env))
			if err == nil || err.Error() != want {
				t.Fatalf("error\n got: %v\nwant: %s", err, want)
			}
		})
	}
}

func TestRejectsNamingTheKey(t *testing.T) {
	base := "sources:\n  - name: a\n    provider: autoplay\n    secrets: [x-secret-value-1234]\n"
	tests := []struct {
		name, doc, want string
	}{
		{"unknown top-level key", "servr:\n  addr: 1\n", `servr: unknown key; did you mean "server"? (line 1)`},
		{"unknown source key", "sources:\n  - name: a\n    provider: autoplay\n    secret: [x]\n", `sources[0] (a).secret: unknown key; did you mean "secrets"? (line 4)`},
		{"bad backend", "store:\n  backend: etcd\n", `store.backend: must be one of memory, redis, got "etcd" (line 2)`},
		{"bad source name", "sources:\n  - name: Bad/Name\n    provider: autoplay\n    secrets: [x]\n", "sources[0] (Bad/Name).name: must be lower-case letters"},
		{"source without secret", "sources:\n  - name: a\n    provider: autoplay\n", `sources[0] (a).secrets: source "a" has no secret (set one, or unsigned: true for local development only) (line 2)`},
		{"duplicate source", base + "  - name: a\n    provider: autoplay\n    secrets: [y]\n", `sources[1] (a).name: duplicate source "a" (also sources[0]) (line 5)`},
		{"short token", "auth:\n  tokens:\n    - name: t\n      token: short\n      products: ['*']\n", "auth.tokens[0] (t).token: must be at least 8 characters long (line 4)"},
		{"token without products", "auth:\n  tokens:\n    - name: t\n      token: long-enough-token\n", "auth.tokens[0] (t).products: is required (a list with at least one entry) (line 3)"},
		{"whitespace-only token", "auth:\n  tokens:\n    - {name: t, token: '          ', products: ['*']}\n", "auth.tokens[0] (t).token: is only whitespace (line 3)"},
		{"two tokens with one value", "auth:\n  tokens:\n    - {name: a, token: same-token-value, products: [p1]}\n    - {name: b, token: same-token-value, products: ['*']}\n",
			"auth.tokens[1] (b).token: has the same value as auth.tokens[0] (a).token: a request would get the first one's products; give each client its own token (line 4)"},
		{"bad cidr", "server:\n  trusted_proxies: [banana]\n", `server.trusted_proxies[0]: must be a CIDR such as 10.0.0.0/8, got "banana" (line 2)`},
		{"not a mapping", "hello\n", "the file: must be a mapping of keys"},
		{"not YAML", "server: [\n", "config: not valid YAML: line 1: did not find expected node content"},
		{"two problems, one a line", "index:\n  max_users: 0\n  max_sessions_per_user: 0\n", "config: 2 problems:\n  index.max_sessions_per_user: must be at least 1, got 0 (line 3)\n  index.max_users: must be at least 1, got 0 (line 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), env(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestMessagesNeverShowSecrets(t *testing.T) {
	docs := []string{
		"auth:\n  tokens:\n    - {name: t, token: [hunter2-token], products: ['*']}\n",
		"sources:\n  - {name: a, provider: p, secrets: {hunter2-token: x}}\n",
		"store:\n  redis: {password: [hunter2-token]}\n",
		"store: {backend: redis, redis: {addr: 'redis://u:hunter2-token@h:1', addrs: ['x']}}\n",
		"auth:\n  tokens:\n    - {name: a, token: hunter2-token, products: [p]}\n    - {name: b, token: hunter2-token, products: [q]}\n",
	}
	for _, doc := range docs {
		_, err := Parse([]byte(doc), env(nil))
		if err == nil {
			t.Fatalf("%q: accepted", doc)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("message shows a secret: %v", err)
		}
	}
}

func TestSuggestions(t *testing.T) {
	for key, want := range map[string]string{"adr": `"addr"`, "max_body": `"max_body_bytes"`, "Addr": `"addr"`, "trusted_proxy": `"trusted_proxies"`} {
		if got := suggest(key, reflect.TypeOf(Server{})); !strings.Contains(got, "did you mean "+want) {
			t.Errorf("suggest(%q) = %q, want %s", key, got, want)
		}
	}
	if got := suggest("zzzzzz", reflect.TypeOf(Log{})); got != " (known keys: format, level)" {
		t.Errorf("no close key: %q", got)
	}
}

func TestRefusesDevSecretsOffLoopback(t *testing.T) {
	cfg, err := Load("../config.yaml", env(map[string]string{"REPLAYHOOK_ADDR": "0.0.0.0:8080"}))
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.CheckListen()
	if err == nil || !strings.Contains(err.Error(), "development secrets") ||
		!strings.Contains(err.Error(), "auth.tokens[0] (chat-layer).token: set $REPLAYHOOK_API_TOKEN") ||
		!strings.Contains(err.Error(), "sources[1] (posthog).secrets[0]: set $POSTHOG_WEBHOOK_SECRET") ||
		!strings.Contains(err.Error(), "remove the sources you do not use") {
		t.Fatalf("want refusal naming the dev keys, got %v", err)
	}
	realEnv := map[string]string{"REPLAYHOOK_ADDR": "0.0.0.0:8080", "REPLAYHOOK_API_TOKEN": "prod-token-abcdefgh"}
	for _, k := range []string{"AUTOPLAY_CONNECTOR_SECRET", "POSTHOG_WEBHOOK_SECRET", "FULLSTORY_WEBHOOK_SECRET", "SENTRY_CLIENT_SECRET",
		"SEGMENT_SHARED_SECRET", "AMPLITUDE_WEBHOOK_SECRET", "HIGHLIGHT_WEBHOOK_SECRET"} {
		realEnv[k] = "real-secret-0123456789"
	}
	realEnv["STANDARD_WEBHOOK_SECRET"] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	cfg, err = Load("../config.yaml", env(realEnv))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.CheckListen(); err != nil {
		t.Fatalf("real secrets refused: %v", err)
	}
}

func TestLoopbackOnly(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:1": true, "[::1]:80": true, "127.1.2.3:9": true,
		"0.0.0.0:8080": false, ":8080": false, "10.0.0.1:80": false, "example.com:80": false,
	} {
		c := Config{Server: Server{Addr: addr}}
		if got := c.LoopbackOnly(); got != want {
			t.Errorf("LoopbackOnly(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestMaskedHidesEverySecret(t *testing.T) {
	cfg, err := Parse([]byte(`
auth:
  tokens: [{name: t, token: very-secret-token, products: ["*"]}]
sources: [{name: a, provider: autoplay, secrets: [s3cr3t-value-abc, dev-secret]}]
store:
  redis: {addr: "redis://user:hunter2pass@127.0.0.1:6379/0", password: pw-value}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Masked()
	out := strings.Join([]string{m.Auth.Tokens[0].Token, m.Sources[0].Secrets[0], m.Sources[0].Secrets[1], m.Store.Redis.Addr, m.Store.Redis.Password}, " ")
	for _, secret := range []string{"very-secret-token", "s3cr3t-value-abc", "hunter2pass", "pw-value"} {
		if strings.Contains(out, secret) {
			t.Errorf("masked config still shows %q: %s", secret, out)
		}
	}
	if m.Sources[0].Secrets[1] != "dev-****" {
		t.Errorf("dev secrets should stay recognisable: %q", m.Sources[0].Secrets[1])
	}
	if cfg.Auth.Tokens[0].Token != "very-secret-token" {
		t.Fatal("Masked must not modify the original")
	}
}

func TestWarnings(t *testing.T) {
	cfg, err := Parse([]byte("sources: [{name: a, provider: autoplay, secrets: [short, \"long-enough-secret\\n\"]}]\nserver: {max_body_bytes: 33554432, trusted_proxies: [10.0.0.0/8, 0.0.0.0/0]}\nsnapshot: {path: ''}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(cfg.Warnings(), "\n")
	for _, want := range []string{"auth.tokens is empty", "sources[0] (a).secrets[0] is shorter than 16", "max_body_bytes", "snapshot.path is empty",
		"server.trusted_proxies[1] is 0.0.0.0/0: every client may set X-Forwarded-For", "sources[0] (a).secrets[1] starts or ends with whitespace"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
}

func FuzzParse(f *testing.F) {
	shipped, _ := os.ReadFile("../config.yaml")
	f.Add(shipped)
	f.Add([]byte("server: {addr: ${X:-a:1}}\n"))
	f.Add([]byte("sources: [{name: a, provider: p, secrets: ['${S}']}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, env(map[string]string{"S": "v"}))
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
	})
}

func TestRedisModes(t *testing.T) {
	tests := []struct {
		name, doc      string
		mode, endpoint string
	}{
		{"default single node", "store: {backend: redis}\n", RedisSingle, "127.0.0.1:6379"},
		{"URL, password masked", "store: {backend: redis, redis: {addr: 'redis://u:hunter2pass@r:6379/2'}}\n", RedisSingle, "redis://u:****@r:6379/2"},
		{"one addrs entry is one node", "store: {backend: redis, redis: {addrs: [r1:6379]}}\n", RedisSingle, "r1:6379"},
		{"several addrs are a Cluster", "store: {backend: redis, redis: {addrs: [a:7000, b:7001, c:7002]}}\n", RedisCluster, "cluster a:7000,b:7001,c:7002"},
		{"cluster: true with one seed", "store: {backend: redis, redis: {addrs: [cfg.example:6379], cluster: true}}\n", RedisCluster, "cluster cfg.example:6379"},
		{"master_name is Sentinel", "store: {backend: redis, redis: {addrs: [s1:26379, s2:26379], master_name: mymaster, sentinel_password: spw-value}}\n", RedisSentinel, "sentinel master mymaster via s1:26379,s2:26379"},
		{"addr as the default with addrs", "store: {backend: redis, redis: {addr: '127.0.0.1:6379', addrs: [a:1, b:2]}}\n", RedisCluster, "cluster a:1,b:2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.doc), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Store.Redis.Mode(); got != tc.mode {
				t.Errorf("Mode() = %q, want %q", got, tc.mode)
			}
			if got := cfg.Store.Redis.Endpoint(); got != tc.endpoint {
				t.Errorf("Endpoint() = %q, want %q", got, tc.endpoint)
			}
		})
	}
}

func TestRedisRejectsNamingTheKey(t *testing.T) {
	tests := []struct{ name, redis, want string }{
		{"addr and addrs", "{addr: 'other:6379', addrs: [a:1, b:2]}", "store.redis.addr: set addr (one node) or addrs"},
		{"URL in addrs", "{addrs: ['redis://a:1']}", `store.redis.addrs[0]: "redis://a:1" must be host:port`},
		{"no port in addrs", "{addrs: [a, 'b:2']}", `store.redis.addrs[0]: "a" must be host:port`},
		{"empty addrs entry", "{addrs: ['', 'b:2']}", "store.redis.addrs[0]: is required"},
		{"Sentinel without addrs", "{master_name: mymaster}", "store.redis.addrs: the Sentinels' host:port list is required"},
		{"cluster without addrs", "{cluster: true}", "store.redis.addrs: required when cluster is true"},
		{"cluster and master_name", "{addrs: [a:1], cluster: true, master_name: m}", "store.redis.cluster: cannot be true with master_name"},
		{"sentinel password without Sentinel", "{sentinel_password: x}", "only used with master_name"},
		{"db on a Cluster", "{addrs: [a:1, b:2], db: 3}", "store.redis.db: must be 0 with a Redis Cluster"},
		{"no address at all", "{addr: ''}", "store.redis.addr: required when store.backend is redis"},
		{"too many addrs", "{addrs: [" + strings.Repeat("a:1, ", 64) + "a:1]}", "store.redis.addrs: must have at most 64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte("store: {backend: redis, redis: "+tc.redis+"}\n"), env(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestMaskedHidesSentinelPassword(t *testing.T) {
	cfg, err := Parse([]byte("store: {backend: redis, redis: {addrs: [s1:26379], master_name: m, password: node-pw-value, sentinel_password: sentinel-pw-value}}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Masked()
	for _, got := range []string{m.Store.Redis.Password, m.Store.Redis.SentinelPassword} {
		if got != "****" {
			t.Errorf("masked password = %q, want ****", got)
		}
	}
	m.Store.Redis.Addrs[0] = "changed:1"
	if cfg.Store.Redis.Addrs[0] != "s1:26379" || cfg.Store.Redis.SentinelPassword != "sentinel-pw-value" {
		t.Fatal("Masked must not modify the original")
	}
}

func TestRedisWarnings(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"one Sentinel", "store: {backend: redis, redis: {addrs: [s1:26379], master_name: m}}\n", "lists one Sentinel"},
		{"Cluster keys with the memory store", "store: {backend: memory, redis: {addrs: [a:1, b:2]}}\n", "they are not used"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.doc), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if w := strings.Join(cfg.Warnings(), "\n"); !strings.Contains(w, tc.want) {
				t.Errorf("warnings lack %q:\n%s", tc.want, w)
			}
		})
	}
	cfg, err := Parse([]byte("store: {backend: redis, redis: {addrs: [s1:26379, s2:26379, s3:26379], master_name: m}}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(cfg.Warnings(), "\n"); strings.Contains(w, "Sentinel") || strings.Contains(w, "not used") {
		t.Errorf("three Sentinels with the redis backend deserve no Redis warning:\n%s", w)
	}
}

// TestCheckerFollowsEveryShape: optional (pointer) values and maps, which
// sections may use, are checked like the others, and a map's keys are free.
func TestCheckerFollowsEveryShape(t *testing.T) {
	type section struct {
		Flag    *bool             `yaml:"flag"`
		Headers map[string]string `yaml:"headers"`
		Limits  map[string]int    `yaml:"limits"`
	}
	check := func(doc string) []string {
		var root yaml.Node
		if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
			t.Fatal(err)
		}
		c := checker{src: newSourceMap()}
		c.check(root.Content[0], reflect.TypeOf(section{}), "", nil, 0)
		var out []string
		for _, p := range c.problems {
			out = append(out, c.src.format(p))
		}
		return out
	}
	if got := check("flag: true\nheaders: {X-Any-Name: v, other: w}\nlimits: {a: 1}\n"); len(got) != 0 {
		t.Fatalf("valid document refused: %v", got)
	}
	got := strings.Join(check("flag: maybe\nheaders: [a]\nlimits: {a: lots}\n"), "\n")
	for _, want := range []string{
		`flag: "maybe" is not true or false (line 1)`,
		"headers: must be a mapping of names to values (name: value on the lines below, indented) (line 2)",
		`limits.a: "lots" is not a whole number (line 3)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
}

package config

import (
	"os"
	"strings"
	"testing"
	"time"
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

func TestRejectsNamingTheKey(t *testing.T) {
	base := "sources:\n  - name: a\n    provider: autoplay\n    secrets: [x-secret-value-1234]\n"
	tests := []struct {
		name, doc, want string
	}{
		{"unknown top-level key", "servr:\n  addr: 1\n", `unknown key "servr"`},
		{"unknown nested key", "server:\n  adr: 127.0.0.1:1\n", `unknown key "server.adr"`},
		{"unknown source key", "sources:\n  - name: a\n    provider: autoplay\n    secret: [x]\n", `unknown key "sources[].secret"`},
		{"bad number", "index:\n  max_users: 0\n", "index.max_users: must be >= 1"},
		{"wrong type", "index:\n  max_users: lots\n", "max_users"},
		{"bad duration", "server:\n  read_timeout: 1ms\n", "server.read_timeout"},
		{"bad addr", "server:\n  addr: nowhere\n", "server.addr: must be host:port"},
		{"bad backend", "store:\n  backend: etcd\n", "store.backend: must be one of: memory redis"},
		{"bad source name", "sources:\n  - name: Bad/Name\n    provider: autoplay\n    secrets: [x]\n", "sources[0].name"},
		{"source without secret", "sources:\n  - name: a\n    provider: autoplay\n", "sources[0].secrets: source \"a\" has no secret"},
		{"duplicate source", base + "  - name: a\n    provider: autoplay\n    secrets: [y]\n", "duplicate source \"a\""},
		{"short token", "auth:\n  tokens:\n    - name: t\n      token: short\n      products: ['*']\n", "auth.tokens[0].token"},
		{"token without products", "auth:\n  tokens:\n    - name: t\n      token: long-enough-token\n", "auth.tokens[0].products: is required"},
		{"unset env var", "server:\n  addr: ${NOPE}\n", "environment variable NOPE is not set"},
		{"bad cidr", "server:\n  trusted_proxies: [banana]\n", "server.trusted_proxies[0]: must be a CIDR"},
		{"not yaml", "server: [", "yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), env(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestRefusesDevSecretsOffLoopback(t *testing.T) {
	cfg, err := Load("../config.yaml", env(map[string]string{"REPLAYHOOK_ADDR": "0.0.0.0:8080"}))
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.CheckListen()
	if err == nil || !strings.Contains(err.Error(), "development secrets") || !strings.Contains(err.Error(), "auth.tokens[0].token") {
		t.Fatalf("want refusal naming the dev keys, got %v", err)
	}
	real := map[string]string{"REPLAYHOOK_ADDR": "0.0.0.0:8080", "REPLAYHOOK_API_TOKEN": "prod-token-abcdefgh"}
	for _, k := range []string{"AUTOPLAY_CONNECTOR_SECRET", "POSTHOG_WEBHOOK_SECRET", "FULLSTORY_WEBHOOK_SECRET", "SENTRY_CLIENT_SECRET",
		"SEGMENT_SHARED_SECRET", "AMPLITUDE_WEBHOOK_SECRET", "HIGHLIGHT_WEBHOOK_SECRET"} {
		real[k] = "real-secret-0123456789"
	}
	real["STANDARD_WEBHOOK_SECRET"] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	cfg, err = Load("../config.yaml", env(real))
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
	cfg, err := Parse([]byte("sources: [{name: a, provider: autoplay, secrets: [short]}]\nserver: {max_body_bytes: 33554432}\nsnapshot: {path: ''}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(cfg.Warnings(), "\n")
	for _, want := range []string{"auth.tokens is empty", "shorter than 16", "max_body_bytes", "snapshot.path is empty"} {
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

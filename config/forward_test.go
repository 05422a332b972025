package config

import (
	"strings"
	"testing"
	"time"
)

// TestForwardValidation: each rule on a forward target, named by its key.
func TestForwardValidation(t *testing.T) {
	const ok = `{name: chat, url: "https://chat.example.com/events", products: ["*"], secret: "${FWD_SECRET}"}`
	tests := []struct {
		name, target, wantErr string
	}{
		{"valid https target", ok, ""},
		{"http to loopback is allowed", `{name: chat, url: "http://127.0.0.1:9000/e", products: [p1], secret: s}`, ""},
		{"http elsewhere is refused", `{name: chat, url: "http://chat.example.com/e", products: [p1], secret: s}`, "forward[0] (chat).url: must be https"},
		{"credentials in the URL", `{name: chat, url: "https://u:p@chat.example.com/e", products: [p1], secret: s}`, "forward[0] (chat).url: must not carry credentials"},
		{"not a URL", `{name: chat, url: "chat.example.com", products: [p1], secret: s}`, "forward[0] (chat).url: must be an absolute http(s) URL"},
		{"no products", `{name: chat, url: "https://c.example/e", products: [], secret: s}`, "forward[0] (chat).products"},
		{"no secret", `{name: chat, url: "https://c.example/e", products: [p1]}`, "forward[0] (chat).secret: is required"},
		{"bad name", `{name: "Chat Layer", url: "https://c.example/e", products: [p1], secret: s}`, "forward[0] (Chat Layer).name"},
		{"header replacing the signature", `{name: chat, url: "https://c.example/e", products: [p1], secret: s, headers: {x-connector-signature: x}}`, "X-Connector-Signature is set by replayhook"},
		{"header with a newline", `{name: chat, url: "https://c.example/e", products: [p1], secret: s, headers: {X-A: "a\nb"}}`, "value must be one line"},
		{"timeout beyond a minute", `{name: chat, url: "https://c.example/e", products: [p1], secret: s, timeout: 2m}`, "forward[0] (chat).timeout"},
		{"unknown key", `{name: chat, url: "https://c.example/e", products: [p1], secret: s, retries: 3}`, `forward[0] (chat).retries: unknown key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte("forward:\n  - "+tt.target+"\n"), env(map[string]string{"FWD_SECRET": "a-real-secret-value-0123"}))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	dup := "forward:\n  - " + ok + "\n  - " + ok + "\n"
	if _, err := Parse([]byte(dup), env(map[string]string{"FWD_SECRET": "x"})); err == nil || !strings.Contains(err.Error(), `forward[1] (chat).name: duplicate target "chat"`) {
		t.Fatalf("duplicate: %v", err)
	}
}

// TestForwardDefaultsSecretsAndWarnings: zero limits take the defaults; a
// dev- secret blocks a public listener like a source's; check-config masks
// the secret and header values and warns on plain http.
func TestForwardDefaultsSecretsAndWarnings(t *testing.T) {
	doc := `
server: {addr: "0.0.0.0:8080"}
forward:
  - {name: chat, url: "http://127.0.0.1:9/e", products: ["*"], secret: dev-forward, headers: {X-Key: hidden-value}}
`
	cfg, err := Parse([]byte(doc), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Forward[0].WithDefaults()
	if d.Timeout != 5*time.Second || d.MaxAge != 24*time.Hour || d.MaxAttempts != 50 || d.Concurrency != 4 || d.MaxQueued != 100000 || d.MaxDead != 1000 {
		t.Fatalf("defaults: %+v", d)
	}
	if err := cfg.CheckListen(); err == nil || !strings.Contains(err.Error(), "forward[0].secret (chat)") {
		t.Fatalf("dev secret on a public listener: %v", err)
	}
	m := cfg.Masked()
	if m.Forward[0].Secret != "dev-****" || m.Forward[0].Headers["X-Key"] != "****" || cfg.Forward[0].Headers["X-Key"] != "hidden-value" {
		t.Fatalf("masked %+v (original must be untouched: %+v)", m.Forward[0], cfg.Forward[0])
	}
	if w := strings.Join(cfg.Warnings(), "\n"); !strings.Contains(w, "forward[0].url (chat) is plain http") {
		t.Fatalf("warnings: %s", w)
	}
}

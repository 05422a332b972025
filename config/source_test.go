package config

import (
	"strings"
	"testing"
)

func TestSourceKeys(t *testing.T) {
	no := false
	tests := []struct {
		name     string
		addr     string
		src      Source
		problem  string // part of the Validate error, "" for none
		warning  string // part of a warning, "" for none about url_token
		honorDel bool
	}{
		{"defaults", "127.0.0.1:8080", Source{Name: "s", Provider: "highlight", Secrets: []string{"0123456789abcdef0"}}, "", "", true},
		{"honor_deletions false", "127.0.0.1:8080", Source{Name: "s", Provider: "segment", Secrets: []string{"0123456789abcdef0"}, HonorDeletions: &no}, "", "", false},
		{"url_token on loopback", "127.0.0.1:8080", Source{Name: "s", Provider: "highlight", Secrets: []string{"0123456789abcdef0"}, URLToken: true}, "", "", true},
		{"url_token off loopback warns", "0.0.0.0:8080", Source{Name: "s", Provider: "highlight", Secrets: []string{"0123456789abcdef0"}, URLToken: true}, "", "plain http off loopback", true},
		{"url_token without a secret", "127.0.0.1:8080", Source{Name: "s", Provider: "highlight", Unsigned: true, URLToken: true}, "sources[0].url_token", "token is not checked", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Server.Addr = tt.addr
			c.Sources = []Source{tt.src}
			err := c.Validate()
			if (tt.problem == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.problem)) {
				t.Fatalf("Validate = %v, want %q", err, tt.problem)
			}
			var got string
			for _, w := range c.Warnings() {
				if strings.Contains(w, "url_token") {
					got = w
				}
			}
			if (tt.warning == "") != (got == "") || !strings.Contains(got, tt.warning) {
				t.Fatalf("warnings %q, want one saying %q", c.Warnings(), tt.warning)
			}
			if strings.Contains(got, "0123456789abcdef0") {
				t.Fatalf("a warning shows the secret: %s", got)
			}
			if tt.src.HonorsDeletions() != tt.honorDel {
				t.Fatalf("HonorsDeletions = %v", tt.src.HonorsDeletions())
			}
		})
	}
}

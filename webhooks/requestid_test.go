package webhooks

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
)

// generatedID is the shape of an id the server makes: 8 random bytes in hex.
var generatedID = regexp.MustCompile(`^[0-9a-f]{16}$`)

// lastLogLine decodes the newest access log line.
func (h *harness) lastLogLine() map[string]any {
	h.t.Helper()
	lines := strings.Split(strings.TrimSpace(h.logs.String()), "\n")
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &line); err != nil {
		h.t.Fatalf("access log line is not JSON: %v: %s", err, lines[len(lines)-1])
	}
	return line
}

// TestRequestIDPropagation: a sane incoming X-Request-Id is kept, anything
// else is replaced by a fresh id; either way the response and the access
// log line carry the same id, on success and on error answers.
func TestRequestIDPropagation(t *testing.T) {
	tests := []struct {
		name     string
		incoming []string // nil: header absent
		target   string
		token    string
		keep     bool
	}{
		{name: "sane id is kept", incoming: []string{"req-123_ABC.v2"}, target: "/livez", keep: true},
		{name: "64 characters is kept", incoming: []string{strings.Repeat("a", 64)}, target: "/livez", keep: true},
		{name: "kept on an error answer", incoming: []string{"trace.0001"}, target: "/v1/users/usr_48213", keep: true},
		{name: "kept on an authenticated lookup", incoming: []string{"trace.0002"}, target: "/v1/users/usr_48213", token: tokChat, keep: true},
		{name: "absent: one is made", target: "/livez"},
		{name: "empty: one is made", incoming: []string{""}, target: "/livez"},
		{name: "65 characters: replaced", incoming: []string{strings.Repeat("a", 65)}, target: "/livez"},
		{name: "space: replaced", incoming: []string{"req 123"}, target: "/livez"},
		{name: "log injection: replaced", incoming: []string{`x","level":"error`}, target: "/livez"},
		{name: "newline: replaced", incoming: []string{"x\nforged line"}, target: "/livez"},
		{name: "non-ASCII: replaced", incoming: []string{"réq-1"}, target: "/livez"},
		{name: "slash: replaced", incoming: []string{"../etc"}, target: "/livez"},
		{name: "replaced on an error answer", incoming: []string{"<script>"}, target: "/v1/users/usr_48213"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			hdr := http.Header{}
			if tt.incoming != nil {
				hdr[RequestIDHeader] = tt.incoming
			}
			if tt.token != "" {
				hdr.Set("Authorization", "Bearer "+tt.token)
			}
			rec := h.do(http.MethodGet, tt.target, nil, hdr)
			got := rec.Header().Get(RequestIDHeader)
			if vs := rec.Header().Values(RequestIDHeader); len(vs) != 1 {
				t.Fatalf("want exactly one %s header, got %q", RequestIDHeader, vs)
			}
			if tt.keep {
				if got != tt.incoming[0] {
					t.Fatalf("%s = %q, want the incoming %q", RequestIDHeader, got, tt.incoming[0])
				}
			} else {
				if !generatedID.MatchString(got) {
					t.Fatalf("%s = %q, want a fresh 16-hex-digit id", RequestIDHeader, got)
				}
				if tt.incoming != nil && got == tt.incoming[0] {
					t.Fatalf("an insane id was kept: %q", got)
				}
			}
			line := h.lastLogLine()
			if line["request_id"] != got {
				t.Fatalf("access log request_id = %v, response says %q", line["request_id"], got)
			}
			if tt.incoming != nil && !tt.keep && tt.incoming[0] != "" && strings.Contains(h.logs.String(), tt.incoming[0]) {
				t.Fatalf("the rejected incoming id reached the log: %s", h.logs)
			}
		})
	}
}

// TestGeneratedRequestIDsAreDistinct: ids made by the server do not repeat.
func TestGeneratedRequestIDsAreDistinct(t *testing.T) {
	h := newHarness(t)
	seen := map[string]bool{}
	for range 200 {
		id := h.do(http.MethodGet, "/livez", nil, nil).Header().Get(RequestIDHeader)
		if seen[id] {
			t.Fatalf("request id %q repeated", id)
		}
		seen[id] = true
	}
}

// TestRequestIDOnRejectedDelivery: the id of a rejected delivery is kept in
// the rejected-deliveries log, so an operator can find its access line.
func TestRequestIDOnRejectedDelivery(t *testing.T) {
	h := newHarness(t, func(_ *config.Config, d *Deps) { d.Rejected = index.NewMemoryRejected(10) })
	rec := h.do(http.MethodPost, "/webhooks/autoplay", dana.body(), http.Header{RequestIDHeader: {"vendor-retry-7"}})
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("unsigned delivery = %d, want 401", rec.Code)
	}
	var got struct {
		Rejected []index.Rejection `json:"rejected"`
	}
	if err := json.Unmarshal(h.get("/v1/deliveries/rejected", tokChat).Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Rejected) != 1 || got.Rejected[0].RequestID != "vendor-retry-7" {
		t.Fatalf("rejected log = %+v, want one entry with request id vendor-retry-7", got.Rejected)
	}
}

// TestAccessLogLine: one line per request with the documented fields; the
// route is the template, never the raw path that holds a user id.
func TestAccessLogLine(t *testing.T) {
	tests := []struct {
		name    string
		send    func(h *harness)
		want    map[string]any // field → value (nil: present, any value)
		absent  []string       // fields that must not be there
		private []string       // strings that must not appear in the line
	}{
		{
			name: "lookup",
			send: func(h *harness) { h.get("/v1/users/usr_48213?product_id=prod_demo", tokChat) },
			want: map[string]any{"method": "GET", "route": "/v1/users/:user_id", "status": 200.0, "token": "chat",
				"level": "info", "msg": "request", "duration_ms": nil, "request_id": nil, "remote_ip": nil, "bytes_out": nil, "time": nil},
			absent:  []string{"source", "outcome", "error"},
			private: []string{"usr_48213", tokChat, "prod_demo"},
		},
		{
			name: "accepted delivery",
			send: func(h *harness) { h.post("autoplay", dana.body()) },
			want: map[string]any{"method": "POST", "route": "/webhooks/:source", "status": 200.0, "source": "autoplay",
				"outcome": "accepted", "level": "info", "bytes_in": float64(len(dana.body()))},
			absent:  []string{"token", "missing_user_id"},
			private: []string{"usr_48213", "dana.whitfield", secretNew, "Place order"},
		},
		{
			name: "rejected delivery",
			send: func(h *harness) {
				h.do(http.MethodPost, "/webhooks/autoplay", dana.body(), sign(dana.body(), "wrong-secret"))
			},
			want: map[string]any{"route": "/webhooks/:source", "status": 401.0, "source": "autoplay",
				"outcome": "invalid_signature", "level": "warning", "reason": nil},
			private: []string{"usr_48213", "wrong-secret"},
		},
		{
			name:    "unknown source is not echoed",
			send:    func(h *harness) { h.post("attacker-chosen", dana.body()) },
			want:    map[string]any{"status": 404.0, "source": "(unknown)", "outcome": "unknown_source"},
			private: []string{"attacker-chosen"},
		},
		{
			name:    "no route",
			send:    func(h *harness) { h.get("/v1/nothing/usr_48213", tokChat) },
			want:    map[string]any{"status": 404.0, "route": "", "outcome": "not_found"},
			private: []string{"usr_48213", "/v1/nothing"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			tt.send(h)
			if n := strings.Count(strings.TrimSpace(h.logs.String()), "\n") + 1; n != 1 {
				t.Fatalf("want one access line, got %d:\n%s", n, h.logs)
			}
			line := h.lastLogLine()
			for k, want := range tt.want {
				got, ok := line[k]
				if !ok {
					t.Errorf("field %q missing: %v", k, line)
				} else if want != nil && got != want {
					t.Errorf("%s = %#v, want %#v", k, got, want)
				}
			}
			for _, k := range tt.absent {
				if _, ok := line[k]; ok {
					t.Errorf("field %q should not be there: %v", k, line[k])
				}
			}
			for _, p := range tt.private {
				if strings.Contains(h.logs.String(), p) {
					t.Errorf("the access line holds %q: %s", p, h.logs)
				}
			}
		})
	}
}

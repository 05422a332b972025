package webhooks

import (
	"net/http"
	"strings"
	"testing"
)

// TestHostileInputs sends input an attacker or a broken sender would, across
// endpoints, and checks each gets the contract's status and error code —
// never a 500, never a panic, never a leaked secret.
func TestHostileInputs(t *testing.T) {
	deep := `{"a":` + strings.Repeat("[", 11000) + strings.Repeat("]", 11000) + "}" // past encoding/json's depth limit
	deepArr := `{"type":"actions","session_id":"s","actions":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`
	big := `{"type":"actions","session_id":"s","user_id":"` + strings.Repeat("x", 60000) + `"}`
	signed := func(body string) http.Header { return sign([]byte(body), secretNew) }
	withHeader := func(body string, k, v string) http.Header {
		h := signed(body)
		h.Set(k, v)
		return h
	}
	bearer := http.Header{"Authorization": {"Bearer " + tokChat}}

	tests := []struct {
		name   string
		method string
		target string
		body   string
		header http.Header // nil: signed with the new secret when POSTing /webhooks
		status int
		code   string
	}{
		// Bodies that are not what they claim.
		{"truncated JSON", "POST", "/webhooks/autoplay", `{"type":"actions","actions":[{"index":0`, nil, 400, "malformed_json"},
		{"trailing garbage", "POST", "/webhooks/autoplay", `{"type":"actions"} x`, nil, 400, "malformed_json"},
		{"two objects", "POST", "/webhooks/autoplay", `{"type":"actions"}{"type":"actions"}`, nil, 400, "malformed_json"},
		{"JSON array", "POST", "/webhooks/autoplay", `[]`, nil, 400, "malformed_json"},
		{"JSON string", "POST", "/webhooks/autoplay", `"hello"`, nil, 400, "malformed_json"},
		{"JSON number", "POST", "/webhooks/autoplay", `42`, nil, 400, "malformed_json"},
		{"JSON null", "POST", "/webhooks/autoplay", `null`, nil, 400, "malformed_json"},
		{"empty body", "POST", "/webhooks/autoplay", ``, nil, 400, "malformed_json"},
		{"whitespace body", "POST", "/webhooks/autoplay", "  \n\t ", nil, 400, "malformed_json"},
		{"invalid UTF-8", "POST", "/webhooks/autoplay", "{\"type\":\"actions\",\"session_id\":\"\xff\xfe\"}", nil, 200, "accepted"},
		{"UTF-16 BOM", "POST", "/webhooks/autoplay", "\xef\xbb\xbf{\"type\":\"actions\"}", nil, 400, "malformed_json"},
		{"deeply nested object", "POST", "/webhooks/autoplay", deep, nil, 400, "malformed_json"},
		{"deeply nested actions", "POST", "/webhooks/autoplay", deepArr, nil, 422, "invalid_payload"},
		{"NaN string in a number field", "POST", "/webhooks/autoplay", `{"type":"actions","session_id":"s","forwarded_at":"NaN"}`, nil, 422, "invalid_payload"},
		{"Infinity literal", "POST", "/webhooks/autoplay", `{"type":"actions","forwarded_at":Infinity}`, nil, 400, "malformed_json"},
		{"huge number", "POST", "/webhooks/autoplay", `{"type":"actions","session_id":"s","forwarded_at":1e999}`, nil, 422, "invalid_payload"},
		{"huge integer index", "POST", "/webhooks/autoplay", `{"type":"actions","session_id":"s","actions":[{"index":123456789012345678901234567890}]}`, nil, 422, "invalid_payload"},
		{"negative timestamp", "POST", "/webhooks/autoplay", `{"type":"actions","session_id":"s","actions":[{"timestamp_start":-5}]}`, nil, 422, "invalid_payload"},
		{"wrong type: session_id object", "POST", "/webhooks/autoplay", `{"type":"actions","session_id":{"a":1}}`, nil, 422, "invalid_payload"},
		{"wrong type: user_id number", "POST", "/webhooks/autoplay", `{"type":"actions","session_id":"s","user_id":12}`, nil, 422, "invalid_payload"},
		{"wrong type: email list", "POST", "/webhooks/autoplay", `{"type":"actions","session_id":"s","email":["a"]}`, nil, 422, "invalid_payload"},
		{"wrong type: actions number", "POST", "/webhooks/autoplay", `{"type":"actions","session_id":"s","actions":3}`, nil, 422, "invalid_payload"},
		{"wrong type: action string", "POST", "/webhooks/autoplay", `{"type":"actions","session_id":"s","actions":["click"]}`, nil, 422, "invalid_payload"},
		{"wrong type: type number", "POST", "/webhooks/autoplay", `{"type":7}`, nil, 422, "invalid_payload"},
		{"too many actions", "POST", "/webhooks/autoplay", `{"type":"actions","session_id":"s","actions":[` + strings.TrimSuffix(strings.Repeat(`{},`, 1001), ",") + `]}`, nil, 422, "invalid_payload"},
		{"one 60 KB string", "POST", "/webhooks/autoplay", big, nil, 422, "invalid_payload"},
		{"1 MB body over the limit", "POST", "/webhooks/autoplay", `{"x":"` + strings.Repeat("a", 1<<20) + `"}`, nil, 413, "payload_too_large"},
		{"product mismatch", "POST", "/webhooks/autoplay", `{"type":"actions","product_id":"evil","session_id":"s"}`, nil, 422, "product_mismatch"},
		// Headers.
		{"no signature", "POST", "/webhooks/autoplay", `{"type":"actions"}`, http.Header{}, 401, "invalid_signature"},
		{"signature for another body", "POST", "/webhooks/autoplay", `{"type":"actions"}`, sign([]byte(`{}`), secretNew), 401, "invalid_signature"},
		{"signature with CRLF injection", "POST", "/webhooks/autoplay", `{"type":"actions"}`, withHeader(`{"type":"actions"}`, "X-Connector-Signature", "sha256=00\r\nX-Evil: 1"), 401, "invalid_signature"},
		{"duplicate signature headers, first wrong", "POST", "/webhooks/autoplay", `{"type":"heartbeat"}`,
			http.Header{"X-Connector-Signature": {"sha256=" + strings.Repeat("0", 64), signed(`{"type":"heartbeat"}`).Get("X-Connector-Signature")}}, 401, "invalid_signature"},
		{"signature 10 KB long", "POST", "/webhooks/autoplay", `{"type":"actions"}`, withHeader(`{"type":"actions"}`, "X-Connector-Signature", "sha256="+strings.Repeat("a", 10000)), 401, "invalid_signature"},
		{"wrong content type is fine when signed", "POST", "/webhooks/autoplay", `{"type":"heartbeat"}`, withHeader(`{"type":"heartbeat"}`, "Content-Type", "text/plain"), 200, "ignored"},
		// Paths and methods.
		{"path traversal in source", "POST", "/webhooks/..%2F..%2Fetc%2Fpasswd", `{}`, nil, 404, "unknown_source"},
		{"dot-dot source", "POST", "/webhooks/..", `{}`, nil, 404, "unknown_source"},
		{"URL-encoded source name", "POST", "/webhooks/auto%70lay", `{"type":"heartbeat"}`, signed(`{"type":"heartbeat"}`), 404, "unknown_source"},
		{"source with NUL", "POST", "/webhooks/autoplay%00", `{}`, nil, 404, "unknown_source"},
		{"wrong method on ingest", "PUT", "/webhooks/autoplay", `{}`, nil, 405, "method_not_allowed"},
		{"GET on ingest", "GET", "/webhooks/autoplay", ``, http.Header{}, 405, "method_not_allowed"},
		{"no source", "POST", "/webhooks/", `{}`, nil, 404, "not_found"},
		{"path traversal in user id", "GET", "/v1/users/..%2F..%2Fadmin", ``, bearer, 200, ""},
		{"URL-encoded user id", "GET", "/v1/users/auth0%7C123", ``, bearer, 200, ""},
		{"encoded slash in user id", "GET", "/v1/users/a%2Fb", ``, bearer, 200, ""},
		{"blank user id", "GET", "/v1/users/%20%20", ``, bearer, 400, "invalid_parameter"},
		{"huge user id", "GET", "/v1/users/" + strings.Repeat("a", 5000), ``, bearer, 400, "invalid_parameter"},
		{"wrong method on users", "POST", "/v1/users/u1", ``, bearer, 405, "method_not_allowed"},
		{"token with CRLF", "GET", "/v1/users/u1", ``, http.Header{"Authorization": {"Bearer x\r\ny"}}, 401, "unauthorized"},
		{"empty bearer", "GET", "/v1/users/u1", ``, http.Header{"Authorization": {"Bearer "}}, 401, "unauthorized"},
		{"other auth scheme", "GET", "/v1/users/u1", ``, http.Header{"Authorization": {"Token " + tokChat}}, 401, "unauthorized"},
		{"negative max_actions", "GET", "/v1/users/u1/activity?max_actions=-1", ``, bearer, 400, "invalid_parameter"},
		{"huge lookback", "GET", "/v1/users/u1/activity?lookback_seconds=99999999999999999999", ``, bearer, 400, "invalid_parameter"},
	}
	if len(tests) < 40 {
		t.Fatalf("the issue asks for at least 40 hostile inputs, have %d", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.cfg.Server.MaxBodyBytes = 64 << 10
			hdr := tt.header
			if hdr == nil && tt.method == "POST" {
				hdr = signed(tt.body)
			}
			rec := h.do(tt.method, tt.target, []byte(tt.body), hdr)
			if rec.Code >= 500 {
				t.Fatalf("5xx for bad input: %d %s", rec.Code, rec.Body)
			}
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %.300s", rec.Code, tt.status, rec.Body)
			}
			m := decode[map[string]any](t, rec)
			if tt.code != "" {
				got := m["error"]
				if rec.Code == 200 {
					got = m["status"]
				}
				if got != tt.code {
					t.Fatalf("code %v, want %s: %.300s", got, tt.code, rec.Body)
				}
			}
			if strings.Contains(rec.Body.String(), secretNew) || strings.Contains(rec.Body.String(), tokChat) {
				t.Fatal("a secret leaked into the response")
			}
		})
	}
}

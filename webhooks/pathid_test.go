package webhooks

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestPathIDsDecodedOnce: every route taking an id in the path decodes it
// exactly once, whatever escapes the client chose. Each id is stored by a
// delivery, then read through every encoded form of it on every route; the
// user a second decoding would reach is never touched.
func TestPathIDsDecodedOnce(t *testing.T) {
	tests := []struct {
		id string
		// encoded are the forms a client may send for id (url.PathEscape's
		// is always tried too).
		encoded []string
		// decoy is the id a second decoding of encoded[0] would reach.
		decoy string
	}{
		{id: "a%41-x", encoded: []string{"a%2541-x"}, decoy: "aA-x"},
		{id: "50%off", encoded: []string{"50%25off"}},
		{id: "%2F", encoded: []string{"%252F"}, decoy: "/"},
		{id: "a/b", encoded: []string{"a%2Fb", "a%2fb"}},
		{id: "a+b", encoded: []string{"a+b", "a%2Bb", "a%2bb"}},
		{id: "first last", encoded: []string{"first%20last"}},
		{id: "auth0|123", encoded: []string{"auth0%7C123", "auth0|123"}},
		{id: "josé-日本", encoded: []string{"jos%C3%A9-%E6%97%A5%E6%9C%AC", "jos%c3%a9-%e6%97%a5%e6%9c%ac"}},
		{id: "a%2Fb+c d", encoded: []string{"a%252Fb+c%20d", "a%252Fb%2Bc%20d"}, decoy: "a/b+c d"},
	}
	h := newHarness(t)
	ids := []string{}
	for _, tt := range tests {
		ids = append(ids, tt.id)
		if tt.decoy != "" {
			ids = append(ids, tt.decoy)
		}
	}
	for _, id := range ids {
		body := payloadSpec{product: "prod_demo", session: "s-" + id, user: id, ts: T0.Add(-time.Minute),
			actions: []string{"click|Clicked|https://shop.example.com/p"}}.body()
		if rec := h.post("autoplay", body); rec.Code != http.StatusOK {
			t.Fatalf("storing %q: %d %s", id, rec.Code, rec.Body)
		}
	}
	for _, tt := range tests {
		for _, enc := range append(tt.encoded, url.PathEscape(tt.id)) {
			u := decode[UserResponse](t, h.get("/v1/users/"+enc, tokChat))
			if u.UserID != tt.id || len(u.Sessions) != 1 || u.Sessions[0].SessionID != "s-"+tt.id {
				t.Errorf("GET /v1/users/%s = %q %+v, want %q with session s-%s", enc, u.UserID, u.Sessions, tt.id, tt.id)
			}
			a := decode[UserActivityResponse](t, h.get("/v1/users/"+enc+"/activity", tokChat))
			if a.UserID != tt.id || len(a.Sessions) != 1 {
				t.Errorf("GET /v1/users/%s/activity = %q with %d sessions, want %q with 1", enc, a.UserID, len(a.Sessions), tt.id)
			}
			// The session id is "s-" + id: the same escapes, one level down the API.
			s := decode[SessionResponse](t, h.get("/v1/sessions/s-"+enc+"?product_id=prod_demo", tokChat))
			if s.SessionID != "s-"+tt.id || s.UserID == nil || *s.UserID != tt.id {
				t.Errorf("GET /v1/sessions/s-%s = %q user %v, want s-%s of %q", enc, s.SessionID, s.UserID, tt.id, tt.id)
			}
		}
		if rec := h.do(http.MethodDelete, "/v1/users/"+tt.encoded[0], nil, http.Header{"Authorization": {"Bearer " + tokChat}}); rec.Code != http.StatusNoContent {
			t.Fatalf("DELETE /v1/users/%s: %d %s", tt.encoded[0], rec.Code, rec.Body)
		}
		if u := decode[UserResponse](t, h.get("/v1/users/"+url.PathEscape(tt.id), tokChat)); len(u.Sessions) != 0 {
			t.Errorf("after DELETE /v1/users/%s, %q still has %+v", tt.encoded[0], tt.id, u.Sessions)
		}
		if tt.decoy != "" {
			if u := decode[UserResponse](t, h.get("/v1/users/"+url.PathEscape(tt.decoy), tokChat)); len(u.Sessions) != 1 {
				t.Errorf("DELETE /v1/users/%s erased %q, which a second decoding names", tt.encoded[0], tt.decoy)
			}
		}
	}
}

// TestPathErrorsAreJSON: a path id the API refuses is a JSON 400; a
// request target that is not valid HTTP at all (a "%" without two hex
// digits) is refused by Go's HTTP server before any handler, so it is a
// plain 400 and the connection is closed, never routed as something else.
func TestPathErrorsAreJSON(t *testing.T) {
	h := newHarness(t)
	bearer := http.Header{"Authorization": {"Bearer " + tokChat}}
	for _, target := range []string{"/v1/users/%20", "/v1/users/%20%09", "/v1/users/" + strings.Repeat("%41", 300), "/v1/sessions/%20?product_id=prod_demo"} {
		rec := h.do(http.MethodGet, target, nil, bearer)
		if rec.Code != http.StatusBadRequest || decode[map[string]any](t, rec)["error"] != CodeInvalidParameter {
			t.Errorf("GET %s = %d %s, want JSON 400 invalid_parameter", target, rec.Code, rec.Body)
		}
	}

	srv := httptest.NewServer(h.srv.Handler())
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET /v1/users/%ZZ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+tokChat+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(conn)
	if !strings.HasPrefix(string(answer), "HTTP/1.1 400 ") || !strings.Contains(string(answer), "Connection: close") {
		t.Errorf("a malformed request target got %q, want net/http's 400 and a closed connection", answer)
	}
}

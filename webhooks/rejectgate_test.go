package webhooks

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
)

// postFrom posts body to source from the client address ip, signed with
// secret ("" sends it unsigned).
func (h *harness) postFrom(ip, source string, body []byte, secret string) int {
	h.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/"+source, bytes.NewReader(body))
	req.RemoteAddr = ip + ":40000"
	if secret != "" {
		for k, v := range sign(body, secret) {
			req.Header[k] = v
		}
	}
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, req)
	return rec.Code
}

func (h *harness) rejections() []index.Rejection {
	h.t.Helper()
	return decode[struct{ Rejected []index.Rejection }](h.t, h.get("/v1/deliveries/rejected?limit=10000", tokChat)).Rejected
}

// TestRejectedLogResistsFlooding: junk without credentials cannot flush
// the rejected-delivery log. A vendor's rejection stays after thousands of
// junk posts, to unknown source names (kept in a ring of their own) and
// to a real source name (rate-limited per client address, the excess
// counted); an address's allowance comes back with time.
func TestRejectedLogResistsFlooding(t *testing.T) {
	var m *Metrics
	h := newHarness(t, withTestMetrics(&m), func(c *config.Config, d *Deps) {
		c.Rejected.MaxEntries = 50
		d.Rejected = index.NewMemoryRejected(50)
	})
	if code := h.postFrom("203.0.113.7", "autoplay", delivery("vendor"), "rotated-away-secret"); code != http.StatusUnauthorized {
		t.Fatalf("the vendor's badly signed delivery: %d, want 401", code)
	}
	for i := range 2000 {
		h.postFrom("198.51.100.9", "guess-"+string(rune('a'+i%26)), []byte(`{}`), "")
		h.postFrom("198.51.100.9", "autoplay", []byte(`{}`), "")
	}
	got := h.rejections()
	vendor, unknown, junk := 0, 0, 0
	for _, r := range got {
		switch {
		case r.ClientIP == "203.0.113.7":
			vendor++
		case r.Code == CodeUnknownSource:
			unknown++
		default:
			junk++
		}
	}
	if vendor != 1 {
		t.Fatalf("the vendor's rejection was flushed by junk: %d of it left in %d entries", vendor, len(got))
	}
	if unknown == 0 || unknown > unknownRejected {
		t.Errorf("unknown-source entries = %d, want some and at most %d", unknown, unknownRejected)
	}
	if unknown+junk > rejectedBurst {
		t.Errorf("one address added %d entries, want at most its burst of %d", unknown+junk, rejectedBurst)
	}
	if dropped := gatherSamples(t, m)["replayhook_rejected_log_dropped_total"]; dropped != float64(4000-rejectedBurst) {
		t.Errorf("dropped = %v, want %d", dropped, 4000-rejectedBurst)
	}
	// Newest first across both rings.
	for i := 1; i < len(got); i++ {
		if got[i].At.After(got[i-1].At) {
			t.Fatalf("entry %d is newer than entry %d", i, i-1)
		}
	}
	h.clock.Add(rejectedEvery)
	h.postFrom("198.51.100.9", "autoplay", []byte(`{}`), "")
	if n := len(h.rejections()); n != len(got)+1 {
		t.Errorf("after %s the address may add one more: %d entries, want %d", rejectedEvery, n, len(got)+1)
	}
}

// TestSecurityHeaders: every answer, success or error, JSON or page, says
// not to cache it and not to sniff its type.
func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ method, target, token string }{
		{"GET", "/v1/users/u1", tokChat},
		{"GET", "/v1/users/u1", ""},
		{"GET", "/v1/nope", tokChat},
		{"POST", "/v1/users/u1", tokChat},
		{"GET", "/v1/deliveries/rejected", tokScoped},
		{"GET", "/livez", ""},
		{"GET", "/drift", tokChat},
		{"POST", "/webhooks/nope", ""},
	} {
		hdr := http.Header{}
		if tc.token != "" {
			hdr.Set("Authorization", "Bearer "+tc.token)
		}
		rec := h.do(tc.method, tc.target, nil, hdr)
		if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s (%d): Cache-Control %q, X-Content-Type-Options %q", tc.method, tc.target, rec.Code,
				rec.Header().Get("Cache-Control"), rec.Header().Get("X-Content-Type-Options"))
		}
	}
}

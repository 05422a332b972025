package forward

import (
	"net/http"
	"testing"
	"time"
)

// TestClassify: which answers are done, retried (and how long to wait) or
// final.
func TestClassify(t *testing.T) {
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		status             int
		retryAfter         string
		ok, permanent      bool
		wantWait           time.Duration
		wantClass, wantErr string
	}{
		{200, "", true, false, 0, "2xx", ""},
		{204, "", true, false, 0, "2xx", ""},
		{301, "", false, false, 0, "3xx", "HTTP 301: redirect not followed"},
		{400, "", false, true, 0, "4xx", "HTTP 400 Bad Request"},
		{401, "", false, true, 0, "4xx", "HTTP 401 Unauthorized"},
		{408, "", false, false, 0, "4xx", "HTTP 408 Request Timeout"},
		{429, "7", false, false, 7 * time.Second, "4xx", "HTTP 429 Too Many Requests"},
		{429, "Sat, 14 Mar 2026 09:00:30 GMT", false, false, 30 * time.Second, "4xx", "HTTP 429 Too Many Requests"},
		{503, "999999", false, false, time.Hour, "5xx", "HTTP 503 Service Unavailable"},
		{503, "-5", false, false, 0, "5xx", "HTTP 503 Service Unavailable"},
		{500, "soon", false, false, 0, "5xx", "HTTP 500 Internal Server Error"},
		{599, "", false, false, 0, "5xx", "HTTP 599"},
	}
	for _, tt := range tests {
		resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
		if tt.retryAfter != "" {
			resp.Header.Set("Retry-After", tt.retryAfter)
		}
		r := classify(resp, now)
		if r.ok != tt.ok || r.permanent != tt.permanent || r.retryAfter != tt.wantWait || r.class != tt.wantClass || r.err != tt.wantErr {
			t.Errorf("%d %q: %+v", tt.status, tt.retryAfter, r)
		}
	}
}

// FuzzRetryAfter: a receiver's Retry-After never panics and never gives a
// wait outside [0, 1 h].
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "7", "-1", "99999999999999999999", "Sat, 14 Mar 2026 09:00:30 GMT", "1e3", " 5"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if d := retryAfter(v, now); d < 0 || d > maxRetryAfter {
			t.Fatalf("retryAfter(%q) = %s", v, d)
		}
	})
}

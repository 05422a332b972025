package normalize

import (
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestCanonicalURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://shop.example.com/checkout?step=payment", "https://shop.example.com/checkout"},
		{"https://shop.example.com/checkout#top", "https://shop.example.com/checkout"},
		{"HTTPS://Shop.Example.COM/Checkout", "https://shop.example.com/Checkout"},
		{"https://shop.example.com/orders/8123/items", "https://shop.example.com/orders/:id/items"},
		{"https://app.example.com/projects/0d4e8a2c-7b1f-4e9a-a3c5-6d7e8f901b2c", "https://app.example.com/projects/:id"},
		{"https://app.example.com/e/5f2c8e1a9b7d4c3e8a6f0b1d2e3c4a5b", "https://app.example.com/e/:id"},
		{"https://shop.example.com/orders/ord_7F3K2Q/receipt", "https://shop.example.com/orders/:id/receipt"},
		{"https://app.highlight.io/18342/sessions/Lq3vTz9YbH2kXw7RmN4cPd8sJf0a", "https://app.highlight.io/:id/sessions/:id"},
		{"https://example.com/blog/2025-03-14/post", "https://example.com/blog/:id/post"},
		{"https://example.com/api/v2/oauth2/login", "https://example.com/api/v2/oauth2/login"},
		{"https://example.com/static/page-3f9a.js", "https://example.com/static/page-3f9a.js"},
		{"https://user:pw@example.com/x", "https://example.com/x"},
		{"/checkout?step=1", "/checkout"},
		{"", ""},
		{"  https://example.com/a  ", "https://example.com/a"},
		{"not a url %zz", "not a url %zz"},
		{"https://example.com", "https://example.com"},
	}
	for _, tt := range tests {
		if got := CanonicalURL(tt.in); got != tt.want {
			t.Errorf("CanonicalURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIsIDLike(t *testing.T) {
	ids := []string{"8123", "usr_48213", "ord_7F3K2Q", "01959380-9f2b-7c11-8a40-6d2e9b3f1a07", "deadbeefcafe1", "a1b2c3d4e5"}
	words := []string{"checkout", "v2", "oauth2", "step-1", "settings", "page-3f9a.js", "", ":id", "-1", "html5"}
	for _, s := range ids {
		if !IsIDLike(s) {
			t.Errorf("IsIDLike(%q) = false, want true", s)
		}
	}
	for _, s := range words {
		if IsIDLike(s) {
			t.Errorf("IsIDLike(%q) = true, want false", s)
		}
	}
}

func TestDescribe(t *testing.T) {
	u := "https://shop.example.com/checkout?step=payment"
	tests := []struct {
		e           Event
		title, desc string
	}{
		{Event{Kind: "click", Label: "Place order", URL: u}, "Click Place order", "User clicked Place order on /checkout"},
		{Event{Kind: "click", URL: u}, "Click", "User clicked an element on /checkout"},
		{Event{Kind: "submit", Label: "payment-form", URL: u}, "Submit payment-form", "User submitted payment-form on /checkout"},
		{Event{Kind: "type", Label: "Card number"}, "Input Card number", "User typed in Card number"},
		{Event{Kind: "pageview", URL: u}, "Page view: /checkout", "User viewed /checkout"},
		{Event{Kind: "pageview", Label: "Checkout – Acme Shop", URL: u}, "Page view: Checkout – Acme Shop", "User viewed Checkout – Acme Shop (/checkout)"},
		{Event{Kind: "custom", Label: "Checkout Failed", URL: u}, "Checkout Failed", "Checkout Failed on /checkout"},
		{Event{Kind: "error", Label: "TypeError: x", URL: u}, "TypeError: x", "User hit an error: TypeError: x on /checkout"},
		{Event{Kind: "error", Label: "TypeError", Description: "TypeError in submitPayment"}, "TypeError", "TypeError in submitPayment"},
		{Event{Kind: "note", Label: "Customer says\nbutton dead"}, "Note", "Note on the session: Customer says button dead"},
		{Event{Kind: "custom", Label: "日本語のイベント 🎉"}, "日本語のイベント 🎉", "日本語のイベント 🎉"},
	}
	for _, tt := range tests {
		title, desc := Describe(tt.e)
		if title != tt.title || desc != tt.desc {
			t.Errorf("Describe(%+v) = %q / %q, want %q / %q", tt.e, title, desc, tt.title, tt.desc)
		}
	}
}

func TestDescribeBoundsLongLabels(t *testing.T) {
	title, desc := Describe(Event{Kind: "click", Label: strings.Repeat("é", 5000)})
	if n := utf8.RuneCountInString(title); n > maxLabelRunes+10 {
		t.Fatalf("title has %d runes", n)
	}
	if !utf8.ValidString(desc) || len(desc) > 4096 {
		t.Fatalf("desc not bounded: %d bytes", len(desc))
	}
}

func TestPayloadsGroupsBySessionAndProduct(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 45, 0, 0, time.UTC)
	t0 := time.Date(2025, 3, 14, 9, 41, 7, 412e6, time.UTC)
	events := []Event{
		{Kind: "pageview", URL: "https://shop.example.com/checkout?step=1", Time: t0, SessionID: " s1 ", AnonymousID: "anon-1"},
		{Kind: "click", Label: "Place order", URL: "https://shop.example.com/checkout", Time: t0.Add(2 * time.Second), SessionID: "s1", UserID: "usr_48213", Email: "dana@example.com"},
		{Kind: "click", Label: "Other product", SessionID: "s1", ProductID: "p2"},
		{Kind: "custom", Label: "No session"},
	}
	ps := Payloads(events, now)
	if len(ps) != 3 {
		t.Fatalf("got %d payloads, want 3 (s1, p2/s1, session-less)", len(ps))
	}
	p := ps[0]
	if Str(p.SessionID) != "s1" || Str(p.UserID) != "usr_48213" || Str(p.Email) != "dana@example.com" || p.AnonymousID != "anon-1" {
		t.Fatalf("identity: %+v", p)
	}
	if p.Type != "actions" || p.Count != 2 || p.ForwardedAt != UnixSeconds(now) {
		t.Fatalf("header: %+v", p)
	}
	a0, a1 := p.Actions[0], p.Actions[1]
	if a0.Index != 0 || a1.Index != 1 {
		t.Fatalf("indexes %d %d", a0.Index, a1.Index)
	}
	if a0.TimestampStart != UnixSeconds(t0) || a0.TimestampEnd != a1.TimestampStart || a1.TimestampEnd != a1.TimestampStart {
		t.Fatalf("timestamps: %v %v / %v %v", a0.TimestampStart, a0.TimestampEnd, a1.TimestampStart, a1.TimestampEnd)
	}
	if a0.CanonicalURL != "https://shop.example.com/checkout" || a0.RawURL != "https://shop.example.com/checkout?step=1" {
		t.Fatalf("urls: %+v", a0)
	}
	if Str(a0.UserID) != "usr_48213" {
		t.Fatalf("actions carry the payload identity, got %v", a0.UserID)
	}
	if ps[1].ProductID != "p2" || ps[1].Actions[0].TimestampStart != UnixSeconds(now) {
		t.Fatalf("second group: %+v", ps[1])
	}
	if ps[2].SessionID != nil {
		t.Fatalf("session-less payload got session %v", *ps[2].SessionID)
	}
}

func FuzzCanonicalURL(f *testing.F) {
	for _, s := range []string{"https://shop.example.com/orders/8123?x=1", "/a/b#c", "%", "http://[::1]:80/x", "https://u:p@h/ä/123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := CanonicalURL(s)
		if strings.ContainsAny(c, "?#") && !strings.ContainsAny(s, "?#") {
			t.Fatalf("query or fragment appeared: %q → %q", s, c)
		}
		if u, err := url.Parse(c); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && CanonicalURL(c) != c {
			// Canonicalizing a real web URL twice must be stable.
			t.Fatalf("not idempotent: %q → %q → %q", s, c, CanonicalURL(c))
		}
	})
}

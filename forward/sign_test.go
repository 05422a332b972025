package forward

import (
	"strings"
	"testing"
)

// TestVerifyIsTheSDKCheck ports the Autoplay SDK's WebhookReceiver.verify
// cases: what it accepts and refuses, so our receiver (and so our
// signatures) match it exactly.
func TestVerifyIsTheSDKCheck(t *testing.T) {
	body := []byte(`{"type":"actions","product_id":"p","session_id":"s","actions":[]}`)
	good := Sign("s3cret", body)
	hexOnly := strings.TrimPrefix(good, "sha256=")
	tests := []struct {
		name, secret, header string
		want                 bool
	}{
		{"valid signature", "s3cret", good, true},
		{"wrong secret", "other", good, false},
		{"missing header", "s3cret", "", false},
		{"no sha256= prefix", "s3cret", hexOnly, false},
		{"other prefix", "s3cret", "sha1=" + hexOnly, false},
		{"upper-case hex", "s3cret", "sha256=" + strings.ToUpper(hexOnly), false},
		{"upper-case prefix", "s3cret", "SHA256=" + hexOnly, false},
		{"leading space", "s3cret", " " + good, false},
		{"trailing space", "s3cret", good + " ", false},
		{"truncated digest", "s3cret", good[:len(good)-2], false},
		{"tampered body's digest", "s3cret", Sign("s3cret", append(body, ' ')), false},
		{"no secret configured accepts anything (SDK development mode)", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(tt.secret, body, tt.header); got != tt.want {
				t.Fatalf("Verify(%q, body, %q) = %v, want %v", tt.secret, tt.header, got, tt.want)
			}
		})
	}
}

// The signature is over the exact bytes, keyed with the secret's UTF-8.
func TestSignIsLowercaseHexHMACSHA256(t *testing.T) {
	// HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), RFC 4231 style vector.
	got := Sign("key", []byte("The quick brown fox jumps over the lazy dog"))
	want := "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

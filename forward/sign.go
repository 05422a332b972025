package forward

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// The headers of a forwarded payload.
const (
	// SignatureHeader carries "sha256=<lowercase hex HMAC-SHA256 of the
	// body>", keyed with the target's secret: what the Autoplay SDK's
	// WebhookReceiver checks.
	SignatureHeader = "X-Connector-Signature"
	// DeliveryHeader is the payload's delivery id for this target, the same
	// on every attempt, so receivers can drop repeats.
	DeliveryHeader = "X-Replayhook-Delivery"
	// AttemptHeader is the attempt number, from 1.
	AttemptHeader = "X-Replayhook-Attempt"
)

const signaturePrefix = "sha256="

// Sign is the X-Connector-Signature value for body under secret (its
// UTF-8 bytes), lowercase hex as the SDK expects.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// Verify is the Autoplay SDK's WebhookReceiver.verify, line for line, for
// receivers written in Go (the tests' receiver, the load tool's, and
// forward-test's self-check): an empty secret accepts everything (the
// SDK's development mode); otherwise the header must start with "sha256="
// and the rest must equal the lowercase hex digest exactly (no trimming, no
// case folding), compared in constant time.
func Verify(secret string, body []byte, header string) bool {
	if secret == "" {
		return true
	}
	if header == "" || !strings.HasPrefix(header, signaturePrefix) {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	expected := hex.EncodeToString(mac.Sum(nil))
	received := strings.TrimPrefix(header, signaturePrefix)
	return subtle.ConstantTimeCompare([]byte(expected), []byte(received)) == 1
}

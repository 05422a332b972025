package providers

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"hash"
	"net/http"
	"strings"
)

// HMACSHA256 returns HMAC-SHA256(key, parts...).
func HMACSHA256(key []byte, parts ...[]byte) []byte { return mac(sha256.New, key, parts) }

// HMACSHA1 returns HMAC-SHA1(key, parts...).
func HMACSHA1(key []byte, parts ...[]byte) []byte { return mac(sha1.New, key, parts) }

func mac(h func() hash.Hash, key []byte, parts [][]byte) []byte {
	m := hmac.New(h, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// EqualHex reports, in constant time, whether the hex text got (any case)
// encodes want. Malformed hex is simply unequal.
func EqualHex(got string, want []byte) bool {
	b, err := hex.DecodeString(strings.TrimSpace(got))
	if err != nil {
		return false
	}
	return hmac.Equal(b, want)
}

// EqualSecret compares two secrets in constant time. Both are hashed first so
// that neither the length nor a prefix of the secret leaks through timing.
func EqualSecret(got, want string) bool {
	g := sha256.Sum256([]byte(got))
	w := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// BearerToken returns the token of an "Authorization: Bearer <token>" header.
func BearerToken(h http.Header) (string, bool) {
	v := h.Get("Authorization")
	if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
		return "", false
	}
	return strings.TrimSpace(v[7:]), true
}

// StaticSecret checks a static shared secret for vendors that do not sign.
// header "" (or "Authorization") means "Authorization: Bearer <secret>";
// any other name carries the plain secret. Every configured secret is tried
// (rotation), in constant time each.
func StaticSecret(h http.Header, header string, secrets []string) error {
	var got string
	var ok bool
	if header == "" || strings.EqualFold(header, "Authorization") {
		got, ok = BearerToken(h)
		header = "Authorization: Bearer"
	} else {
		got = strings.TrimSpace(h.Get(header))
		ok = got != ""
	}
	if !ok {
		return Reject(ErrInvalidSignature, "missing %s secret", header)
	}
	match := false
	for _, s := range secrets {
		if EqualSecret(got, s) {
			match = true
		}
	}
	if !match {
		return Reject(ErrInvalidSignature, "%s secret does not match", header)
	}
	return nil
}

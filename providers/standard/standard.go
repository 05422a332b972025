package standard

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/replayhook/replayhook/providers"
)

// Name is the provider name used in config.
const Name = "standard"

// Header names of the Standard Webhooks scheme. Svix (not white-labelled)
// sends the same values under SvixIDHeader, SvixTimestampHeader and
// SvixSignatureHeader.
const (
	IDHeader        = "webhook-id"
	TimestampHeader = "webhook-timestamp"
	SignatureHeader = "webhook-signature"

	SvixIDHeader        = "svix-id"
	SvixTimestampHeader = "svix-timestamp"
	SvixSignatureHeader = "svix-signature"
)

// SecretPrefix marks a secret whose remainder is the base64 of the key, as
// Svix and the Standard Webhooks libraries print it.
const SecretPrefix = "whsec_"

// Provider verifies and parses Standard Webhooks / Svix deliveries.
type Provider struct{ *providers.Auth }

// Scheme is the Standard Webhooks signature under one set of header names:
// the signature header is a space-separated list of "<version>,<base64
// signature>" entries (several header lines read as one list) and the
// request is authentic if any "v1" entry equals base64(HMAC-SHA256(key, id
// + "." + timestamp + "." + body)); other versions (such as "v1a",
// asymmetric) are skipped. id and timestamp are signed as received. Only
// after a signature matches is the timestamp checked against the tolerance.
// Sign makes the id "msg_" + the first 12 bytes of SHA-256(body) in hex, so
// a re-sent body keeps its id, as a sender's retry does.
func Scheme(id, timestamp, signature string, tolerance time.Duration) providers.HMACOptions {
	return providers.HMACOptions{
		Header:    signature,
		Encoding:  providers.Base64,
		Prefix:    "v1,",
		Separator: " ",
		Message:   "{header:" + id + "}.{header:" + timestamp + "}.{body}",
		Timestamp: "header:" + timestamp,
		Tolerance: tolerance,
		Key:       Key,
		SignValues: func(body []byte, _ time.Time) map[string]string {
			sum := sha256.Sum256(body)
			return map[string]string{"header:" + id: "msg_" + hex.EncodeToString(sum[:12])}
		},
	}
}

// New builds the provider: the webhook-* headers when any of them is
// present, else Svix's svix-* names. Every secret must give a non-empty key
// (see Key); a source with no secret does not start unless it is explicitly
// unsigned. A Tolerance of zero or less means providers.DefaultTolerance.
func New(s providers.Settings) (providers.Provider, error) {
	return providers.Build(s, providers.AuthSpec{
		Vendor: Name, NoSecret: "Standard Webhooks senders sign every delivery; configure the endpoint's signing secret (whsec_...)",
	}, func(secrets []string) (providers.Scheme, error) {
		std, err := providers.NewHMAC(Scheme(IDHeader, TimestampHeader, SignatureHeader, s.Tolerance), secrets)
		if err != nil {
			return nil, fmt.Errorf("standard: %w", err)
		}
		svix, err := providers.NewHMAC(Scheme(SvixIDHeader, SvixTimestampHeader, SvixSignatureHeader, s.Tolerance), secrets)
		if err != nil {
			return nil, fmt.Errorf("standard: %w", err)
		}
		return providers.FirstPresent(std, svix), nil
	}, func(auth *providers.Auth) *Provider { return &Provider{auth} })
}

// IdentifyFix says how Standard Webhooks payloads come to carry a user id.
func (p *Provider) IdentifyFix() string {
	return "Standard Webhooks sender: put the user id the chat layer asks with in `user_id` of every payload, as soon as the user logs in."
}

// Key returns the HMAC key of a configured secret:
//   - "whsec_<base64>": the base64-decoded remainder (standard alphabet,
//     padded or not); anything else after the prefix is an error;
//   - no prefix and valid base64: the decoded bytes (what the Svix and
//     Standard Webhooks libraries do with a bare secret);
//   - no prefix and not base64: the secret's raw bytes.
//
// A secret that gives an empty key is an error. Error messages never
// contain the secret.
func Key(secret string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(secret, SecretPrefix); ok {
		k, ok := decodeBase64(rest)
		if !ok {
			return nil, errors.New(`the part after "whsec_" is not valid base64`)
		}
		if len(k) == 0 {
			return nil, errors.New(`nothing follows "whsec_"`)
		}
		return k, nil
	}
	if secret == "" {
		return nil, errors.New("empty secret")
	}
	if k, ok := decodeBase64(secret); ok && len(k) > 0 {
		return k, nil
	}
	return []byte(secret), nil
}

func decodeBase64(s string) ([]byte, bool) {
	if k, err := base64.StdEncoding.DecodeString(s); err == nil {
		return k, true
	}
	if k, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return k, true
	}
	return nil, false
}

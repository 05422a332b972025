package standard

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
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

// DefaultTolerance is the accepted |now - webhook-timestamp| when the source
// sets none: the specification's five minutes.
const DefaultTolerance = 5 * time.Minute

// maxHeaderBytes bounds each signing header (webhook-signature after joining
// repeated header lines). Real values are well under 200 bytes; 4 KiB leaves
// room for many rotated signatures.
const maxHeaderBytes = 4096

// Provider verifies and parses Standard Webhooks / Svix deliveries.
type Provider struct {
	keys      [][]byte
	tolerance time.Duration
	unsigned  bool
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Signer   = (*Provider)(nil)
)

// New builds the provider. Every secret must give a non-empty key (see Key);
// a source with no secret does not start unless it is explicitly unsigned.
// A Tolerance of zero or less means DefaultTolerance.
func New(s providers.Settings) (providers.Provider, error) {
	if len(s.Secrets) == 0 && !s.Unsigned {
		return nil, errors.New("standard: Standard Webhooks senders sign every delivery; configure the endpoint's signing secret (whsec_...)")
	}
	p := &Provider{tolerance: s.Tolerance, unsigned: s.Unsigned}
	if p.tolerance <= 0 {
		p.tolerance = DefaultTolerance
	}
	for i, sec := range s.Secrets {
		k, err := Key(sec)
		if err != nil {
			// The message names the secret's position, never its value.
			return nil, fmt.Errorf("standard: secret #%d: %w", i+1, err)
		}
		p.keys = append(p.keys, k)
	}
	return p, nil
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

// signing holds the three signing headers of one request, from the
// webhook-* set when any of its headers is present, else from svix-*,
// exactly as received: they are signed content.
type signing struct {
	id, timestamp, signature string
	names                    [3]string
}

func signingHeaders(h http.Header) signing {
	names := [3]string{IDHeader, TimestampHeader, SignatureHeader}
	if h.Get(IDHeader) == "" && h.Get(TimestampHeader) == "" && h.Get(SignatureHeader) == "" {
		names = [3]string{SvixIDHeader, SvixTimestampHeader, SvixSignatureHeader}
	}
	return signing{
		id:        h.Get(names[0]),
		timestamp: h.Get(names[1]),
		// Several header lines are read as one space-separated list.
		signature: strings.Join(h.Values(names[2]), " "),
		names:     names,
	}
}

// Verify checks webhook-signature (or svix-signature) against every
// configured key: the header is a space-separated list of "<version>,<base64
// signature>" entries and the request is authentic if any "v1" entry equals
// base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)); other versions
// (such as "v1a", asymmetric) are skipped. id and timestamp are signed as
// received (net/http has removed the spaces and tabs around header values;
// anything else around them is part of the value, so a timestamp with it
// is malformed). Only after a signature matches is
// the timestamp checked: |now - timestamp| beyond the tolerance, in either
// direction, is ErrStaleTimestamp. Missing, oversized or malformed headers
// are ErrInvalidSignature.
func (p *Provider) Verify(req *providers.Request) error {
	if p.unsigned {
		return nil
	}
	s := signingHeaders(req.Header)
	for i, v := range []string{s.id, s.timestamp, s.signature} {
		if strings.TrimSpace(v) == "" {
			return providers.Reject(providers.ErrInvalidSignature, "missing %s header", s.names[i])
		}
		if len(v) > maxHeaderBytes {
			return providers.Reject(providers.ErrInvalidSignature, "%s header is longer than %d bytes", s.names[i], maxHeaderBytes)
		}
	}
	ts, ok := parseUnixSeconds(s.timestamp)
	if !ok {
		return providers.Reject(providers.ErrInvalidSignature, "%s must be unix seconds", s.names[1])
	}
	var given [][]byte
	for _, entry := range strings.Fields(s.signature) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		// Strict: only the canonical encoding of a MAC is that MAC (a
		// lenient decoder also takes other final characters for it).
		if b, err := base64.StdEncoding.Strict().DecodeString(sig); err == nil && len(b) == sha256.Size {
			given = append(given, b)
		}
	}
	if len(given) == 0 {
		return providers.Reject(providers.ErrInvalidSignature, "%s holds no v1,<base64 HMAC-SHA256> entry", s.names[2])
	}
	match := false
	for _, key := range p.keys {
		want := mac(key, s.id, s.timestamp, req.Body)
		for _, g := range given {
			if hmac.Equal(g, want) {
				match = true
			}
		}
	}
	if !match {
		return providers.Reject(providers.ErrInvalidSignature, "no %s entry matches the body", s.names[2])
	}
	now := req.Now.Unix()
	tol := int64(p.tolerance / time.Second)
	if ts < now-tol || ts > now+tol {
		return providers.Reject(providers.ErrStaleTimestamp, "%s is more than %d seconds from the server clock", s.names[1], tol)
	}
	return nil
}

// parseUnixSeconds accepts only decimal digits (no sign, no fraction) that
// fit an int64.
func parseUnixSeconds(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

func mac(key []byte, id, ts string, body []byte) []byte {
	return providers.HMACSHA256(key, []byte(id), []byte("."), []byte(ts), []byte("."), body)
}

// Sign produces the headers a Standard Webhooks sender would send for body:
// webhook-id "msg_" + the first 12 bytes of SHA-256(body) in hex (so a
// re-sent body keeps its id, as a sender's retry does), webhook-timestamp
// now in unix seconds, and webhook-signature "v1,<base64 signature>" with
// the key that Key derives from secret (raw bytes if Key rejects it).
func (p *Provider) Sign(body []byte, secret string, now time.Time) http.Header {
	key, err := Key(secret)
	if err != nil {
		key = []byte(secret)
	}
	sum := sha256.Sum256(body)
	id := "msg_" + hex.EncodeToString(sum[:12])
	ts := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(IDHeader, id)
	h.Set(TimestampHeader, ts)
	h.Set(SignatureHeader, "v1,"+base64.StdEncoding.EncodeToString(mac(key, id, ts, body)))
	return h
}

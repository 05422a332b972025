package fullstory

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/replayhook/replayhook/providers"
)

// Name is the provider name used in config.
const Name = "fullstory"

// SignatureHeader carries the v1 webhook signature:
// "o:<org id>,t:<unix seconds>,v:<base64 HMAC-SHA256(secret, body+":"+org+":"+t)>".
const SignatureHeader = "Fullstory-Signature"

// SignOrg is the organisation id Sign puts in the signature header. FullStory
// signs with the customer's org id; Verify accepts any org, because the org
// is covered by the signature and the secret is what binds a source.
const SignOrg = "o-1A2B3C-na1"

// DefaultTolerance bounds |now − signed timestamp| when the source sets no
// tolerance.
const DefaultTolerance = 5 * time.Minute

// maxHeaderBytes bounds the signature header we are willing to parse.
const maxHeaderBytes = 4096

// Provider verifies and parses FullStory deliveries (v1 webhooks and
// Streams) for one source.
type Provider struct {
	secrets      [][]byte
	plain        []string
	secretHeader string
	tolerance    time.Duration
	unsigned     bool
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Signer   = (*Provider)(nil)
)

// New builds the provider. FullStory signs v1 webhooks and Streams send a
// bearer token, so a source with no secret does not start unless it is
// explicitly unsigned. A Tolerance of zero or less means DefaultTolerance.
func New(s providers.Settings) (providers.Provider, error) {
	if len(s.Secrets) == 0 && !s.Unsigned {
		return nil, errors.New("fullstory: source of a signing vendor with no secret configured does not start; set the webhook signing secret (v1) or the Streams bearer token")
	}
	p := &Provider{secretHeader: s.SecretHeader, tolerance: s.Tolerance, unsigned: s.Unsigned}
	if p.tolerance <= 0 {
		p.tolerance = DefaultTolerance
	}
	for _, sec := range s.Secrets {
		p.secrets = append(p.secrets, []byte(sec))
		p.plain = append(p.plain, sec)
	}
	return p, nil
}

// Verify authenticates a delivery. When a Fullstory-Signature header is
// present (even empty) the v1 HMAC scheme is required: the signature must
// match one of the source's secrets and its timestamp must lie within the
// tolerance of req.Now in either direction (ErrStaleTimestamp otherwise).
// Without that header the delivery must carry the static secret of a
// Streams destination (Authorization: Bearer <secret>, or the source's
// SecretHeader). Every secret is tried, each compared in constant time.
func (p *Provider) Verify(req *providers.Request) error {
	if p.unsigned {
		return nil
	}
	if vals := req.Header.Values(SignatureHeader); len(vals) > 0 {
		if len(vals) > 1 {
			return providers.Reject(providers.ErrInvalidSignature, "more than one %s header", SignatureHeader)
		}
		return p.verifySignature(vals[0], req)
	}
	header := p.secretHeader
	if header == "" {
		header = "Authorization"
	}
	for _, v := range req.Header.Values(header) {
		if len(v) > maxHeaderBytes {
			return providers.Reject(providers.ErrInvalidSignature, "%s header is too long", header)
		}
	}
	return providers.StaticSecret(req.Header, p.secretHeader, p.plain)
}

// signature is a parsed Fullstory-Signature header.
type signature struct {
	org  string
	ts   string // the timestamp text exactly as signed
	unix int64
	macs [][]byte
}

func parseSignature(v string) (signature, error) {
	bad := func(reason string) (signature, error) {
		return signature{}, providers.Reject(providers.ErrInvalidSignature, "%s %s", SignatureHeader, reason)
	}
	if len(v) > maxHeaderBytes {
		return bad("is too long")
	}
	var sig signature
	var haveOrg, haveTS, haveV bool
	for _, part := range strings.Split(v, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return bad("must be o:<org>,t:<unix seconds>,v:<base64 signature>")
		}
		switch key {
		case "o":
			if haveOrg || val == "" {
				return bad("needs exactly one non-empty o:<org>")
			}
			sig.org, haveOrg = val, true
		case "t":
			if haveTS || !allDigits(val) || len(val) > 18 {
				return bad("needs exactly one t:<unix seconds>")
			}
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return bad("needs exactly one t:<unix seconds>")
			}
			sig.ts, sig.unix, haveTS = val, n, true
		case "v":
			haveV = true
			// Strict: only the canonical encoding of a MAC is that MAC.
			if mac, err := base64.StdEncoding.Strict().DecodeString(val); err == nil && len(mac) == 32 {
				sig.macs = append(sig.macs, mac)
			} else if mac, err := base64.RawStdEncoding.Strict().DecodeString(val); err == nil && len(mac) == 32 {
				sig.macs = append(sig.macs, mac)
			}
		default:
			// Unknown keys are tolerated so that a future field does not
			// break verification; they are not covered by our check.
		}
	}
	if !haveOrg || !haveTS || !haveV {
		return bad("must contain o:, t: and v:")
	}
	if len(sig.macs) == 0 {
		return bad("v: must be a base64 HMAC-SHA256")
	}
	return sig, nil
}

func (p *Provider) verifySignature(header string, req *providers.Request) error {
	sig, err := parseSignature(header)
	if err != nil {
		return err
	}
	suffix := []byte(":" + sig.org + ":" + sig.ts)
	match := false
	for _, secret := range p.secrets {
		want := providers.HMACSHA256(secret, req.Body, suffix)
		for _, got := range sig.macs {
			if hmac.Equal(got, want) {
				match = true
			}
		}
	}
	if !match {
		return providers.Reject(providers.ErrInvalidSignature, "%s does not match the body", SignatureHeader)
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	// The signature is checked first, so "stale" always means an authentic
	// delivery that arrived too late (or a clock out of step), never a forgery.
	if d := now.Sub(time.Unix(sig.unix, 0)); d > p.tolerance || d < -p.tolerance {
		return providers.Reject(providers.ErrStaleTimestamp, "signed timestamp %s is more than %s away from the server clock", sig.ts, p.tolerance)
	}
	return nil
}

// Sign produces the headers FullStory would send for body: a v1 signature
// (org SignOrg, timestamp now) when the body is a v1 webhook (a JSON object
// with an "eventName" key), otherwise the Streams destination's static
// secret (Authorization: Bearer <secret>, or the source's SecretHeader).
func (p *Provider) Sign(body []byte, secret string, now time.Time) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if isV1(body) {
		ts := strconv.FormatInt(now.Unix(), 10)
		mac := providers.HMACSHA256([]byte(secret), body, []byte(":"+SignOrg+":"+ts))
		h.Set(SignatureHeader, "o:"+SignOrg+",t:"+ts+",v:"+base64.StdEncoding.EncodeToString(mac))
		return h
	}
	if p.secretHeader == "" || strings.EqualFold(p.secretHeader, "Authorization") {
		h.Set("Authorization", "Bearer "+secret)
	} else {
		h.Set(p.secretHeader, secret)
	}
	return h
}

// isV1 reports whether body is a JSON object with a top-level "eventName".
func isV1(body []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return false
	}
	_, ok := top["eventName"]
	return ok
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

package providers

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

var kitNow = time.Date(2025, 3, 14, 9, 36, 18, 0, time.UTC)

func sum(h func() hash.Hash, key string, parts ...string) []byte {
	m := hmac.New(h, []byte(key))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// TestHMAC is the verifier's contract, one option at a time, each case a
// request signed independently of the code under test.
func TestHMAC(t *testing.T) {
	const body = `{"event":"x"}`
	ts := "1741944978"
	b64 := base64.StdEncoding.EncodeToString
	stripe := &Fields{Separator: ",", KeyValue: "=", Signature: "v1", Required: []string{"t"}}
	fullstory := &Fields{Separator: ",", KeyValue: ":", Signature: "v", Required: []string{"o", "t"}}
	fsOpts := HMACOptions{Header: "X-Sig", Fields: fullstory, Encoding: Base64, Message: "{body}:{field:o}:{field:t}", Timestamp: "field:t",
		SignValues: func([]byte, time.Time) map[string]string { return map[string]string{"field:o": "o-1"} }}
	tests := []struct {
		name   string
		opts   HMACOptions
		header http.Header
		want   error
	}{
		{"hex sha256 of the body", HMACOptions{Header: "X-Sig"}, hdr("X-Sig", hex.EncodeToString(sum(sha256.New, "s1", body))), nil},
		{"second secret (rotation)", HMACOptions{Header: "X-Sig"}, hdr("X-Sig", hex.EncodeToString(sum(sha256.New, "s2", body))), nil},
		{"upper-case hex", HMACOptions{Header: "X-Sig"}, hdr("X-Sig", strings.ToUpper(hex.EncodeToString(sum(sha256.New, "s1", body)))), nil},
		{"wrong secret", HMACOptions{Header: "X-Sig"}, hdr("X-Sig", hex.EncodeToString(sum(sha256.New, "s3", body))), ErrInvalidSignature},
		{"sha1", HMACOptions{Header: "X-Sig", Hashes: []Hash{SHA1}}, hdr("X-Sig", hex.EncodeToString(sum(sha1.New, "s1", body))), nil},
		{"sha512 base64", HMACOptions{Header: "X-Sig", Hashes: []Hash{SHA512}, Encoding: Base64}, hdr("X-Sig", b64(sum(sha512.New, "s1", body))), nil},
		{"sha1 or sha256 by length: sha256", HMACOptions{Header: "X-Sig", Hashes: []Hash{SHA1, SHA256}}, hdr("X-Sig", hex.EncodeToString(sum(sha256.New, "s1", body))), nil},
		{"a sha1 where only sha256 is accepted", HMACOptions{Header: "X-Sig"}, hdr("X-Sig", hex.EncodeToString(sum(sha1.New, "s1", body))), ErrInvalidSignature},
		{"base64 unpadded", HMACOptions{Header: "X-Sig", Encoding: Base64}, hdr("X-Sig", strings.TrimRight(b64(sum(sha256.New, "s1", body)), "=")), nil},
		{"hex where base64 is expected", HMACOptions{Header: "X-Sig", Encoding: Base64}, hdr("X-Sig", hex.EncodeToString(sum(sha256.New, "s1", body))), ErrInvalidSignature},
		{"prefix", HMACOptions{Header: "X-Sig", Prefix: "sha256="}, hdr("X-Sig", "sha256="+hex.EncodeToString(sum(sha256.New, "s1", body))), nil},
		{"prefix missing", HMACOptions{Header: "X-Sig", Prefix: "sha256="}, hdr("X-Sig", hex.EncodeToString(sum(sha256.New, "s1", body))), ErrInvalidSignature},
		{"prefix in another case", HMACOptions{Header: "X-Sig", Prefix: "sha256="}, hdr("X-Sig", "SHA256="+hex.EncodeToString(sum(sha256.New, "s1", body))), ErrInvalidSignature},
		{"prefix in any case when allowed", HMACOptions{Header: "X-Sig", Prefix: "sha256=", AnyCasePrefix: true}, hdr("X-Sig", "SHA256="+hex.EncodeToString(sum(sha256.New, "s1", body))), nil},
		{"several signatures, one good", HMACOptions{Header: "X-Sig", Prefix: "v1,", Separator: " ", Encoding: Base64},
			hdr("X-Sig", "v1,"+b64(sum(sha256.New, "old", body))+" v2,abc v1,"+b64(sum(sha256.New, "s2", body))), nil},
		{"several header lines read as one list", HMACOptions{Header: "X-Sig", Prefix: "v1,", Separator: " ", Encoding: Base64},
			hdr("X-Sig", "v1,"+b64(sum(sha256.New, "old", body)), "X-Sig", "v1,"+b64(sum(sha256.New, "s1", body))), nil},
		{"other versions only", HMACOptions{Header: "X-Sig", Prefix: "v1,", Separator: " ", Encoding: Base64},
			hdr("X-Sig", "v1a,"+b64(sum(sha256.New, "s1", body))), ErrInvalidSignature},
		{"one signature per header: two lines refused", HMACOptions{Header: "X-Sig"},
			hdr("X-Sig", hex.EncodeToString(sum(sha256.New, "s1", body)), "X-Sig", hex.EncodeToString(sum(sha256.New, "s1", body))), ErrInvalidSignature},
		{"over 4 KiB", HMACOptions{Header: "X-Sig"}, hdr("X-Sig", hex.EncodeToString(sum(sha256.New, "s1", body))+strings.Repeat(" ", MaxHeaderBytes)), ErrInvalidSignature},
		{"empty", HMACOptions{Header: "X-Sig"}, hdr("X-Sig", ""), ErrInvalidSignature},
		{"missing", HMACOptions{Header: "X-Sig"}, hdr(), ErrInvalidSignature},
		{"timestamp header signed with the body", HMACOptions{Header: "X-Sig", Message: "{header:X-Ts}.{body}", Timestamp: "header:X-Ts"},
			hdr("X-Ts", ts, "X-Sig", hex.EncodeToString(sum(sha256.New, "s1", ts, ".", body))), nil},
		{"timestamp changed", HMACOptions{Header: "X-Sig", Message: "{header:X-Ts}.{body}", Timestamp: "header:X-Ts"},
			hdr("X-Ts", "1741944979", "X-Sig", hex.EncodeToString(sum(sha256.New, "s1", ts, ".", body))), ErrInvalidSignature},
		{"timestamp not digits", HMACOptions{Header: "X-Sig", Message: "{header:X-Ts}.{body}", Timestamp: "header:X-Ts"},
			hdr("X-Ts", "-5", "X-Sig", hex.EncodeToString(sum(sha256.New, "s1", "-5", ".", body))), ErrInvalidSignature},
		{"timestamp header missing", HMACOptions{Header: "X-Sig", Message: "{header:X-Ts}.{body}", Timestamp: "header:X-Ts"},
			hdr("X-Sig", hex.EncodeToString(sum(sha256.New, "s1", ".", body))), ErrInvalidSignature},
		{"signed but stale", HMACOptions{Header: "X-Sig", Message: "{header:X-Ts}.{body}", Timestamp: "header:X-Ts", Tolerance: time.Minute},
			hdr("X-Ts", "1741944900", "X-Sig", hex.EncodeToString(sum(sha256.New, "s1", "1741944900", ".", body))), ErrStaleTimestamp},
		{"signed, in the future beyond tolerance", HMACOptions{Header: "X-Sig", Message: "{header:X-Ts}.{body}", Timestamp: "header:X-Ts", Tolerance: time.Minute},
			hdr("X-Ts", "1741945100", "X-Sig", hex.EncodeToString(sum(sha256.New, "s1", "1741945100", ".", body))), ErrStaleTimestamp},
		{"stale but forged is a bad signature", HMACOptions{Header: "X-Sig", Message: "{header:X-Ts}.{body}", Timestamp: "header:X-Ts", Tolerance: time.Minute},
			hdr("X-Ts", "1741944900", "X-Sig", hex.EncodeToString(sum(sha256.New, "s3", "1741944900", ".", body))), ErrInvalidSignature},
		{"stripe-style fields", HMACOptions{Header: "X-Sig", Fields: stripe, Message: "{field:t}.{body}", Timestamp: "field:t"},
			hdr("X-Sig", "t="+ts+",v1="+hex.EncodeToString(sum(sha256.New, "s1", ts, ".", body))), nil},
		{"fields: several signatures", HMACOptions{Header: "X-Sig", Fields: stripe, Message: "{field:t}.{body}", Timestamp: "field:t"},
			hdr("X-Sig", "t="+ts+",v1=00,v1="+hex.EncodeToString(sum(sha256.New, "s2", ts, ".", body))), nil},
		{"fields: a required one twice", HMACOptions{Header: "X-Sig", Fields: stripe, Message: "{field:t}.{body}", Timestamp: "field:t"},
			hdr("X-Sig", "t="+ts+",t="+ts+",v1="+hex.EncodeToString(sum(sha256.New, "s1", ts, ".", body))), ErrInvalidSignature},
		{"fullstory-style fields in any order", fsOpts,
			hdr("X-Sig", "v:"+b64(sum(sha256.New, "s1", body, ":o-1:", ts))+", t:"+ts+",o:o-1,x:future"), nil},
		{"fields: signed field changed", fsOpts,
			hdr("X-Sig", "o:o-2,t:"+ts+",v:"+b64(sum(sha256.New, "s1", body, ":o-1:", ts))), ErrInvalidSignature},
		{"fields: no signature", fsOpts,
			hdr("X-Sig", "o:o-1,t:"+ts), ErrInvalidSignature},
		{"key derivation", HMACOptions{Header: "X-Sig", Key: func(s string) ([]byte, error) { return []byte("derived-" + s), nil }},
			hdr("X-Sig", hex.EncodeToString(sum(sha256.New, "derived-s1", body))), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewHMAC(tt.opts, []string{"s1", "s2"})
			if err != nil {
				t.Fatal(err)
			}
			err = m.Verify(&Request{Header: tt.header, Body: []byte(body), Now: kitNow})
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if err != nil && (strings.Contains(err.Error(), "s1") || strings.Contains(err.Error(), "s2")) {
				t.Fatalf("reason leaks a secret: %v", err)
			}
			// Whatever the options, Sign makes what Verify accepts, with
			// either secret, and only for that body.
			for _, secret := range []string{"s1", "s2"} {
				h := http.Header{}
				m.Sign(h, []byte(body), secret, kitNow)
				if err := m.Verify(&Request{Header: h, Body: []byte(body), Now: kitNow}); err != nil {
					t.Fatalf("Sign(%s) = %v, not accepted: %v", secret, h, err)
				}
				if err := m.Verify(&Request{Header: h, Body: []byte(body + " "), Now: kitNow}); !errors.Is(err, ErrInvalidSignature) {
					t.Fatalf("signature of another body accepted: %v", err)
				}
			}
		})
	}
}

func TestNewHMACRefusesBadOptions(t *testing.T) {
	for name, opts := range map[string]HMACOptions{
		"no header":        {},
		"unknown hash":     {Header: "X", Hashes: []Hash{"md5"}},
		"unknown encoding": {Header: "X", Encoding: "base32"},
		"bad placeholder":  {Header: "X", Message: "{nope}.{body}"},
		"unclosed":         {Header: "X", Message: "{body"},
		"bad timestamp":    {Header: "X", Timestamp: "ts"},
		"key error":        {Header: "X", Key: func(string) ([]byte, error) { return nil, errors.New("bad key") }},
	} {
		if _, err := NewHMAC(opts, []string{"secret-value"}); err == nil || strings.Contains(err.Error(), "secret-value") {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

func TestToken(t *testing.T) {
	bearer, plain := NewToken("", []string{"s1", "s2"}), NewToken("X-Token", []string{"s1"})
	long := strings.Repeat("s", MaxHeaderBytes+1)
	tests := []struct {
		name   string
		s      *Token
		header http.Header
		want   error
	}{
		{"bearer", bearer, hdr("Authorization", "Bearer s2"), nil},
		{"bearer, any case, spaces", bearer, hdr("Authorization", "  bearer   s1 "), nil},
		{"bearer, wrong", bearer, hdr("Authorization", "Bearer s3"), ErrInvalidSignature},
		{"bearer, a prefix of the secret", bearer, hdr("Authorization", "Bearer s"), ErrInvalidSignature},
		{"not bearer", bearer, hdr("Authorization", "s1"), ErrInvalidSignature},
		{"plain header", plain, hdr("X-Token", "s1"), nil},
		{"plain header, several lines, one good", plain, hdr("X-Token", "x", "X-Token", "s1"), nil},
		{"plain header, too many lines", plain, hdr("X-Token", "s1", "X-Token", "s1", "X-Token", "s1", "X-Token", "s1", "X-Token", "s1", "X-Token", "s1", "X-Token", "s1", "X-Token", "s1", "X-Token", "s1"), ErrInvalidSignature},
		{"plain header, too long", plain, hdr("X-Token", long), ErrInvalidSignature},
		{"plain header, bearer is another header", plain, hdr("Authorization", "Bearer s1"), ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.s.Verify(&Request{Header: tt.header}); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCombinators(t *testing.T) {
	const body = `{}`
	sig := func(secret string) string { return hex.EncodeToString(sum(sha256.New, secret, body)) }
	strong, err := NewHMAC(HMACOptions{Header: "X-Sig"}, []string{"s1"})
	if err != nil {
		t.Fatal(err)
	}
	weak := NewToken("", []string{"s1"})
	first, anyOf := FirstPresent(strong, weak), AnyOf(strong, weak)
	tests := []struct {
		name      string
		header    http.Header
		firstWant error
		anyWant   error
	}{
		{"strong", hdr("X-Sig", sig("s1")), nil, nil},
		{"weak", hdr("Authorization", "Bearer s1"), nil, nil},
		{"a bad strong one is not rescued by FirstPresent", hdr("X-Sig", sig("s3"), "Authorization", "Bearer s1"), ErrInvalidSignature, nil},
		{"an empty strong one still chooses it", hdr("X-Sig", "", "Authorization", "Bearer s1"), ErrInvalidSignature, nil},
		{"neither", hdr(), ErrInvalidSignature, ErrInvalidSignature},
		{"an oversized header is refused whatever else matches", hdr("X-Sig", strings.Repeat("a", MaxHeaderBytes+1), "Authorization", "Bearer s1"), ErrInvalidSignature, ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Request{Header: tt.header, Body: []byte(body)}
			if err := first.Verify(r); !errors.Is(err, tt.firstWant) || (tt.firstWant == nil) != (err == nil) {
				t.Errorf("FirstPresent: got %v, want %v", err, tt.firstWant)
			}
			if err := anyOf.Verify(r); !errors.Is(err, tt.anyWant) || (tt.anyWant == nil) != (err == nil) {
				t.Errorf("AnyOf: got %v, want %v", err, tt.anyWant)
			}
		})
	}
	if err := anyOf.Verify(&Request{Header: hdr()}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("AnyOf with nothing present must say missing: %v", err)
	}
	if err := anyOf.Verify(&Request{Header: hdr("Authorization", "Bearer nope")}); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("AnyOf with a wrong secret must say does not match: %v", err)
	}
}

// TestAuth is what every source shares: unsigned, the URL token and the
// no-secret rule.
func TestAuth(t *testing.T) {
	spec := AuthSpec{Vendor: "v", NoSecret: "configure one", Headerless: true}
	if _, err := NewAuth(Settings{}, spec, TokenScheme("")); err == nil || !strings.Contains(err.Error(), "configure one") {
		t.Fatalf("no secret: %v", err)
	}
	unsigned, err := NewAuth(Settings{Unsigned: true}, spec, TokenScheme(""))
	if err != nil || unsigned.Verify(&Request{Header: hdr()}) != nil {
		t.Fatalf("unsigned must accept anything: %v", err)
	}
	header, err := NewAuth(Settings{Secrets: []string{"s1"}}, spec, TokenScheme(""))
	if err != nil {
		t.Fatal(err)
	}
	urlTok, err := NewAuth(Settings{Secrets: []string{"s1", "s2"}, URLToken: true}, spec, TokenScheme(""))
	if err != nil {
		t.Fatal(err)
	}
	q := func(s string) url.Values { v, _ := url.ParseQuery(s); return v }
	tests := []struct {
		name string
		a    *Auth
		req  *Request
		want error
	}{
		{"URL token accepted when the source opts in", urlTok, &Request{Header: hdr(), Query: q("token=s2")}, nil},
		{"URL token, wrong", urlTok, &Request{Header: hdr(), Query: q("token=s3")}, ErrInvalidSignature},
		{"URL token, empty", urlTok, &Request{Header: hdr(), Query: q("token=")}, ErrInvalidSignature},
		{"URL token, twice", urlTok, &Request{Header: hdr(), Query: q("token=s1&token=s1")}, ErrInvalidSignature},
		{"URL token, too long", urlTok, &Request{Header: hdr(), Query: url.Values{"token": {strings.Repeat("s", MaxHeaderBytes+1)}}}, ErrInvalidSignature},
		{"header still works with a URL token source", urlTok, &Request{Header: hdr("Authorization", "Bearer s1")}, nil},
		{"URL token refused when the source does not opt in", header, &Request{Header: hdr(), Query: q("token=s1")}, ErrInvalidSignature},
		{"other query parameters are not tokens", urlTok, &Request{Header: hdr(), Query: q("secret=s1")}, ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.a.Verify(tt.req); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	// A headerless vendor with a URL token: Sign adds no credential header,
	// SignQuery carries the token.
	if h := urlTok.Sign([]byte(`{}`), "s1", kitNow); len(h) != 1 || h.Get("Content-Type") != "application/json" {
		t.Fatalf("headerless Sign = %v", h)
	}
	if v := urlTok.SignQuery("s1"); v.Get("token") != "s1" {
		t.Fatalf("SignQuery = %v", v)
	}
	if h := header.Sign([]byte(`{}`), "s1", kitNow); h.Get("Authorization") != "Bearer s1" || header.SignQuery("s1") != nil {
		t.Fatalf("a header source signs with its header: %v", h)
	}
}

package standard

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/providertest"
)

// The public test key of the Standard Webhooks libraries, and a second key
// standing for the rotated-in secret.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	rotatedSecret = "whsec_cmVwbGF5aG9vay1yb3RhdGVkLXRlc3Qta2V5LTAwMDE="
)

// now fits the shared fixture's webhook-timestamp (1741945452).
var now = time.Date(2025, 3, 14, 9, 45, 0, 0, time.UTC)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func unhex(s string) string {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err) // a typo in a test table
	}
	return string(b)
}

func settings() providers.Settings {
	return providers.Settings{Secrets: []string{specSecret, rotatedSecret}, Tolerance: 5 * time.Minute}
}

// svixSigner signs like Svix before white-labelling: the same values under
// svix-* names.
type svixSigner struct{ p *Provider }

func (s svixSigner) Sign(body []byte, secret string, now time.Time) http.Header {
	h := s.p.Sign(body, secret, now)
	out := http.Header{"Content-Type": h["Content-Type"]}
	out.Set(SvixIDHeader, h.Get(IDHeader))
	out.Set(SvixTimestampHeader, h.Get(TimestampHeader))
	out.Set(SvixSignatureHeader, h.Get(SignatureHeader))
	return out
}

func TestConformance(t *testing.T) {
	p := providertest.New[*Provider](t, New, settings())
	t.Run("webhook headers", func(t *testing.T) {
		providertest.Run(t, providertest.Case{
			Factory:        New,
			Settings:       settings(),
			Signer:         p,
			Fixtures:       providertest.Fixtures(t, ""),
			Now:            now,
			SignsTimestamp: true,
			AuthHeaders:    []string{IDHeader, TimestampHeader, SignatureHeader},
		})
	})
	t.Run("svix headers", func(t *testing.T) {
		providertest.Run(t, providertest.Case{
			Factory:        New,
			Settings:       settings(),
			Signer:         svixSigner{p},
			Fixtures:       providertest.Fixtures(t, ""),
			Now:            now,
			SignsTimestamp: true,
			AuthHeaders:    []string{SvixIDHeader, SvixTimestampHeader, SvixSignatureHeader},
		})
	})
}

func header(id, ts, sig string) http.Header {
	h := http.Header{}
	h.Set(IDHeader, id)
	h.Set(TimestampHeader, ts)
	h.Set(SignatureHeader, sig)
	return h
}

// TestKnownAnswers checks known-answer vectors computed by the Standard
// Webhooks reference library (one over the vendor sample in
// testdata/standard-webhooks-session.ended.json): our Verify accepts them
// and our Signer reproduces them.
func TestKnownAnswers(t *testing.T) {
	shared := providertest.Fixtures(t, "")["standard-webhooks-session.ended.json"]
	tests := []struct {
		name, id, ts, sig string
		body              []byte
	}{
		{
			name: "reference library vector",
			id:   "msg_p5jXN8AQM9LWM0D4loKWxJek", ts: "1614265330",
			body: []byte(`{"test": 2432232314}`),
			sig:  "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		},
		{
			name: "shared fixture standard-webhooks-session.ended.json",
			id:   "msg_2mQ1vWbqk7TzHn4cX9aLrE0sDfY", ts: "1741945452",
			body: shared,
			sig:  "v1,djzcnwepLICUpJG37BxZWF2CR369aY72V729bf208YU=",
		},
	}
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{specSecret}, Tolerance: 5 * time.Minute})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, _ := strconv.ParseInt(tt.ts, 10, 64)
			at := time.Unix(ts, 0).Add(90 * time.Second)
			if err := p.Verify(&providers.Request{Header: header(tt.id, tt.ts, tt.sig), Body: tt.body, Now: at}); err != nil {
				t.Fatalf("known vector rejected: %v", err)
			}
			svix := http.Header{}
			svix.Set(SvixIDHeader, tt.id)
			svix.Set(SvixTimestampHeader, tt.ts)
			svix.Set(SvixSignatureHeader, tt.sig)
			if err := p.Verify(&providers.Request{Header: svix, Body: tt.body, Now: at}); err != nil {
				t.Fatalf("known vector under svix-* names rejected: %v", err)
			}
			key, _ := Key(specSecret)
			if got := "v1," + b64(providers.HMACSHA256(key, []byte(tt.id+"."+tt.ts+"."), tt.body)); got != tt.sig {
				t.Fatalf("we compute %s, want %s", got, tt.sig)
			}
		})
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		secret  string
		want    string // the key bytes
		wantErr bool
	}{
		{secret: specSecret, want: unhex("31f290f6bf06298aab4f08d43c3f082cf648a362da2da4b0")},
		{secret: rotatedSecret, want: "replayhook-rotated-test-key-0001"},
		{secret: "whsec_cmVwbGF5aG9vay1yb3RhdGVkLXRlc3Qta2V5LTAwMDE", want: "replayhook-rotated-test-key-0001"}, // unpadded
		{secret: "cmVwbGF5aG9vay1yb3RhdGVkLXRlc3Qta2V5LTAwMDE=", want: "replayhook-rotated-test-key-0001"},      // bare base64
		{secret: "dev-secret", want: "dev-secret"},                                                              // not base64: raw bytes
		{secret: "my secret!", want: "my secret!"},
		{secret: "devsecret123", want: unhex("75ebec79cadeb75db7")}, // bare and valid base64: decoded (doc.go warns)
		{secret: "whsec_not base64!", wantErr: true},
		{secret: "whsec_", wantErr: true},
		{secret: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.secret, func(t *testing.T) {
			k, err := Key(tt.secret)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want an error, got key %q", k)
				}
				if tt.secret != "" && tt.secret != SecretPrefix && strings.Contains(err.Error(), tt.secret) {
					t.Fatalf("error %q contains the secret", err)
				}
				return
			}
			if err != nil || string(k) != tt.want {
				t.Fatalf("Key = %q, %v; want %q", k, err, tt.want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	if _, err := New(providers.Settings{}); err == nil {
		t.Fatal("a source with no secret started")
	}
	_, err := New(providers.Settings{Secrets: []string{specSecret, "whsec_%%%secret-value%%%"}})
	if err == nil || !strings.Contains(err.Error(), "#2") || strings.Contains(err.Error(), "secret-value") {
		t.Fatalf("bad second secret: %v (must name its position, never its value)", err)
	}
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{specSecret}})
	body := []byte(`{}`)
	signed := p.Sign(body, specSecret, now)
	for skew, want := range map[time.Duration]error{providers.DefaultTolerance - time.Second: nil, providers.DefaultTolerance + time.Second: providers.ErrStaleTimestamp} {
		if err := p.Verify(&providers.Request{Header: signed, Body: body, Now: now.Add(-skew)}); !errors.Is(err, want) {
			t.Fatalf("zero tolerance, skew %s: got %v, want %v", skew, err, want)
		}
	}
	u := providertest.New[*Provider](t, New, providers.Settings{Unsigned: true})
	if err := u.Verify(&providers.Request{Header: http.Header{}, Body: []byte("anything")}); err != nil {
		t.Fatalf("an explicitly unsigned source must accept anything: %v", err)
	}
}

// TestVerify mutates a freshly signed request, one case per rule.
func TestVerify(t *testing.T) {
	body := providertest.Fixtures(t, "")["rrweb-batch-identified.json"]
	p := providertest.New[*Provider](t, New, settings())
	signed := func() http.Header { return p.Sign(body, specSecret, now) }
	sigOf := func(h http.Header) string { return h.Get(SignatureHeader) }
	other := p.Sign(body, rotatedSecret, now)
	unknownKey := p.Sign(body, "whsec_"+b64([]byte("some other key")), now)

	tests := []struct {
		name   string
		mutate func(h http.Header)
		at     time.Time
		want   error // nil: accepted
	}{
		{name: "as signed", mutate: func(http.Header) {}},
		{name: "rotated secret", mutate: func(h http.Header) { h.Set(SignatureHeader, sigOf(other)) }},
		{name: "several signatures, one matches", mutate: func(h http.Header) {
			h.Set(SignatureHeader, sigOf(unknownKey)+" "+sigOf(h)+" v1,AAAA")
		}},
		{name: "extra spaces between signatures", mutate: func(h http.Header) { h.Set(SignatureHeader, "  "+sigOf(unknownKey)+"   "+sigOf(h)+"  ") }},
		{name: "signatures on two header lines", mutate: func(h http.Header) {
			good := sigOf(h)
			h.Set(SignatureHeader, sigOf(unknownKey))
			h.Add(SignatureHeader, good)
		}},
		{name: "a v1a entry is skipped, v1 matches", mutate: func(h http.Header) { h.Set(SignatureHeader, "v1a,"+b64(make([]byte, 64))+" "+sigOf(h)) }},
		{name: "the right signature under v1a is not v1", mutate: func(h http.Header) {
			h.Set(SignatureHeader, "v1a,"+strings.TrimPrefix(sigOf(h), "v1,"))
		}, want: providers.ErrInvalidSignature},
		{name: "V1 is not v1", mutate: func(h http.Header) { h.Set(SignatureHeader, "V1,"+strings.TrimPrefix(sigOf(h), "v1,")) }, want: providers.ErrInvalidSignature},
		{name: "unknown key only", mutate: func(h http.Header) { h.Set(SignatureHeader, sigOf(unknownKey)) }, want: providers.ErrInvalidSignature},
		{name: "signature without version", mutate: func(h http.Header) { h.Set(SignatureHeader, strings.TrimPrefix(sigOf(h), "v1,")) }, want: providers.ErrInvalidSignature},
		{name: "hex instead of base64", mutate: func(h http.Header) { h.Set(SignatureHeader, "v1,"+strings.Repeat("ab", 32)) }, want: providers.ErrInvalidSignature},
		{name: "truncated signature", mutate: func(h http.Header) { h.Set(SignatureHeader, sigOf(h)[:20]) }, want: providers.ErrInvalidSignature},
		{name: "other message id", mutate: func(h http.Header) { h.Set(IDHeader, "msg_other") }, want: providers.ErrInvalidSignature},
		{name: "other timestamp", mutate: func(h http.Header) { h.Set(TimestampHeader, "1741945501") }, want: providers.ErrInvalidSignature},
		// id and timestamp are signed content, taken as received (net/http
		// strips spaces around header values on the wire; these come from a
		// caller that did not): padding them changes what was signed.
		{name: "timestamp padded after signing", mutate: func(h http.Header) { h.Set(TimestampHeader, "        "+h.Get(TimestampHeader)) }, want: providers.ErrInvalidSignature},
		{name: "id padded after signing", mutate: func(h http.Header) { h.Set(IDHeader, " "+h.Get(IDHeader)+"\t") }, want: providers.ErrInvalidSignature},
		{name: "the right MAC, non-canonical base64", mutate: func(h http.Header) { h.Set(SignatureHeader, providertest.NonCanonicalBase64(sigOf(h))) }, want: providers.ErrInvalidSignature},
		{name: "timestamp with a sign", mutate: func(h http.Header) { h.Set(TimestampHeader, "+"+h.Get(TimestampHeader)) }, want: providers.ErrInvalidSignature},
		{name: "timestamp with a fraction", mutate: func(h http.Header) { h.Set(TimestampHeader, h.Get(TimestampHeader)+".0") }, want: providers.ErrInvalidSignature},
		{name: "timestamp in milliseconds", mutate: func(h http.Header) { h.Set(TimestampHeader, h.Get(TimestampHeader)+"000") }, want: providers.ErrInvalidSignature},
		{name: "timestamp overflowing int64", mutate: func(h http.Header) { h.Set(TimestampHeader, "99999999999999999999") }, want: providers.ErrInvalidSignature},
		{name: "missing id", mutate: func(h http.Header) { h.Del(IDHeader) }, want: providers.ErrInvalidSignature},
		{name: "missing timestamp", mutate: func(h http.Header) { h.Del(TimestampHeader) }, want: providers.ErrInvalidSignature},
		{name: "missing signature", mutate: func(h http.Header) { h.Del(SignatureHeader) }, want: providers.ErrInvalidSignature},
		{name: "blank signature", mutate: func(h http.Header) { h.Set(SignatureHeader, "   ") }, want: providers.ErrInvalidSignature},
		{name: "oversized signature header", mutate: func(h http.Header) {
			h.Set(SignatureHeader, strings.Repeat("v1,AAAA ", 600)+sigOf(h))
		}, want: providers.ErrInvalidSignature},
		{name: "oversized id", mutate: func(h http.Header) { h.Set(IDHeader, strings.Repeat("m", providers.MaxHeaderBytes+1)) }, want: providers.ErrInvalidSignature},
		{name: "webhook-* wins over svix-*: a webhook header present means that set", mutate: func(h http.Header) {
			h.Set(SvixIDHeader, h.Get(IDHeader))
			h.Set(SvixTimestampHeader, h.Get(TimestampHeader))
			h.Set(SvixSignatureHeader, sigOf(h))
			h.Del(SignatureHeader)
		}, want: providers.ErrInvalidSignature},
		{name: "svix-* names", mutate: func(h http.Header) {
			for _, n := range [][2]string{{IDHeader, SvixIDHeader}, {TimestampHeader, SvixTimestampHeader}, {SignatureHeader, SvixSignatureHeader}} {
				h.Set(n[1], h.Get(n[0]))
				h.Del(n[0])
			}
		}},
		{name: "exactly at the tolerance, past", mutate: func(http.Header) {}, at: now.Add(5 * time.Minute)},
		{name: "exactly at the tolerance, future", mutate: func(http.Header) {}, at: now.Add(-5 * time.Minute)},
		{name: "one second too old", mutate: func(http.Header) {}, at: now.Add(5*time.Minute + time.Second), want: providers.ErrStaleTimestamp},
		{name: "one second too new", mutate: func(http.Header) {}, at: now.Add(-5*time.Minute - time.Second), want: providers.ErrStaleTimestamp},
		{name: "stale and forged is invalid, not stale", mutate: func(h http.Header) { h.Set(SignatureHeader, sigOf(unknownKey)) },
			at: now.Add(time.Hour), want: providers.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := signed()
			tt.mutate(h)
			at := tt.at
			if at.IsZero() {
				at = now
			}
			err := p.Verify(&providers.Request{Header: h, Body: body, Now: at})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			for _, secret := range []string{specSecret, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", sigOf(signed())[3:]} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("reason %q leaks a secret or the expected signature", err)
				}
			}
		})
	}
}

func TestSign(t *testing.T) {
	p := providertest.New[*Provider](t, New, settings())
	body := []byte(`{"type":"rrweb.batch"}`)
	a, b := p.Sign(body, specSecret, now), p.Sign(body, specSecret, now.Add(time.Minute))
	if a.Get(IDHeader) != b.Get(IDHeader) || !strings.HasPrefix(a.Get(IDHeader), "msg_") || len(a.Get(IDHeader)) != 4+24 {
		t.Fatalf("ids %q, %q: want one stable msg_<24 hex> per body", a.Get(IDHeader), b.Get(IDHeader))
	}
	if c := p.Sign([]byte(`{"type":"rrweb"}`), specSecret, now); c.Get(IDHeader) == a.Get(IDHeader) {
		t.Fatal("two bodies got the same id")
	}
	if a.Get(TimestampHeader) != "1741945500" {
		t.Fatalf("timestamp %q", a.Get(TimestampHeader))
	}
	for _, n := range []string{IDHeader, TimestampHeader, SignatureHeader} {
		if a.Get(n) == "" || bytes.ContainsAny([]byte(a.Get(n)), "\r\n") {
			t.Fatalf("header %s = %q", n, a.Get(n))
		}
	}
}

package custom_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/custom"
	"github.com/replayhook/replayhook/providers/providertest"
)

var now = providertest.At("2025-03-14T09:45:00Z")

// simpleFields map the sample delivery used by the verify tests.
var simpleFields = map[string]custom.Field{
	"session_id": {Paths: []string{"session"}},
	"user_id":    {Paths: []string{"user"}},
	"type":       {Const: "click"},
	"label":      {Paths: []string{"what"}},
}

func specWith(v custom.Verify) *custom.Spec {
	return &custom.Spec{Verify: v, Fields: simpleFields}
}

func factory(spec *custom.Spec) providers.Factory {
	return func(s providers.Settings) (providers.Provider, error) {
		s.Custom = spec
		return custom.New(s)
	}
}

// Every verify scheme passes the conformance suite every built-in vendor
// passes: good and rotated secrets, tampering, missing and malformed
// headers, stale timestamps, stable ids.
func TestVerifySchemesConformance(t *testing.T) {
	fixtures := map[string][]byte{"click.json": []byte(`{"session":"s1","user":"u1","what":"Buy","id":"evt_1"}`)}
	cases := []struct {
		name   string
		verify custom.Verify
		stamp  bool
		static bool
		secret []string
		auth   []string
	}{
		{"hmac sha256 hex with prefix", custom.Verify{Scheme: "hmac", Header: "X-Signature", Prefix: "sha256="}, false, false, nil, []string{"X-Signature"}},
		{"hmac sha1 base64", custom.Verify{Scheme: "hmac", Header: "X-Hub-Signature", Hash: "sha1", Encoding: "base64"}, false, false, nil, []string{"X-Hub-Signature"}},
		{"hmac sha512 timestamped message", custom.Verify{Scheme: "hmac", Header: "X-Sig", Hash: "sha512",
			Message: "{header:X-Timestamp}.{body}", Timestamp: "header:X-Timestamp"}, true, false, nil, []string{"X-Sig", "X-Timestamp"}},
		{"hmac list of signatures", custom.Verify{Scheme: "hmac", Header: "X-Sig", Prefix: "v1=", Separator: " "}, false, false, nil, []string{"X-Sig"}},
		{"standard webhooks", custom.Verify{Scheme: "standard_webhooks"}, true, false,
			[]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24="}, []string{"webhook-id", "webhook-timestamp", "webhook-signature"}},
		{"static header token", custom.Verify{Scheme: "token", Header: "X-Api-Key"}, false, true, nil, []string{"X-Api-Key"}},
		{"bearer token", custom.Verify{Scheme: "token"}, false, true, nil, []string{"Authorization"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			secrets := c.secret
			if secrets == nil {
				secrets = []string{"old-secret", "new-secret"}
			}
			f := factory(specWith(c.verify))
			s := providers.Settings{Secrets: secrets, Tolerance: 5 * time.Minute}
			p := providertest.New[*custom.Provider](t, f, s)
			providertest.Run(t, providertest.Case{Factory: f, Settings: s, Signer: p, Fixtures: fixtures, Now: now,
				SignsTimestamp: c.stamp, StaticSecret: c.static, AuthHeaders: c.auth})
		})
	}
}

// url_token takes the secret from ?token= (either rotated secret), and the
// sender adds no header.
func TestVerifyURLToken(t *testing.T) {
	p := providertest.New[*custom.Provider](t, factory(specWith(custom.Verify{Scheme: "url_token"})),
		providers.Settings{Secrets: []string{"old", "new"}})
	body := []byte(`{"session":"s1"}`)
	if h := p.Sign(body, "new", now); h.Get("Authorization") != "" || len(h) != 1 {
		t.Fatalf("url_token sender adds headers: %v", h)
	}
	if q := p.SignQuery("new"); q.Get("token") != "new" {
		t.Fatalf("SignQuery = %v", q)
	}
	for _, c := range []struct {
		query url.Values
		ok    bool
	}{
		{url.Values{"token": {"old"}}, true},
		{url.Values{"token": {"new"}}, true},
		{url.Values{"token": {"other"}}, false},
		{url.Values{"token": {"new", "new"}}, false},
		{nil, false},
	} {
		err := p.Verify(&providers.Request{Header: http.Header{}, Query: c.query, Body: body, Now: now})
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, providers.ErrInvalidSignature)) {
			t.Errorf("query %v: %v", c.query, err)
		}
	}
}

// none accepts anything, and only on a source marked unsigned (which the
// config refuses off loopback).
func TestVerifyNone(t *testing.T) {
	f := factory(specWith(custom.Verify{Scheme: "none"}))
	if _, err := f(providers.Settings{Secrets: []string{"s"}}); err == nil {
		t.Fatal("verify none accepted on a signed source")
	}
	p, err := f(providers.Settings{Unsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Verify(&providers.Request{Header: http.Header{}, Body: []byte(`{}`), Now: now}); err != nil {
		t.Fatalf("unsigned none: %v", err)
	}
}

// A custom source with no secret does not start unless unsigned, as every
// vendor; a spec that does not compile does not start either.
func TestNewRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		spec *custom.Spec
		s    providers.Settings
	}{
		"no custom block": {nil, providers.Settings{Secrets: []string{"s"}}},
		"no secret":       {specWith(custom.Verify{Scheme: "token"}), providers.Settings{}},
		"bad spec":        {specWith(custom.Verify{Scheme: "rot13"}), providers.Settings{Secrets: []string{"s"}}},
	} {
		s := c.s
		if c.spec != nil {
			s.Custom = c.spec
		}
		if _, err := custom.New(s); err == nil {
			t.Errorf("%s: started", name)
		}
	}
}

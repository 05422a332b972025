package posthog

import (
	"errors"
	"net/http"
	"testing"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/providertest"
)

// FuzzVerify: whatever the body and headers, Verify never panics and
// rejects only with ErrInvalidSignature.
func FuzzVerify(f *testing.F) {
	for _, b := range providertest.Fixtures(f, "") {
		f.Add(b, "sha256=840db3ff778784775a46f7fee727d94e9604ada23d3dac507ea6e3d235ea6785", "")
		f.Add(b, testSecret, "Bearer "+testSecret)
	}
	f.Add([]byte(`{}`), "SHA256=", "bearer")
	p := providertest.New[*Provider](f, New, providers.Settings{Secrets: []string{testSecret, "second"}, SecretHeader: "X-Webhook-Token"})
	f.Fuzz(func(t *testing.T, body []byte, secret, auth string) {
		h := http.Header{}
		h.Set(SecretHeader, secret)
		h.Set("Authorization", auth)
		h.Set("X-Webhook-Token", secret)
		err := p.Verify(&providers.Request{Header: h, Body: body, Now: now})
		if err != nil && !errors.Is(err, providers.ErrInvalidSignature) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}

// FuzzParse: whatever the body, Parse never panics, fails only with
// ErrMalformedJSON or ErrInvalidPayload, and otherwise either ignores the
// delivery with a reason or yields exactly one event of a known kind.
func FuzzParse(f *testing.F) {
	for _, b := range providertest.Fixtures(f, "") {
		f.Add(b)
	}
	f.Add([]byte(`{"event":"$autocapture","elements_chain":"a:text=\"\\"}`))
	f.Add([]byte(`{"event":{"event":"$identify","distinct_id":1,"properties":{"$anon_distinct_id":2}}}`))
	p := providertest.New[*Provider](f, New, providers.Settings{Secrets: []string{"s"}})
	kinds := map[string]bool{"pageview": true, "click": true, "submit": true, "type": true, "focus": true,
		"blur": true, "custom": true, "error": true}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := p.Parse(&providers.Request{Header: http.Header{}, Body: body, Now: now})
		if err != nil {
			if !errors.Is(err, providers.ErrMalformedJSON) && !errors.Is(err, providers.ErrInvalidPayload) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		switch {
		case d.Ignored != "":
			if len(d.Events) != 0 {
				t.Fatalf("ignored with events: %+v", d)
			}
		case len(d.Events) != 1 || !kinds[d.Events[0].Kind]:
			t.Fatalf("want one event of a known kind: %+v", d.Events)
		}
		for _, e := range d.Events {
			if !e.Time.IsZero() && normalize.UnixSeconds(e.Time) < 0 {
				t.Fatalf("time before 1970: %v", e.Time)
			}
		}
	})
}

package amplitude

import (
	"errors"
	"net/http"
	"testing"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/providertest"
)

// FuzzVerify: whatever the body and header, Verify never panics and rejects
// only with ErrInvalidSignature.
func FuzzVerify(f *testing.F) {
	for _, b := range providertest.Fixtures(f, "") {
		f.Add(b, "Bearer amp-secret")
		f.Add(b, "bearer  amp-secret ")
	}
	f.Add([]byte(`{}`), "Bearer")
	p := providertest.New[*Provider](f, New, providers.Settings{Secrets: []string{"amp-secret", "second"}})
	f.Fuzz(func(t *testing.T, body []byte, auth string) {
		h := http.Header{}
		h.Set("Authorization", auth)
		err := p.Verify(&providers.Request{Header: h, Body: body, Now: now})
		if err != nil && !errors.Is(err, providers.ErrInvalidSignature) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}

// FuzzParse: whatever the body, Parse never panics, fails only with
// ErrMalformedJSON or ErrInvalidPayload, and otherwise either yields events
// of known kinds or says why it ignored the delivery.
func FuzzParse(f *testing.F) {
	for _, b := range providertest.Fixtures(f, "") {
		f.Add(b)
	}
	f.Add([]byte(`{"events":[{"event_type":"x","session_id":1e400},{"user_id":"u","device_id":"d"}]}`))
	p := providertest.New[*Provider](f, New, providers.Settings{Secrets: []string{"s"}})
	kinds := map[string]bool{"pageview": true, "click": true, "submit": true, "type": true, "focus": true,
		"custom": true, "session": true}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := p.Parse(&providers.Request{Body: body, Now: now})
		if err != nil {
			if !errors.Is(err, providers.ErrMalformedJSON) && !errors.Is(err, providers.ErrInvalidPayload) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if len(d.Events) == 0 && d.Ignored == "" {
			t.Fatalf("nothing and not ignored: %+v", d)
		}
		if len(d.Events) > 0 && d.Ignored != "" {
			t.Fatalf("events and ignored: %+v", d)
		}
		for _, e := range d.Events {
			if !kinds[e.Kind] {
				t.Fatalf("unknown kind %q", e.Kind)
			}
			if !e.Time.IsZero() && normalize.UnixSeconds(e.Time) < 0 {
				t.Fatalf("time before 1970: %v", e.Time)
			}
		}
	})
}

package standard

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/providertest"
)

// FuzzVerify: whatever the headers and body, Verify never panics and says
// only "invalid signature" or "stale timestamp"; a delivery it accepts with
// a made-up signature would be a forgery, so it must carry a real one.
func FuzzVerify(f *testing.F) {
	p := providertest.New[*Provider](f, New, settings())
	for _, b := range providertest.Fixtures(f, "") {
		h := p.Sign(b, specSecret, now)
		f.Add(b, h.Get(IDHeader), h.Get(TimestampHeader), h.Get(SignatureHeader))
	}
	f.Add([]byte(`{"test": 2432232314}`), "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	f.Add([]byte(`{}`), "msg_1", "1741945500", "v1a,AAAA v1, v1,=== ,,,")
	f.Add([]byte(""), "", "-1", "")
	f.Fuzz(func(t *testing.T, body []byte, id, ts, sig string) {
		h := http.Header{}
		h.Set(IDHeader, id)
		h.Set(TimestampHeader, ts)
		h.Set(SignatureHeader, sig)
		err := p.Verify(&providers.Request{Header: h, Body: body, Now: now})
		if err != nil {
			if !errors.Is(err, providers.ErrInvalidSignature) && !errors.Is(err, providers.ErrStaleTimestamp) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		// Accepted: the header must hold the signature one of our keys makes.
		ok := false
		for _, secret := range settings().Secrets {
			key, _ := Key(secret)
			if containsField(sig, "v1,"+b64(providers.HMACSHA256(key, []byte(id+"."+ts+"."), body))) {
				ok = true
			}
		}
		if !ok {
			t.Fatalf("accepted a signature no key made: id=%q ts=%q sig=%q", id, ts, sig)
		}
	})
}

func containsField(list, want string) bool {
	for _, f := range strings.Fields(list) {
		if f == want {
			return true
		}
	}
	return false
}

// FuzzParse: whatever the body, Parse never panics, and its errors are
// malformed JSON or an invalid payload; what it returns is bounded.
func FuzzParse(f *testing.F) {
	p := providertest.New[*Provider](f, New, settings())
	for _, b := range providertest.Fixtures(f, "") {
		f.Add(b)
	}
	f.Add([]byte(`{"type":"rrweb.batch","data":{"session_id":1,"events":[{"type":3,"data":{"source":5,"id":1e20}}]}}`))
	f.Add([]byte(`{"type":"session.ended","data":{"session_id":"s","user":{"id":null},"ended_at":"2025-03-14T09:44:10+14:00"}}`))
	f.Add([]byte(`{"type":"actions","data":{"actions":[null,{}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := p.Parse(&providers.Request{Body: body, Now: now})
		if err != nil {
			if !errors.Is(err, providers.ErrMalformedJSON) && !errors.Is(err, providers.ErrInvalidPayload) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if d == nil {
			t.Fatal("nil delivery without error")
		}
		if len(d.Events) > MaxBatchActions {
			t.Fatalf("%d events from one delivery", len(d.Events))
		}
		if d.Ignored == "" && len(d.Events)+len(d.Payloads)+len(d.Summaries) == 0 {
			t.Fatal("nothing parsed and not ignored")
		}
		for _, e := range d.Events {
			if e.Kind == "" || (!e.Time.IsZero() && (e.Time.Year() < 1970 || e.Time.Year() > 9999)) {
				t.Fatalf("bad event %+v", e)
			}
		}
		normalize.Payloads(d.Events, now) // must not panic either
	})
}

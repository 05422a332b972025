package segment

import (
	"encoding/hex"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/providertest"
	"github.com/replayhook/replayhook/providers/vendorjson"
)

// now is shortly after the shared fixture's receivedAt.
var now = time.Date(2025, 3, 14, 9, 41, 8, 0, time.UTC)

const (
	anon    = "a3f1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b"
	session = "1741944978000"
	dana    = "dana.whitfield@example.com"
)

func TestConformance(t *testing.T) {
	settings := providers.Settings{Secrets: []string{"old-shared-secret", "new-shared-secret"}}
	providertest.Run(t, providertest.Case{
		Factory:     New,
		Settings:    settings,
		Signer:      providertest.New[*Provider](t, New, settings),
		Fixtures:    providertest.Fixtures(t, "*.json"),
		Now:         now,
		AuthHeaders: []string{SignatureHeader},
	})
}

// The vendor's published known-answer vector, over the exact bytes of
// the vendor sample it was computed on (testdata/track.json).
func TestKnownAnswer(t *testing.T) {
	const (
		secret = "segment_test_shared_secret"
		sig    = "fd4c85ee62236c7d19c333fe7e37a81895e63a1f"
	)
	body := providertest.Fixtures(t, "track.json")["track.json"]
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{secret}})
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Segment/1.0")
	h.Set(SignatureHeader, sig)
	if err := p.Verify(&providers.Request{Header: h, Body: body, Now: now}); err != nil {
		t.Fatalf("known vector rejected: %v", err)
	}
	if got := p.Sign(body, secret, now).Get(SignatureHeader); got != sig {
		t.Fatalf("Sign = %s, want %s", got, sig)
	}
	if err := p.Verify(&providers.Request{Header: h, Body: body[:len(body)-1], Now: now}); !errors.Is(err, providers.ErrInvalidSignature) {
		t.Fatalf("body without its trailing newline must not verify: %v", err)
	}
	d, err := p.Parse(&providers.Request{Header: h, Body: body, Now: now})
	if err != nil || d.ID != "ajs-next-1741945267412-4c1e7d2a9b6f" {
		t.Fatalf("parse: %+v, %v", d, err)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"type":"track","event":"Order Failed","messageId":"m1"}`)
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s1", "s2"}})
	sha1 := func(secret string) string { return hex.EncodeToString(providers.HMACSHA1([]byte(secret), body)) }
	sha256 := func(secret string) string { return hex.EncodeToString(providers.HMACSHA256([]byte(secret), body)) }
	tests := []struct {
		name   string
		header http.Header
		want   error // nil or ErrInvalidSignature
	}{
		{"X-Signature, first secret", http.Header{SignatureHeader: {sha1("s1")}}, nil},
		{"X-Signature, second secret (rotation)", http.Header{SignatureHeader: {sha1("s2")}}, nil},
		{"upper-case hex", http.Header{SignatureHeader: {strings.ToUpper(sha1("s1"))}}, nil},
		{"surrounding spaces", http.Header{SignatureHeader: {" " + sha1("s1") + " "}}, nil},
		{"X-Segment-Signature, SHA-1", http.Header{ActionsSignatureHeader: {sha1("s2")}}, nil},
		{"X-Segment-Signature, SHA-256", http.Header{ActionsSignatureHeader: {sha256("s1")}}, nil},
		{"X-Signature, SHA-256", http.Header{SignatureHeader: {sha256("s2")}}, nil},
		{"X-Segment-Signature wins over a stale X-Signature", http.Header{ActionsSignatureHeader: {sha1("s1")}, SignatureHeader: {sha1("old")}}, nil},
		{"a bad X-Segment-Signature is not rescued by X-Signature", http.Header{ActionsSignatureHeader: {sha1("old")}, SignatureHeader: {sha1("s1")}}, providers.ErrInvalidSignature},
		{"an empty X-Segment-Signature is not rescued either", http.Header{ActionsSignatureHeader: {""}, SignatureHeader: {sha1("s1")}}, providers.ErrInvalidSignature},
		{"wrong secret", http.Header{SignatureHeader: {sha1("s3")}}, providers.ErrInvalidSignature},
		{"SHA-256 of the wrong secret", http.Header{ActionsSignatureHeader: {sha256("s3")}}, providers.ErrInvalidSignature},
		{"truncated", http.Header{SignatureHeader: {sha1("s1")[:38]}}, providers.ErrInvalidSignature},
		{"sha1= prefix is not Segment's format", http.Header{SignatureHeader: {"sha1=" + sha1("s1")}}, providers.ErrInvalidSignature},
		{"not hex", http.Header{SignatureHeader: {strings.Repeat("z", 40)}}, providers.ErrInvalidSignature},
		{"empty", http.Header{SignatureHeader: {""}}, providers.ErrInvalidSignature},
		{"two headers", http.Header{SignatureHeader: {sha1("s1"), sha1("s1")}}, providers.ErrInvalidSignature},
		{"over 4 KiB", http.Header{SignatureHeader: {sha1("s1") + strings.Repeat(" ", providers.MaxHeaderBytes)}}, providers.ErrInvalidSignature},
		{"bearer is not accepted", http.Header{"Authorization": {"Bearer s1"}}, providers.ErrInvalidSignature},
		{"nothing", http.Header{}, providers.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Verify(&providers.Request{Header: tt.header, Body: body, Now: now})
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if err != nil {
				for _, leak := range []string{"s1", "s2", sha1("s1"), sha1("s2"), sha256("s1"), sha256("s2")} {
					if strings.Contains(err.Error(), leak) {
						t.Fatalf("reason leaks a secret or an expected signature: %v", err)
					}
				}
			}
		})
	}
}

func TestNew(t *testing.T) {
	if _, err := New(providers.Settings{}); err == nil {
		t.Fatal("a source with no secret must not start")
	}
	p := providertest.New[*Provider](t, New, providers.Settings{Unsigned: true})
	if err := p.Verify(&providers.Request{Header: http.Header{}, Body: []byte(`{}`)}); err != nil {
		t.Fatalf("unsigned source must accept: %v", err)
	}
}

func TestParseFixtures(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	longEvent := "Checkout Payment Retry Button Clicked After Card Declined Twice — Zahlung erneut versuchen — 再試行 ✓ " +
		strings.TrimSpace(strings.Repeat("(variant B of the long-label experiment) ", 4))
	tests := []struct {
		file       string
		id         string
		ignored    string
		events     []normalize.Event
		identities []normalize.Identity
	}{
		{file: "track.json", id: "ajs-next-1741945267412-4c1e7d2a9b6f", events: []normalize.Event{{
			Kind: "custom", Label: "Order Failed", URL: "https://shop.example.com/checkout?step=payment",
			Time: providertest.At("2025-03-14T09:41:07.571Z"), SessionID: session, UserID: "usr_48213", Email: dana, AnonymousID: anon,
		}}, identities: []normalize.Identity{{AnonymousID: anon, UserID: "usr_48213", Email: dana}}},
		{file: "page-anonymous.json", id: "ajs-next-1741945100118-9d0b3e6f1a27", events: []normalize.Event{{
			Kind: "pageview", Label: "Trail Runner 2", URL: "https://shop.example.com/products/trail-runner-2",
			Time: providertest.At("2025-03-14T09:38:20.279Z"), SessionID: session, AnonymousID: anon,
		}}},
		{file: "identify.json", id: "ajs-next-1741945180233-2b7c5e1d8f40",
			identities: []normalize.Identity{{AnonymousID: anon, UserID: "usr_48213", Email: dana}}},
		{file: "group.json", id: "ajs-next-1741945181002-6e1f0a9c3d52", ignored: "segment group is not session activity"},
		// Its session link and deletion are checked in TestLinksDeletionsAndAmplitudeSession.
		{file: "identify-session.json", id: "ajs-next-1741945181500-7c2d9e4f0a13",
			identities: []normalize.Identity{{AnonymousID: anon, UserID: "usr_48213", Email: dana}}},
		{file: "delete.json", id: "del-2f0b8c71-4a9e-4d35-9c1a-7e5b3d2f6a80"},
		{file: "track-amplitude-actions.json", id: "ajs-next-1741945255021-0e7a4b9c2d18", events: []normalize.Event{{
			Kind: "custom", Label: "Coupon Applied", URL: "https://shop.example.com/checkout?step=payment",
			Time: providertest.At("2025-03-14T09:40:55.171Z"), SessionID: session, UserID: "usr_48213", Email: dana, AnonymousID: anon,
		}}, identities: []normalize.Identity{{AnonymousID: anon, UserID: "usr_48213", Email: dana}}},
		{file: "batch-odd.json", id: "batch:21f8298e92f07f2474eeb3fe25d5721cdd314e28c073263056e5f7a4b591caba",
			events: []normalize.Event{{
				Kind: "pageview", Label: "Zahlung · 支払い", Time: providertest.At("2025-03-14T09:41:06.25Z"),
				SessionID: session, UserID: "usr_48213", AnonymousID: anon,
			}, {
				Kind: "custom", Label: longEvent, URL: "https://shop.example.com/checkout?step=payment&retry=1",
				Time: providertest.At("2025-03-14T09:41:08.5Z"), SessionID: session, UserID: "usr_48213", Email: dana,
			}},
			// The screen's link and the alias state the same thing: listed once.
			identities: []normalize.Identity{{AnonymousID: anon, UserID: "usr_48213"}}},
	}
	fx := providertest.Fixtures(t, "*.json")
	if len(tests) != len(fx) {
		t.Fatalf("%d fixtures but %d table rows: map every fixture", len(fx), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, ok := fx[tt.file]
			if !ok {
				t.Fatalf("missing fixture %s", tt.file)
			}
			d, err := p.Parse(&providers.Request{Body: body, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if d.ID != tt.id || d.Ignored != tt.ignored {
				t.Fatalf("id %q ignored %q, want %q %q", d.ID, d.Ignored, tt.id, tt.ignored)
			}
			if !reflect.DeepEqual(d.Events, tt.events) {
				t.Fatalf("events\n got %+v\nwant %+v", d.Events, tt.events)
			}
			if !reflect.DeepEqual(d.Identities, tt.identities) {
				t.Fatalf("identities\n got %+v\nwant %+v", d.Identities, tt.identities)
			}
		})
	}
}

func TestParseMessages(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	tests := []struct {
		name       string
		body       string
		event      *normalize.Event
		identities []normalize.Identity
		ignored    string
	}{
		{"page label from properties.title", `{"type":"page","properties":{"title":"Cart"},"context":{"page":{"title":"Other","url":"https://x/ctx"}}}`,
			&normalize.Event{Kind: "pageview", Label: "Cart", URL: "https://x/ctx"}, nil, ""},
		{"page label from context.page.title", `{"type":"page","name":" ","context":{"page":{"title":"Cart"}}}`,
			&normalize.Event{Kind: "pageview", Label: "Cart"}, nil, ""},
		{"page URL: properties.url first", `{"type":"page","properties":{"url":"https://x/prop"},"context":{"page":{"url":"https://x/ctx"}}}`,
			&normalize.Event{Kind: "pageview", URL: "https://x/prop"}, nil, ""},
		{"track URL ignores properties.url", `{"type":"track","event":"E","properties":{"url":"https://x/prop"},"context":{"page":{"url":"https://x/ctx"}}}`,
			&normalize.Event{Kind: "custom", Label: "E", URL: "https://x/ctx"}, nil, ""},
		{"screen is a pageview", `{"type":"screen","name":"Checkout"}`,
			&normalize.Event{Kind: "pageview", Label: "Checkout"}, nil, ""},
		{"session from context.sessionId", `{"type":"track","context":{"sessionId":"c1"},"properties":{"sessionId":"p2"}}`,
			&normalize.Event{Kind: "custom", SessionID: "c1"}, nil, ""},
		{"session from context.session_id", `{"type":"track","context":{"session_id":"c2"},"properties":{"sessionId":"p2"}}`,
			&normalize.Event{Kind: "custom", SessionID: "c2"}, nil, ""},
		{"session from properties.sessionId", `{"type":"track","properties":{"sessionId":"p2"}}`,
			&normalize.Event{Kind: "custom", SessionID: "p2"}, nil, ""},
		{"properties.session_id wins", `{"type":"track","properties":{"session_id":"p1"},"context":{"sessionId":"c1"}}`,
			&normalize.Event{Kind: "custom", SessionID: "p1"}, nil, ""},
		{"numbers are decimal strings", `{"type":"track","userId":48213,"properties":{"session_id":1741944978000.0}}`,
			&normalize.Event{Kind: "custom", UserID: "48213", SessionID: "1741944978000"}, nil, ""},
		{"a session id object is not a session", `{"type":"track","properties":{"session_id":{"id":1}}}`,
			&normalize.Event{Kind: "custom"}, nil, ""},
		{"email from traits", `{"type":"track","traits":{"email":"t@x"},"properties":{"email":"p@x"}}`,
			&normalize.Event{Kind: "custom", Email: "t@x"}, nil, ""},
		{"email from context.traits first", `{"type":"track","context":{"traits":{"email":"c@x"}},"traits":{"email":"t@x"}}`,
			&normalize.Event{Kind: "custom", Email: "c@x"}, nil, ""},
		{"anonymousId is not a user", `{"type":"track","event":"E","anonymousId":"a1"}`,
			&normalize.Event{Kind: "custom", Label: "E", AnonymousID: "a1"}, nil, ""},
		{"originalTimestamp when timestamp is missing", `{"type":"track","originalTimestamp":"2025-03-14T09:41:07.412Z"}`,
			&normalize.Event{Kind: "custom", Time: providertest.At("2025-03-14T09:41:07.412Z")}, nil, ""},
		{"unusable timestamp is unknown", `{"type":"track","timestamp":"yesterday"}`,
			&normalize.Event{Kind: "custom"}, nil, ""},
		{"track with both ids links them", `{"type":"track","anonymousId":"a1","userId":"u1","context":{"traits":{"email":"e@x"}}}`,
			&normalize.Event{Kind: "custom", AnonymousID: "a1", UserID: "u1", Email: "e@x"},
			[]normalize.Identity{{AnonymousID: "a1", UserID: "u1", Email: "e@x"}}, ""},
		{"an anonymousId equal to the userId links nothing", `{"type":"track","anonymousId":"u1","userId":"u1"}`,
			&normalize.Event{Kind: "custom", AnonymousID: "u1", UserID: "u1"}, nil, ""},
		{"identify with only a userId", `{"type":"identify","userId":"u1","traits":{"email":"e@x"}}`,
			nil, nil, "segment identify without a userId and an anonymousId or a session id links nothing"},
		{"alias", `{"type":"alias","previousId":"a1","userId":"u1"}`,
			nil, []normalize.Identity{{AnonymousID: "a1", UserID: "u1"}}, ""},
		{"alias without previousId", `{"type":"alias","userId":"u1"}`,
			nil, nil, "segment alias without both previousId and userId links nothing"},
		{"group with both ids is still ignored", `{"type":"group","anonymousId":"a1","userId":"u1"}`,
			nil, nil, "segment group is not session activity"},
		{"unknown type", `{"type":"heartbeat"}`, nil, nil, "segment heartbeat is not session activity"},
		{"hostile type is quoted", `{"type":"a b\u0000"}`, nil, nil, `segment "a b\x00" is not session activity`},
		{"batch of ignored messages gives every reason once", `{"batch":[{"type":"group"},{"type":"x"},{"type":"group"}]}`,
			nil, nil, "segment group is not session activity; segment x is not session activity"},
		{"empty batch", `{"batch":[]}`, nil, nil, "empty segment batch"},
		{"empty array", `[]`, nil, nil, "empty segment batch"},
		{"top-level array", `[{"type":"track","event":"E"}]`, &normalize.Event{Kind: "custom", Label: "E"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := p.Parse(&providers.Request{Body: []byte(tt.body)})
			if err != nil {
				t.Fatal(err)
			}
			var want []normalize.Event
			if tt.event != nil {
				want = []normalize.Event{*tt.event}
			}
			if !reflect.DeepEqual(d.Events, want) {
				t.Fatalf("events\n got %+v\nwant %+v", d.Events, want)
			}
			if !reflect.DeepEqual(d.Identities, tt.identities) {
				t.Fatalf("identities\n got %+v\nwant %+v", d.Identities, tt.identities)
			}
			if d.Ignored != tt.ignored {
				t.Fatalf("ignored %q, want %q", d.Ignored, tt.ignored)
			}
		})
	}
}

func TestDeliveryID(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	tests := []struct{ body, want string }{
		{`{"type":"track","messageId":" m1 "}`, "m1"},
		{`{"type":"track","messageId":42}`, "42"},
		{`{"type":"track"}`, ""},
		{`{"batch":[{"type":"track","messageId":"m1"}]}`, "m1"},
		// Several: the hash of the length-prefixed ids in order ("2:m1,2:m2,"),
		// a namespace no single message id is in.
		{`{"batch":[{"type":"track","messageId":"m1"},{"type":"page","messageId":"m2"}]}`, "batch:c18a01f5e460b243c3a77c83e297af49aca92c092b5e1a91eb663d7c153fe83b"},
		{`[{"type":"track","messageId":"m2"},{"type":"page","messageId":"m1"}]`, "batch:ace7566ae6e0e748f068924bb6369f452d1ed155642e016973db92461ff66483"},
		// A message whose id is "m1,m2" is not the batch [m1, m2], and one
		// whose id looks like a batch key is kept out of that namespace.
		{`{"type":"track","messageId":"m1,m2"}`, "m1,m2"},
		{`{"type":"track","messageId":"batch:c18a01f5e460b243c3a77c83e297af49aca92c092b5e1a91eb663d7c153fe83b"}`, "message:batch:c18a01f5e460b243c3a77c83e297af49aca92c092b5e1a91eb663d7c153fe83b"},
		// One message without an id: the body hash dedupes the batch.
		{`{"batch":[{"type":"track","messageId":"m1"},{"type":"page"}]}`, ""},
		// Ids with commas: "a,b"+"c" is not "a"+"b,c".
		{`{"batch":[{"type":"track","messageId":"a,b"},{"type":"page","messageId":"c"}]}`,
			"batch:4ac78e1f5813718b6f3407c6869018743cdce651e070877ebc55bcce0672e4c7"},
		{`{"batch":[{"type":"track","messageId":"a"},{"type":"page","messageId":"b,c"}]}`,
			"batch:5881209dcaf2831840e8ba9106f38c4b5814a3d0aaab17178bdc61fe9413e156"},
		{`{"type":"track","messageId":"` + strings.Repeat("m", 300) + `"}`,
			"sha256:" + "88c6e4c1d93376019f71bdb9b6927a58beae8f667295ea67a4dfa01aff0ee558"},
	}
	for _, tt := range tests {
		d, err := p.Parse(&providers.Request{Body: []byte(tt.body)})
		if err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		if d.ID != tt.want {
			t.Errorf("%s: id %q, want %q", tt.body, d.ID, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	tests := []struct {
		body  string
		want  error
		field string // for ErrInvalidPayload: the field named in the 422
	}{
		{`{"type":`, providers.ErrMalformedJSON, ""},
		{`not json`, providers.ErrMalformedJSON, ""},
		{`"track"`, providers.ErrMalformedJSON, ""},
		{`42`, providers.ErrMalformedJSON, ""},
		{`null`, providers.ErrMalformedJSON, ""},
		{``, providers.ErrMalformedJSON, ""},
		{`{}`, providers.ErrInvalidPayload, "type"},
		{`{"type":" "}`, providers.ErrInvalidPayload, "type"},
		{`{"type":["track"]}`, providers.ErrInvalidPayload, "type"},
		{`{"type":"track","userId":{"id":1}}`, providers.ErrInvalidPayload, "userId"},
		{`{"type":"track","properties":["a"]}`, providers.ErrInvalidPayload, "properties"},
		{`{"type":"track","context":"web"}`, providers.ErrInvalidPayload, "context"},
		{`{"type":"page","context":{"page":{"url":["x"]}}}`, providers.ErrInvalidPayload, "context.page.url"},
		{`{"batch":{"type":"track"}}`, providers.ErrInvalidPayload, "batch"},
		{`{"batch":null}`, providers.ErrInvalidPayload, "batch"},
		{`{"batch":[{"type":"track"},"page"]}`, providers.ErrInvalidPayload, "batch[1]"},
		{`{"batch":[{"type":"track"},{"event":"E"}]}`, providers.ErrInvalidPayload, "batch[1].type"},
		{`{"batch":[{"type":"track","timestamp":{}}]}`, providers.ErrInvalidPayload, "batch[0].timestamp"},
		{`[{"type":"track"},{"type":"page","anonymousId":[]}]`, providers.ErrInvalidPayload, "[1].anonymousId"},
		{`[1]`, providers.ErrInvalidPayload, "[0]"},
	}
	for _, tt := range tests {
		_, err := p.Parse(&providers.Request{Body: []byte(tt.body)})
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.body, err, tt.want)
			continue
		}
		if tt.field != "" {
			var fe *providers.FieldsError
			if !errors.As(err, &fe) || len(fe.Fields) != 1 || fe.Fields[0].Field != tt.field {
				t.Errorf("%s: want field %q named, got %v", tt.body, tt.field, err)
			}
		}
	}
}

// One person across the three Segment calls of a visit: the anonymous page
// view, the identify at login and the failed order land in one session, and
// the identify links the anonymous id to the user.
func TestFollowOnePerson(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	fx := providertest.Fixtures(t, "*.json")
	var events []normalize.Event
	var ids []normalize.Identity
	for _, f := range []string{"page-anonymous.json", "identify.json", "track.json"} {
		d, err := p.Parse(&providers.Request{Body: fx[f]})
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, d.Events...)
		ids = append(ids, d.Identities...)
	}
	payloads := normalize.Payloads(events, now)
	if len(payloads) != 1 || normalize.Str(payloads[0].SessionID) != session || payloads[0].Count != 2 {
		t.Fatalf("want one session %s with 2 actions, got %+v", session, payloads)
	}
	if ids[0] != (normalize.Identity{AnonymousID: anon, UserID: "usr_48213", Email: dana}) {
		t.Fatalf("identify link %+v", ids[0])
	}
}

func TestNumber(t *testing.T) {
	for lit, want := range map[string]string{
		"1741944978000":      "1741944978000",
		"1741944978000.0":    "1741944978000",
		"1.741944978e12":     "1741944978000",
		"12.5":               "12.5",
		"1e300":              "1e300",
		"123456789012345678": "123456789012345678",
	} {
		if got := vendorjson.Number(lit); got != want {
			t.Errorf("vendorjson.Number(%s) = %s, want %s", lit, got, want)
		}
	}
}

func FuzzVerify(f *testing.F) {
	const secret = "segment_test_shared_secret"
	for _, b := range providertest.Fixtures(f, "*.json") {
		f.Add(b, hex.EncodeToString(providers.HMACSHA1([]byte(secret), b)), "")
		f.Add(b, "", hex.EncodeToString(providers.HMACSHA256([]byte(secret), b)))
	}
	p := providertest.New[*Provider](f, New, providers.Settings{Secrets: []string{secret, "b"}})
	f.Fuzz(func(t *testing.T, body []byte, sig, actionsSig string) {
		h := http.Header{}
		h.Set(SignatureHeader, sig)
		if actionsSig != "" {
			h.Set(ActionsSignatureHeader, actionsSig)
		}
		err := p.Verify(&providers.Request{Header: h, Body: body, Now: now})
		if err != nil && !errors.Is(err, providers.ErrInvalidSignature) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		if err == nil {
			got := sig
			if actionsSig != "" {
				got = actionsSig
			}
			ok := false
			for _, s := range []string{secret, "b"} {
				ok = ok || providers.EqualHex(got, providers.HMACSHA1([]byte(s), body)) || providers.EqualHex(got, providers.HMACSHA256([]byte(s), body))
			}
			if !ok {
				t.Fatalf("accepted a signature that matches no secret: %q", got)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, b := range providertest.Fixtures(f, "*.json") {
		f.Add(b)
	}
	f.Add([]byte(`[{"type":"alias","previousId":1e999}]`))
	p := providertest.New[*Provider](f, New, providers.Settings{Secrets: []string{"a"}})
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := p.Parse(&providers.Request{Body: body, Now: now})
		if err != nil {
			if !errors.Is(err, providers.ErrMalformedJSON) && !errors.Is(err, providers.ErrInvalidPayload) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if d == nil || d.Ignored == "" && len(d.Events)+len(d.Identities)+len(d.Links)+len(d.Erase) == 0 {
			t.Fatalf("parsed into nothing and not ignored: %+v", d)
		}
		if len(d.ID) > vendorjson.MaxIDBytes+len("batch-sha256:")+64 {
			t.Fatalf("unbounded id of %d bytes", len(d.ID))
		}
	})
}

// An identify naming its session links that session to the user at once;
// a delete erases the user unless the source opts out; the Amplitude
// (Actions) destination's session id is a session id.
func TestLinksDeletionsAndAmplitudeSession(t *testing.T) {
	fx := providertest.Fixtures(t, "")
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	keep := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}, IgnoreDeletions: true})
	parse := func(p *Provider, body []byte) *providers.Delivery {
		t.Helper()
		d, err := p.Parse(&providers.Request{Body: body})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	d := parse(p, fx["identify-session.json"])
	wantLink := providers.Link{UserID: "usr_48213", Email: "dana.whitfield@example.com", SessionID: "1741944978000", At: providertest.At("2025-03-14T09:39:41.668Z")}
	if len(d.Links) != 1 || d.Links[0] != wantLink || len(d.Identities) != 1 || d.Ignored != "" {
		t.Fatalf("identify with context.sessionId: %+v", d)
	}
	if d := parse(p, fx["identify.json"]); len(d.Links) != 0 {
		t.Fatalf("identify without a session links none: %+v", d.Links)
	}
	if d := parse(p, []byte(`{"type":"identify","userId":"u1","context":{"sessionId":"s9"}}`)); len(d.Links) != 1 || d.Links[0].SessionID != "s9" || d.Ignored != "" {
		t.Fatalf("identify with a session but no anonymousId: %+v", d)
	}

	if d := parse(p, fx["delete.json"]); len(d.Erase) != 1 || d.Erase[0] != "usr_48213" || d.ID != "del-2f0b8c71-4a9e-4d35-9c1a-7e5b3d2f6a80" {
		t.Fatalf("delete: %+v", d)
	}
	if d := parse(keep, fx["delete.json"]); len(d.Erase) != 0 || !strings.Contains(d.Ignored, "honor_deletions: false") {
		t.Fatalf("delete with honor_deletions false: %+v", d)
	}
	if d := parse(p, []byte(`{"type":"delete","messageId":"x"}`)); len(d.Erase) != 0 || d.Ignored == "" {
		t.Fatalf("delete without a userId: %+v", d)
	}

	d = parse(p, fx["track-amplitude-actions.json"])
	if len(d.Events) != 1 || d.Events[0].SessionID != "1741944978000" {
		t.Fatalf("integrations[Actions Amplitude].session_id: %+v", d.Events)
	}
	for body, want := range map[string]string{
		`{"type":"track","event":"x","integrations":{"Actions Amplitude":{"session_id":-1}}}`:                                            "",
		`{"type":"track","event":"x","properties":{"session_id":"p"},"integrations":{"Actions Amplitude":{"session_id":1741944978000}}}`: "p",
		`{"type":"track","event":"x","integrations":{"Actions Amplitude":true}}`:                                                         "",
	} {
		if d := parse(p, []byte(body)); d.Events[0].SessionID != want {
			t.Errorf("%s: session %q, want %q", body, d.Events[0].SessionID, want)
		}
	}
}

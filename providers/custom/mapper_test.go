package custom_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/custom"
	"github.com/replayhook/replayhook/providers/providertest"
)

func mustCompile(t testing.TB, s *custom.Spec) *custom.Mapper {
	t.Helper()
	if s.Verify.Scheme == "" {
		s.Verify.Scheme = "token"
	}
	m, err := custom.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// value returns the mapped field of the result's first event.
func value(t *testing.T, r *custom.Result, field string) custom.Value {
	t.Helper()
	for _, v := range r.Events[0].Values {
		if v.Field == field {
			return v
		}
	}
	t.Fatalf("field %s not mapped", field)
	return custom.Value{}
}

// Each feature of a field: paths with fallbacks (first non-blank wins, a
// wrong type counts as missing), templates, constants, maps, numbers read
// by their digits, ^ for the top level.
func TestFieldFeatures(t *testing.T) {
	body := `{"env":"prod","events":[{"id":42,"user":{"id":"","alt":7.0,"first":"Dana","last":"Whitfield","tags":["x"]},
	  "name":"Page Viewed","page":{"url":"https://a.example/x?q=1"},"ok":true}]}`
	cases := []struct {
		name     string
		field    custom.Field
		want     string
		wantFrom string
	}{
		{"first path", custom.Field{Paths: []string{"user.first"}}, "Dana", "path user.first"},
		{"fallback over blank string", custom.Field{Paths: []string{"user.id", "user.alt"}}, "7", "path user.alt"},
		{"fallback over missing", custom.Field{Paths: []string{"nope", "name"}}, "Page Viewed", "path name"},
		{"wrong type is missing", custom.Field{Paths: []string{"user.tags", "page", "user.first"}}, "Dana", "path user.first"},
		{"boolean as literal", custom.Field{Paths: []string{"ok"}}, "true", "path ok"},
		{"top level with ^", custom.Field{Paths: []string{"^env"}}, "prod", "path ^env"},
		{"gjson array index", custom.Field{Paths: []string{"user.tags.0"}}, "x", "path user.tags.0"},
		{"template", custom.Field{Template: "{user.first} {user.last} ({^env})"}, "Dana Whitfield (prod)", "template"},
		{"template with a blank part", custom.Field{Template: "{user.first} {user.middle}"}, "Dana", "template"},
		{"template all blank falls to const", custom.Field{Template: "{a} {b}", Const: "anon"}, "anon", "const"},
		{"literal braces", custom.Field{Template: "{{{user.first}}}"}, "{Dana}", "template"},
		{"const", custom.Field{Const: "fixed"}, "fixed", "const"},
		{"path wins over const", custom.Field{Paths: []string{"name"}, Const: "x"}, "Page Viewed", "path name"},
		{"map", custom.Field{Paths: []string{"name"}, Map: map[string]string{"Page Viewed": "pageview"}}, "pageview", "path name (mapped)"},
		{"map catch-all", custom.Field{Paths: []string{"name"}, Map: map[string]string{"Other": "a", "*": "custom"}}, "custom", "path name (mapped *)"},
		{"unmapped value kept", custom.Field{Paths: []string{"name"}, Map: map[string]string{"Other": "a"}}, "Page Viewed", "path name"},
		{"nothing", custom.Field{Paths: []string{"nope"}}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := mustCompile(t, &custom.Spec{Events: "events", Fields: map[string]custom.Field{"label": c.field}})
			r, err := m.Map([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if v := value(t, r, "label"); v.Value != c.want || v.Source() != c.wantFrom {
				t.Fatalf("got %q from %q, want %q from %q", v.Value, v.Source(), c.want, c.wantFrom)
			}
		})
	}
}

// Every ActionsPayload field lands where it should, and normalize derives
// what is not mapped.
func TestEveryField(t *testing.T) {
	m := mustCompile(t, &custom.Spec{Fields: map[string]custom.Field{
		"session_id": {Paths: []string{"s"}}, "user_id": {Paths: []string{"u"}}, "anonymous_id": {Paths: []string{"a"}},
		"email": {Paths: []string{"e"}}, "timestamp": {Paths: []string{"t"}}, "type": {Paths: []string{"k"}},
		"title": {Paths: []string{"ti"}}, "description": {Paths: []string{"d"}}, "raw_url": {Paths: []string{"url"}},
		"canonical_url": {Paths: []string{"c"}}, "product_id": {Const: "prod_1"},
	}})
	body := `{"s":"sess","u":"usr","a":"anon","e":"d@example.com","t":"2025-03-14T09:44:00Z","k":"click","ti":"Click Buy",
	  "d":"User clicked Buy","url":"https://shop.example/p/1?x=1","c":"https://shop.example/p/:id"}`
	r, err := m.Map([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	d := m.Delivery(r, now)
	if len(d.Payloads) != 1 || len(d.Events) != 0 {
		t.Fatalf("canonical_url mapped: want one ready payload, got %+v", d)
	}
	p := d.Payloads[0]
	a := p.Actions[0]
	if normalize.Str(p.SessionID) != "sess" || normalize.Str(p.UserID) != "usr" || p.AnonymousID != "anon" || normalize.Str(p.Email) != "d@example.com" ||
		p.ProductID != "prod_1" || a.Type != "click" || a.Title != "Click Buy" || a.Description != "User clicked Buy" ||
		a.RawURL != "https://shop.example/p/1?x=1" || a.CanonicalURL != "https://shop.example/p/:id" ||
		a.TimestampStart != normalize.UnixSeconds(providertest.At("2025-03-14T09:44:00Z")) {
		t.Fatalf("payload %+v action %+v", p, a)
	}
	if len(d.Identities) != 1 || d.Identities[0] != (normalize.Identity{AnonymousID: "anon", UserID: "usr", Email: "d@example.com"}) {
		t.Fatalf("identities %+v", d.Identities)
	}
}

// The timestamp's formats; what a format cannot read is unknown (zero: the
// receive time is used).
func TestTimestampFormats(t *testing.T) {
	at := providertest.At("2025-03-14T09:44:00Z")
	cases := []struct {
		format, raw string
		want        time.Time
	}{
		{"s", `1741945440`, at},
		{"s", `"1741945440.5"`, at.Add(500 * time.Millisecond)},
		{"ms", `1741945440000`, at},
		{"us", `1741945440000000`, at},
		{"rfc3339", `"2025-03-14T10:44:00+01:00"`, at},
		{"auto", `1741945440000`, at},
		{"auto", `"2025-03-14 09:44:00"`, at},
		{"", `1741945440`, at},
		{"ms", `1741945440`, time.Time{}}, // 1970: outside the sane range
		{"rfc3339", `1741945440`, time.Time{}},
		{"s", `"soon"`, time.Time{}},
		{"s", `-5`, time.Time{}},
		{"s", `{"x":1}`, time.Time{}},
		{"us", `1e300`, time.Time{}},
	}
	for _, c := range cases {
		m := mustCompile(t, &custom.Spec{Fields: map[string]custom.Field{"timestamp": {Paths: []string{"t"}, Format: c.format}}})
		r, err := m.Map([]byte(`{"t":` + c.raw + `}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Events[0].Event.Time; !got.Equal(c.want) {
			t.Errorf("%s %s: got %v, want %v", c.format, c.raw, got, c.want)
		}
	}
}

// Filters keep or skip events with the reason the answer shows; a
// delivery with every event dropped is ignored with the first reason.
func TestFilters(t *testing.T) {
	spec := &custom.Spec{Events: "events", Fields: map[string]custom.Field{
		"session_id": {Paths: []string{"s"}}, "type": {Paths: []string{"kind"}, Map: map[string]string{"view": "pageview", "tap": "click"}},
	}, Filters: []custom.Filter{
		{Path: "test", Action: "skip", Reason: "test events are not stored"},
		{Path: "kind", Equals: []string{"view", "tap", "launch"}, Action: "keep", Reason: "only views and taps are user actions"},
	}}
	m := mustCompile(t, spec)
	cases := []struct {
		body    string
		kept    int
		ignored string
	}{
		{`{"events":[{"s":"a","kind":"view"},{"s":"a","kind":"tap"}]}`, 2, ""},
		{`{"events":[{"s":"a","kind":"view","test":true},{"s":"a","kind":"tap"}]}`, 1, ""},
		{`{"events":[{"s":"a","kind":"heartbeat"}]}`, 0, "only views and taps are user actions"},
		{`{"events":[{"s":"a","kind":"tap","test":"yes"},{"s":"a","kind":"x"}]}`, 0, "custom batch of 2 events, all ignored; first: test events are not stored"},
		{`{"events":[{"s":"a","kind":"launch"}]}`, 0, `action type "launch" is not one of pageview, click, submit, type, focus, blur, custom, error, note, session`},
		{`{"events":[]}`, 0, "custom delivery holds no events"},
	}
	for _, c := range cases {
		r, err := m.Map([]byte(c.body))
		if err != nil {
			t.Fatal(err)
		}
		d := m.Delivery(r, now)
		if len(d.Events) != c.kept || d.Ignored != c.ignored {
			t.Errorf("%s: kept %d ignored %q, want %d %q", c.body, len(d.Events), d.Ignored, c.kept, c.ignored)
		}
	}
}

// The dedupe key: one event's key, a batch's order-independent digest of
// all keys, and the body hash ("") when any event has none or no path is
// set.
func TestDedupeKey(t *testing.T) {
	m := mustCompile(t, &custom.Spec{Fields: map[string]custom.Field{"session_id": {Paths: []string{"s"}}}, DedupeKey: "id"})
	id := func(body string) string {
		r, err := m.Map([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	if got := id(`{"id":"evt_1","s":"a"}`); got != "evt_1" {
		t.Fatalf("single: %q", got)
	}
	if got := id(`{"id":12345,"s":"a"}`); got != "12345" {
		t.Fatalf("numeric: %q", got)
	}
	ab, ba := id(`[{"id":"a"},{"id":"b"}]`), id(`[{"id":"b"},{"id":"a"}]`)
	if !strings.HasPrefix(ab, "batch:") || ab != ba {
		t.Fatalf("batch ids %q %q", ab, ba)
	}
	if got := id(`[{"id":"a"},{"s":"b"}]`); got != "" {
		t.Fatalf("an event without a key: %q", got)
	}
	if got := id(`{"id":"` + strings.Repeat("x", 300) + `"}`); !strings.HasPrefix(got, "sha256:") {
		t.Fatalf("long key not hashed: %q", got)
	}
	noKey := mustCompile(t, &custom.Spec{Fields: map[string]custom.Field{"session_id": {Paths: []string{"s"}}}})
	if r, _ := noKey.Map([]byte(`{"id":"x"}`)); r.ID != "" {
		t.Fatalf("no dedupe_key: %q", r.ID)
	}
}

// Hostile bodies are a 400 or 422 (or ignored), never a panic or a 500:
// broken JSON, scalars, deep nesting, huge arrays, wrong types at every
// mapped path.
func TestHostileInputs(t *testing.T) {
	m := mustCompile(t, &custom.Spec{Events: "events", Fields: allFields(), Filters: []custom.Filter{{Path: "k", Action: "skip", Equals: []string{"x"}, Reason: "x"}}, DedupeKey: "id"})
	deep := strings.Repeat(`{"a":`, custom.MaxDepth+1) + "1" + strings.Repeat("}", custom.MaxDepth+1)
	deepArr := `{"events":[` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `]}`
	huge := `{"events":[` + strings.TrimSuffix(strings.Repeat(`{"s":"a"},`, custom.MaxEvents+1), ",") + `]}`
	cases := []struct {
		name, body string
		want       error
	}{
		{"not json", `{"events":`, providers.ErrMalformedJSON},
		{"scalar", `"hello"`, providers.ErrMalformedJSON},
		{"empty", ``, providers.ErrMalformedJSON},
		{"deep object", deep, providers.ErrInvalidPayload},
		{"deep array", deepArr, providers.ErrInvalidPayload},
		{"too many events", huge, providers.ErrInvalidPayload},
		{"events not an array", `{"events":{"s":"a"}}`, providers.ErrInvalidPayload},
		{"events missing", `{"other":[]}`, providers.ErrInvalidPayload},
		{"event not an object", `{"events":[1]}`, providers.ErrInvalidPayload},
		{"raw control byte", "{\"events\":[{\"s\":\"a\x00\"}]}", providers.ErrMalformedJSON},
		{"escaped nul and invalid utf8", `{"events":[{"s":"a\u0000` + "\xff" + `"}]}`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := m.Map([]byte(c.body))
			if c.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				m.Delivery(r, now)
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	// Every mapped path holding every wrong type: read as missing, so the
	// event maps (with the receive time, no ids) instead of failing.
	for _, wrong := range []string{`{}`, `[]`, `[1,2]`, `{"x":{"y":1}}`, `null`, `true`, `1e999`, `-0`, `""`} {
		var b strings.Builder
		b.WriteString(`{"events":[{`)
		for i, p := range []string{"s", "u", "a", "e", "t", "k", "ti", "d", "url", "c", "id", "p", "l"} {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"` + p + `":` + wrong)
		}
		b.WriteString(`}]}`)
		r, err := m.Map([]byte(b.String()))
		if err != nil {
			t.Fatalf("%s: %v", wrong, err)
		}
		d := m.Delivery(r, now)
		if len(d.Payloads)+len(d.Events) == 0 && d.Ignored == "" {
			t.Fatalf("%s: nothing and not ignored", wrong)
		}
	}
}

func allFields() map[string]custom.Field {
	return map[string]custom.Field{
		"session_id": {Paths: []string{"s"}}, "user_id": {Paths: []string{"u"}}, "anonymous_id": {Paths: []string{"a"}},
		"email": {Paths: []string{"e"}}, "timestamp": {Paths: []string{"t"}}, "type": {Paths: []string{"k"}, Map: map[string]string{"view": "pageview"}},
		"label": {Template: "{l} on {url}"}, "title": {Paths: []string{"ti"}}, "description": {Paths: []string{"d"}},
		"raw_url": {Paths: []string{"url"}}, "canonical_url": {Paths: []string{"c"}}, "product_id": {Paths: []string{"p"}},
	}
}

// Check names every problem by its key.
func TestCheck(t *testing.T) {
	cases := []struct {
		name string
		spec custom.Spec
		key  string
	}{
		{"no scheme", custom.Spec{Fields: simpleFields}, "verify.scheme"},
		{"unknown scheme", custom.Spec{Verify: custom.Verify{Scheme: "md5"}, Fields: simpleFields}, "verify.scheme"},
		{"hmac without header", custom.Spec{Verify: custom.Verify{Scheme: "hmac"}, Fields: simpleFields}, "verify.header"},
		{"hmac bad hash", custom.Spec{Verify: custom.Verify{Scheme: "hmac", Header: "X", Hash: "md5"}, Fields: simpleFields}, "verify.hash"},
		{"hmac bad encoding", custom.Spec{Verify: custom.Verify{Scheme: "hmac", Header: "X", Encoding: "b32"}, Fields: simpleFields}, "verify"},
		{"hmac bad message", custom.Spec{Verify: custom.Verify{Scheme: "hmac", Header: "X", Message: "{nope}"}, Fields: simpleFields}, "verify"},
		{"hmac field placeholder", custom.Spec{Verify: custom.Verify{Scheme: "hmac", Header: "X", Message: "{field:t}.{body}"}, Fields: simpleFields}, "verify.message"},
		{"hmac timestamp not a header", custom.Spec{Verify: custom.Verify{Scheme: "hmac", Header: "X", Timestamp: "field:t"}, Fields: simpleFields}, "verify.timestamp"},
		{"token with hash", custom.Spec{Verify: custom.Verify{Scheme: "token", Hash: "sha1"}, Fields: simpleFields}, "verify.hash"},
		{"standard with header", custom.Spec{Verify: custom.Verify{Scheme: "standard_webhooks", Header: "X"}, Fields: simpleFields}, "verify.header"},
		{"no fields", custom.Spec{Verify: custom.Verify{Scheme: "token"}}, "fields"},
		{"unknown field", custom.Spec{Verify: custom.Verify{Scheme: "token"}, Fields: map[string]custom.Field{"userid": {Paths: []string{"u"}}}}, "fields.userid"},
		{"empty field", custom.Spec{Verify: custom.Verify{Scheme: "token"}, Fields: map[string]custom.Field{"user_id": {}}}, "fields.user_id"},
		{"modifier path", custom.Spec{Verify: custom.Verify{Scheme: "token"}, Fields: map[string]custom.Field{"user_id": {Paths: []string{"a", "@reverse"}}}}, "fields.user_id.paths[1]"},
		{"nested modifier", custom.Spec{Verify: custom.Verify{Scheme: "token"}, Fields: map[string]custom.Field{"user_id": {Paths: []string{"a|@pretty"}}}}, "fields.user_id.paths[0]"},
		{"multipath", custom.Spec{Verify: custom.Verify{Scheme: "token"}, Fields: map[string]custom.Field{"user_id": {Paths: []string{"{a,b}"}}}}, "fields.user_id.paths[0]"},
		{"bad template", custom.Spec{Verify: custom.Verify{Scheme: "token"}, Fields: map[string]custom.Field{"label": {Template: "{a"}}}, "fields.label.template"},
		{"format on a non-time", custom.Spec{Verify: custom.Verify{Scheme: "token"}, Fields: map[string]custom.Field{"label": {Paths: []string{"a"}, Format: "s"}}}, "fields.label.format"},
		{"bad format", custom.Spec{Verify: custom.Verify{Scheme: "token"}, Fields: map[string]custom.Field{"timestamp": {Paths: []string{"a"}, Format: "ns"}}}, "fields.timestamp.format"},
		{"bad type const", custom.Spec{Verify: custom.Verify{Scheme: "token"}, Fields: map[string]custom.Field{"type": {Const: "tap"}}}, "fields.type"},
		{"bad type map", custom.Spec{Verify: custom.Verify{Scheme: "token"}, Fields: map[string]custom.Field{"type": {Paths: []string{"k"}, Map: map[string]string{"a": "tap"}}}}, "fields.type"},
		{"bad events path", custom.Spec{Verify: custom.Verify{Scheme: "token"}, Events: "@this", Fields: simpleFields}, "events"},
		{"bad dedupe path", custom.Spec{Verify: custom.Verify{Scheme: "token"}, DedupeKey: "..x", Fields: simpleFields}, "dedupe_key"},
		{"filter action", custom.Spec{Verify: custom.Verify{Scheme: "token"}, Fields: simpleFields, Filters: []custom.Filter{{Path: "a", Action: "drop", Reason: "r"}}}, "filters[0].action"},
		{"filter reason", custom.Spec{Verify: custom.Verify{Scheme: "token"}, Fields: simpleFields, Filters: []custom.Filter{{Path: "a", Action: "skip"}}}, "filters[0].reason"},
		{"filter path", custom.Spec{Verify: custom.Verify{Scheme: "token"}, Fields: simpleFields, Filters: []custom.Filter{{Action: "skip", Reason: "r"}}}, "filters[0].path"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := custom.Check(&c.spec)
			for _, e := range errs {
				if e.Key == c.key {
					return
				}
			}
			t.Fatalf("no problem at %s: %v", c.key, errs)
		})
	}
	ok := custom.Spec{Verify: custom.Verify{Scheme: "hmac", Header: "X-Sig", Hash: "sha512", Encoding: "base64", Prefix: "v1=",
		Message: "{header:X-Ts}.{body}", Timestamp: "header:X-Ts", Separator: ","}, Fields: allFields(), Events: "data.items",
		DedupeKey: "^id", Filters: []custom.Filter{{Path: "k", Action: "keep", Reason: "r"}}}
	if errs := custom.Check(&ok); errs != nil {
		t.Fatalf("a good spec has problems: %v", errs)
	}
}

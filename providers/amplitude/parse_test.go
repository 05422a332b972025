package amplitude

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/providertest"
)

const (
	dana    = "usr_48213"
	email   = "dana.whitfield@example.com"
	device  = "d7c3a1f2-8e4b-4a90-b6c5-3f2e1d0c9b8a"
	anonDev = "9b2e4f61-3c7a-4d18-a5e0-6f1b8c2d7e94"
	session = "1741944978000"
)

func parse(t *testing.T, body string) *providers.Delivery {
	t.Helper()
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	d, err := p.Parse(&providers.Request{Body: []byte(body), Now: now})
	if err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	return d
}

func TestParseFixtures(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	tests := []struct {
		file       string
		id         string
		ignored    string
		events     []normalize.Event
		identities []normalize.Identity
	}{
		{file: "element-clicked.json", id: "5f0c1e7a-2b3d-4c8e-9a61-7d4b2e0f3c19",
			events: []normalize.Event{{Kind: "click", Label: "Place order", URL: "https://shop.example.com/checkout?step=payment",
				Time: providertest.At("2025-03-14T09:41:07.412Z"), SessionID: session, UserID: dana, Email: email, AnonymousID: device}},
			identities: []normalize.Identity{{AnonymousID: device, UserID: dana, Email: email}}},
		{file: "page-viewed-anonymous.json", id: "b41d7e09-6a2c-4f83-9e15-2c7a0d3f8b64",
			events: []normalize.Event{{Kind: "pageview", Label: "Trail Runner 2 – Acme Shop",
				URL:  "https://shop.example.com/products/trail-runner-2?utm_source=newsletter",
				Time: providertest.At("2025-03-14T09:22:41.907Z"), SessionID: "1741943790512", AnonymousID: anonDev}}},
		{file: "batch-odd.json", id: "batch:5654513d0f289ff52ca4f7afc3a90ef5406147456e03121aab91244be7a5bedf",
			events: []normalize.Event{
				{Kind: "submit", Label: "Paiement – carte 💳", URL: "https://shop.example.com/checkout",
					Time: providertest.At("2025-03-14T09:41:06.980Z"), SessionID: session, UserID: dana, Email: email, AnonymousID: device},
				{Kind: "custom", Label: "Checkout Failed", URL: "https://shop.example.com/checkout?step=payment",
					Time: providertest.At("2025-03-14T09:41:07.571Z"), SessionID: session, UserID: dana, AnonymousID: device},
				{Kind: "session", Label: "Session ended",
					Time: providertest.At("2025-03-14T09:43:30.001Z"), SessionID: session, UserID: dana, AnonymousID: device},
			},
			identities: []normalize.Identity{{AnonymousID: device, UserID: dana, Email: email}}},
		{file: "identify-array.json", id: "c0a81f3e-5d2b-4e97-8f16-9b4d2a7c3e05",
			ignored:    `amplitude event "$identify" ignored: identify is not a user action`,
			identities: []normalize.Identity{{AnonymousID: anonDev, UserID: dana, Email: email}}},
	}
	fx := providertest.Fixtures(t, "")
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
			if d.ID != tt.id {
				t.Fatalf("ID %q, want %q", d.ID, tt.id)
			}
			if d.Ignored != tt.ignored {
				t.Fatalf("ignored %q, want %q", d.Ignored, tt.ignored)
			}
			if !reflect.DeepEqual(d.Events, tt.events) {
				t.Fatalf("events\n got %+v\nwant %+v", d.Events, tt.events)
			}
			if !reflect.DeepEqual(d.Identities, tt.identities) {
				t.Fatalf("identities %+v, want %+v", d.Identities, tt.identities)
			}
		})
	}
}

// The three accepted shapes carry the same event the same way.
func TestShapes(t *testing.T) {
	const ev = `{"event_type":"Checkout Failed","user_id":"usr_48213","session_id":1741944978000,"insert_id":"i-1"}`
	want := []normalize.Event{{Kind: "custom", Label: "Checkout Failed", SessionID: session, UserID: dana}}
	for _, body := range []string{ev, "[" + ev + "]", `{"api_key":"x","events":[` + ev + `]}`, " \n" + ev + "\n"} {
		d := parse(t, body)
		if d.ID != "i-1" || !reflect.DeepEqual(d.Events, want) {
			t.Fatalf("%s: got %+v", body, d)
		}
	}
	// An event that happens to have an "events" property is one event.
	d := parse(t, `{"event_type":"Cart Updated","events":"not a batch"}`)
	if len(d.Events) != 1 || d.Events[0].Label != "Cart Updated" {
		t.Fatalf("got %+v", d)
	}
}

func TestMapEvent(t *testing.T) {
	tests := []struct {
		eventType, props string
		kind, label      string
		ignored          string
	}{
		{"[Amplitude] Page Viewed", `{"[Amplitude] Page Title":"Checkout – Acme Shop"}`, "pageview", "Checkout – Acme Shop", ""},
		{"Page Viewed", `{}`, "pageview", "", ""},
		{"[Amplitude] Element Clicked", `{"[Amplitude] Element Text":" Place order "}`, "click", "Place order", ""},
		{"[Amplitude] Element Clicked", `{"[Amplitude] Element Aria Label":"Close dialog"}`, "click", "Close dialog", ""},
		{"[Amplitude] Element Clicked", `{}`, "click", "", ""},
		{"[Amplitude] Element Changed", `{"[Amplitude] Element Text":"Card number"}`, "type", "Card number", ""},
		{"[Amplitude] Rage Click", `{"[Amplitude] Element Text":"Place order"}`, "click", "(rage click) Place order", ""},
		{"[Amplitude] Dead Click", `{}`, "click", "(dead click)", ""},
		{"[Amplitude] Form Started", `{"[Amplitude] Form ID":"payment-form"}`, "focus", "payment-form", ""},
		{"[Amplitude] Form Submitted", `{"[Amplitude] Form Name":"Payment","[Amplitude] Form ID":"payment-form"}`, "submit", "Payment", ""},
		{"session_start", `{}`, "session", "Session started", ""},
		{"[Amplitude] Start Session", `{}`, "session", "Session started", ""},
		{"session_end", `{}`, "session", "Session ended", ""},
		{"[Amplitude] End Session", `{}`, "session", "Session ended", ""},
		{"[Amplitude] File Downloaded", `{}`, "custom", "File Downloaded", ""},
		{"[Amplitude] ", `{}`, "custom", "[Amplitude]", ""},
		{"Checkout Failed", `{}`, "custom", "Checkout Failed", ""},
		{"  Paiement échoué 💳 ", `{}`, "custom", "Paiement échoué 💳", ""},
		{"$identify", `{}`, "", "", `amplitude event "$identify" ignored: identify is not a user action`},
		{"$groupidentify", `{}`, "", "", `amplitude event "$groupidentify" ignored: group identify is not a user action`},
	}
	for _, tt := range tests {
		t.Run(tt.eventType+" "+tt.props, func(t *testing.T) {
			name, _ := json.Marshal(tt.eventType)
			d := parse(t, `{"event_type":`+string(name)+`,"device_id":"d","event_properties":`+tt.props+`}`)
			if d.Ignored != tt.ignored {
				t.Fatalf("ignored %q, want %q", d.Ignored, tt.ignored)
			}
			if tt.ignored != "" {
				if len(d.Events) != 0 {
					t.Fatalf("ignored but events %+v", d.Events)
				}
				return
			}
			if len(d.Events) != 1 || d.Events[0].Kind != tt.kind || d.Events[0].Label != tt.label {
				t.Fatalf("got %+v, want %s %q", d.Events, tt.kind, tt.label)
			}
		})
	}
}

func TestPageURL(t *testing.T) {
	tests := []struct{ props, want string }{
		{`{"[Amplitude] Page Location":"https://a/x?q=1","[Amplitude] Page URL":"https://a/x","page_url":"p","url":"u"}`, "https://a/x?q=1"},
		{`{"[Amplitude] Page URL":"https://a/x","page_url":"p","url":"u"}`, "https://a/x"},
		{`{"page_url":"p","url":"u"}`, "p"},
		{`{"url":"u"}`, "u"},
		{`{"url":["u"]}`, ""},
		{`{}`, ""},
	}
	for _, tt := range tests {
		d := parse(t, `{"event_type":"x","event_properties":`+tt.props+`}`)
		if got := d.Events[0].URL; got != tt.want {
			t.Errorf("%s: URL %q, want %q", tt.props, got, tt.want)
		}
	}
}

// session_id is a decimal integer string, never float notation; -1 means
// none, and then the replay id names the session.
func TestSessionID(t *testing.T) {
	tests := []struct {
		session, replay, want string
	}{
		{`1741944978000`, ``, session},
		{`"1741944978000"`, ``, session},
		{`" 1741944978000 "`, ``, session},
		{`1.741944978E12`, ``, session},
		{`1741944978000.0`, ``, session},
		{`"001741944978000"`, ``, session},
		{`99999999999999999999999`, ``, "99999999999999999999999"},
		{`1741944978000.5`, ``, ""},
		{`-1`, ``, ""},
		{`"-1"`, ``, ""},
		{`-99999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999`, ``, ""},
		{`0`, ``, ""},
		{`null`, ``, ""},
		{`true`, ``, "true"},
		{`"sess_abc"`, ``, "sess_abc"},
		{`"NaN"`, ``, ""},
		{`-1`, device + `/1741944978000`, session},
		{`null`, device + `/1741944978000`, session},
		{`-1`, `1741944978000`, ""},
		{`-1`, device + `/-1`, ""},
		{`-1`, `a/b/1741944978000`, session},
		{`1741943790512`, device + `/1741944978000`, "1741943790512"},
	}
	for _, tt := range tests {
		props := `{}`
		if tt.replay != "" {
			props = `{"[Amplitude] Session Replay ID":"` + tt.replay + `"}`
		}
		d := parse(t, `{"event_type":"x","session_id":`+tt.session+`,"event_properties":`+props+`}`)
		if got := d.Events[0].SessionID; got != tt.want {
			t.Errorf("session_id %s, replay %q: got %q, want %q", tt.session, tt.replay, got, tt.want)
		}
	}
}

// The timestamp rule itself is vendorjson.ParseTime's table; this is the
// precedence of Amplitude's time fields.
func TestTimeFields(t *testing.T) {
	// event_time wins, then client_event_time, then time (ms).
	for body, want := range map[string]string{
		`{"event_type":"x","event_time":"2025-03-14 09:41:07.412000","client_event_time":"2025-03-14 09:00:00","time":1}`: "2025-03-14T09:41:07.412Z",
		`{"event_type":"x","event_time":"garbage","client_event_time":"2025-03-14 09:00:00"}`:                             "2025-03-14T09:00:00Z",
		`{"event_type":"x","time":1741945267412}`:                                                                         "2025-03-14T09:41:07.412Z",
	} {
		if got := parse(t, body).Events[0].Time; !got.Equal(providertest.At(want)) {
			t.Errorf("%s: time %v, want %s", body, got, want)
		}
	}
}

// A batch's id does not depend on the order of its events; it changes with
// the set of events; any event without a key makes it the body hash ("").
func TestDeliveryID(t *testing.T) {
	a := `{"event_type":"x","insert_id":"a"}`
	b := `{"event_type":"x","uuid":"b"}`
	c := `{"event_type":"x","$insert_id":"c","uuid":"not-this"}`
	none := `{"event_type":"x"}`
	long := `{"event_type":"x","insert_id":"` + strings.Repeat("k", maxIDBytes+1) + `"}`
	ab := parse(t, "["+a+","+b+"]").ID
	if !strings.HasPrefix(ab, "batch:") || len(ab) != len("batch:")+64 {
		t.Fatalf("batch id %q", ab)
	}
	for body, want := range map[string]string{
		"[" + b + "," + a + "]":            ab,
		`{"events":[` + a + "," + b + "]}": ab,
		a:                                  "a",
		b:                                  "b",
		c:                                  "c",
		"[" + c + "]":                      "c",
		none:                               "",
		"[" + a + "," + none + "]":         "",
		long:                               "",
	} {
		if got := parse(t, body).ID; got != want {
			t.Errorf("%s: ID %q, want %q", body, got, want)
		}
	}
	if abc := parse(t, "["+a+","+b+","+c+"]").ID; abc == ab || abc == "" {
		t.Fatalf("a different set of events must give another id: %q", abc)
	}
	// Keys cannot run into each other: ["ab","c"] and ["a","bc"] differ.
	if batchID([]string{"ab", "c"}) == batchID([]string{"a", "bc"}) {
		t.Fatal("batch ids collide")
	}
}

func TestIdentities(t *testing.T) {
	tests := []struct {
		name, body string
		want       []normalize.Identity
	}{
		{"anonymous event", `{"event_type":"x","device_id":"d1"}`, nil},
		{"user without device", `{"event_type":"x","user_id":"u1"}`, nil},
		{"user and device", `{"event_type":"x","user_id":"u1","device_id":"d1"}`, []normalize.Identity{{AnonymousID: "d1", UserID: "u1"}}},
		{"pairs deduplicated, email filled later", `[{"event_type":"x","user_id":"u1","device_id":"d1"},` +
			`{"event_type":"y","user_id":"u1","device_id":"d1","user_properties":{"email":"e@example.com"}},` +
			`{"event_type":"z","user_id":"u2","device_id":"d1"}]`,
			[]normalize.Identity{{AnonymousID: "d1", UserID: "u1", Email: "e@example.com"}, {AnonymousID: "d1", UserID: "u2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parse(t, tt.body).Identities; !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("identities %+v, want %+v", got, tt.want)
			}
		})
	}
}

// Amplitude's "Send Users" stream posts user records without event_type:
// acknowledged, linking the device to the user, never an action.
func TestUserRecord(t *testing.T) {
	d := parse(t, `{"user_id":"usr_48213","device_id":"d1","user_properties":{"email":"dana.whitfield@example.com"}}`)
	want := []normalize.Identity{{AnonymousID: "d1", UserID: dana, Email: email}}
	if d.Ignored == "" || len(d.Events) != 0 || !reflect.DeepEqual(d.Identities, want) {
		t.Fatalf("got %+v", d)
	}
	d = parse(t, `{"user_properties":{"plan":"pro"}}`)
	if d.Ignored == "" || len(d.Events)+len(d.Identities) != 0 {
		t.Fatalf("got %+v", d)
	}
}

func TestIgnoredBatch(t *testing.T) {
	d := parse(t, `[{"event_type":"$identify","user_id":"u"},{"event_type":"$groupidentify"}]`)
	want := `amplitude batch of 2 events, all ignored; first: amplitude event "$identify" ignored: identify is not a user action`
	if d.Ignored != want || len(d.Events) != 0 {
		t.Fatalf("got %+v", d)
	}
	for _, body := range []string{`[]`, `{"events":[]}`} {
		if d := parse(t, body); d.Ignored != "amplitude batch is empty" {
			t.Fatalf("%s: got %+v", body, d)
		}
	}
	// In a mixed batch the ignored events are dropped silently.
	d = parse(t, `[{"event_type":"$identify"},{"event_type":"Checkout Failed"}]`)
	if d.Ignored != "" || len(d.Events) != 1 {
		t.Fatalf("got %+v", d)
	}
}

func TestParseErrors(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	tooMany := "[" + strings.Repeat(`{"event_type":"x"},`, maxBatch) + `{"event_type":"x"}]`
	tests := []struct {
		name, body string
		want       error
		field      string
	}{
		{"empty", ``, providers.ErrMalformedJSON, ""},
		{"not json", `event_type=x`, providers.ErrMalformedJSON, ""},
		{"truncated", `{"event_type":"x"`, providers.ErrMalformedJSON, ""},
		{"string", `"x"`, providers.ErrMalformedJSON, ""},
		{"number", `1741944978000`, providers.ErrMalformedJSON, ""},
		{"no event_type", `{"session_id":1}`, providers.ErrInvalidPayload, "body"},
		{"event_type blank", `{"event_type":"  "}`, providers.ErrInvalidPayload, "body"},
		{"events not an array", `{"events":{"event_type":"x"}}`, providers.ErrInvalidPayload, "events"},
		{"events null", `{"events":null}`, providers.ErrInvalidPayload, "events"},
		{"element not an object", `[{"event_type":"x"},"y"]`, providers.ErrInvalidPayload, "events[1]"},
		{"element without event_type", `{"events":[{"event_type":"x"},{"time":1}]}`, providers.ErrInvalidPayload, "events[1]"},
		{"nested array", `[[{"event_type":"x"}]]`, providers.ErrInvalidPayload, "events[0]"},
		{"too many", tooMany, providers.ErrInvalidPayload, "events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Parse(&providers.Request{Body: []byte(tt.body), Now: now})
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			var fe *providers.FieldsError
			if tt.field != "" && (!errors.As(err, &fe) || fe.Fields[0].Field != tt.field) {
				t.Fatalf("got %v, want field %q", err, tt.field)
			}
		})
	}
}

// Wrong types are read leniently: what cannot be text is absent.
func TestParseLeniency(t *testing.T) {
	d := parse(t, `{"event_type":"Checkout Failed","user_id":48213,"device_id":{"x":1},"session_id":[1],
		"event_time":12,"event_properties":"nope","user_properties":{"email":["x"]}}`)
	want := []normalize.Event{{Kind: "custom", Label: "Checkout Failed", UserID: "48213"}}
	if !reflect.DeepEqual(d.Events, want) {
		t.Fatalf("got %+v", d.Events)
	}
	d = parse(t, fmt.Sprintf(`{"event_type":%d}`, 42))
	if len(d.Events) != 1 || d.Events[0].Label != "42" {
		t.Fatalf("got %+v", d.Events)
	}
}

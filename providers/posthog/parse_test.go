package posthog

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/providertest"
)

const (
	dana       = "usr_48213"
	email      = "dana.whitfield@example.com"
	session    = "01959380-9f2b-7c11-8a40-6d2e9b3f1a07"
	checkout   = "https://shop.example.com/checkout?step=payment"
	anonDevice = "01959371-5d8e-7a3c-b2f4-9c1e0a6d4b21"
)

func TestParseFixtures(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	var longURL strings.Builder
	longURL.WriteString(checkout)
	for i := range 40 {
		fmt.Fprintf(&longURL, "&item_%d=sku-%04d-trail-runner-2-size-%d", i, i, 38+i%10)
	}
	tests := []struct {
		file       string
		id         string
		ignored    string
		event      *normalize.Event
		identities []normalize.Identity
	}{
		{file: "webhook-destination-autocapture.json", id: "01959383-4c1e-7d2a-9b6f-3e8a51c07d42",
			event: &normalize.Event{Kind: "click", Label: "Place order", URL: checkout, Time: providertest.At("2025-03-14T09:41:07.412Z"),
				SessionID: session, UserID: dana, Email: email}},
		{file: "webhook-destination-pageview-anonymous.json", id: "01959371-7b3f-7c88-a1d5-4e6f0b2c9a13",
			event: &normalize.Event{Kind: "pageview", Label: "Trail Runner 2 – Acme Shop",
				URL:  "https://shop.example.com/products/trail-runner-2?utm_source=newsletter",
				Time: providertest.At("2025-03-14T09:22:41.907Z"), SessionID: "01959371-6a02-7f4d-8e13-2b9c5d7e0f38", AnonymousID: anonDevice}},
		{file: "webhook-destination-identify.json", id: "0195937e-1c4a-7e02-b6d8-5f3a2c1e9d70",
			ignored:    `posthog event "$identify" ignored: identify links ids but is not a user action`,
			identities: []normalize.Identity{{AnonymousID: anonDevice, UserID: dana, Email: email}}},
		{file: "webhook-destination-pageleave.json", id: "01959383-9a07-7b5e-8c21-6d4f3e2a1b09",
			ignored: `posthog event "$pageleave" ignored: page leave carries no user action`},
		{file: "webhook-destination-dead-click.json", id: "01959382-e5d1-7a90-b3c7-2f8e6a4d0c15",
			event: &normalize.Event{Kind: "click", Label: "(dead click) Apply coupon", URL: checkout, Time: providertest.At("2025-03-14T09:40:58.730Z"),
				SessionID: session, UserID: dana, Email: email, AnonymousID: anonDevice},
			identities: []normalize.Identity{{AnonymousID: anonDevice, UserID: dana, Email: email}}},
		{file: "webhook-destination-exception.json", id: "01959383-5b20-7d44-9e01-7c2a8b3f4e61",
			event: &normalize.Event{Kind: "error", Label: "PaymentDeclinedError: card_declined", URL: checkout,
				Time: providertest.At("2025-03-14T09:41:07.655Z"), SessionID: session, UserID: dana, Email: email}},
		{file: "webhook-destination-custom-odd.json", id: "01959383-6e91-7f02-a4b8-0d9c1e2f3a47",
			event: &normalize.Event{Kind: "custom", Label: "Checkout Failed — carte refusée 💳", URL: longURL.String(),
				Time: providertest.At("2025-03-14T09:41:07.571Z"), SessionID: session, UserID: dana, Email: email}},
		{file: "webhook-destination-survey-sent.json", id: "01959383-a8c4-7b13-9f2e-1d7c5b3a9e84",
			event: &normalize.Event{Kind: "custom",
				Label: `Survey "Checkout feedback" answered: My card keeps getting declined, but it works everywhere else.`,
				URL:   checkout, Time: providertest.At("2025-03-14T09:43:02.519Z"), SessionID: session, UserID: dana, Email: email}},
		{file: "hog-flat-click.json",
			event: &normalize.Event{Kind: "click", Label: "Place order", URL: checkout, Time: providertest.At("2025-03-14T09:41:07.412Z"),
				SessionID: session, UserID: dana}},
		{file: "hog-flat-anonymous-odd.json",
			event: &normalize.Event{Kind: "type", Label: `Numéro de carte "Visa" 💳`, URL: checkout,
				Time: providertest.At("2025-03-14T09:26:03.118Z"), SessionID: "01959375-2e70-7d8a-b9c1-3f6e0a2d4b58",
				AnonymousID: "01959375-2e6b-7c19-8f3a-5b0d9e4c7a12"}},
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
			d, err := p.Parse(&providers.Request{Header: http.Header{}, Body: body, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if d.ID != tt.id {
				t.Fatalf("ID %q, want %q", d.ID, tt.id)
			}
			if d.Ignored != tt.ignored {
				t.Fatalf("ignored %q, want %q", d.Ignored, tt.ignored)
			}
			var want []normalize.Event
			if tt.event != nil {
				want = []normalize.Event{*tt.event}
			}
			if !reflect.DeepEqual(d.Events, want) {
				t.Fatalf("events\n got %+v\nwant %+v", d.Events, want)
			}
			if !reflect.DeepEqual(d.Identities, tt.identities) {
				t.Fatalf("identities %+v, want %+v", d.Identities, tt.identities)
			}
		})
	}
}

// flat builds a flat body from key/value pairs (values are JSON).
func flat(kv ...string) []byte {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%q:%s", kv[i], kv[i+1])
	}
	b.WriteString("}")
	return []byte(b.String())
}

func parseOne(t *testing.T, body []byte) *providers.Delivery {
	t.Helper()
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	d, err := p.Parse(&providers.Request{Header: http.Header{}, Body: body, Now: now})
	if err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	return d
}

// The user/anonymous rule of doc.go, case by case.
func TestIdentifyRule(t *testing.T) {
	const v7 = "01959375-2e6b-7c19-8f3a-5b0d9e4c7a12"
	const v4 = "a3f1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b"
	tests := []struct {
		name       string
		props      string
		distinct   string
		user, anon string
	}{
		{"plain id is a user", `{}`, `"usr_48213"`, dana, ""},
		{"$user_id wins over an anonymous distinct_id", `{"$user_id":"usr_48213","$is_identified":false}`, `"` + v7 + `"`, dana, ""},
		{"$user_id with a device id", `{"$user_id":"usr_48213","$device_id":"` + v7 + `"}`, `"` + v7 + `"`, dana, v7},
		{"$is_identified false", `{"$is_identified":false}`, `"usr_48213"`, "", dana},
		{"$is_identified \"false\"", `{"$is_identified":"false"}`, `"usr_48213"`, "", dana},
		{"$process_person_profile false", `{"$process_person_profile":false}`, `"usr_48213"`, "", dana},
		{"$is_identified true wins over $process_person_profile", `{"$is_identified":true,"$process_person_profile":false}`, `"` + v7 + `"`, v7, ""},
		{"distinct_id equal to $device_id", `{"$device_id":"` + v7 + `"}`, `"` + v7 + `"`, "", v7},
		{"identified with a device id", `{"$device_id":"` + v7 + `"}`, `"usr_48213"`, dana, v7},
		{"bare UUIDv7 with no device id", `{}`, `"` + v7 + `"`, "", v7},
		{"bare UUIDv4 is a user", `{}`, `"` + v4 + `"`, v4, ""},
		{"UUIDv7 that differs from $device_id is a user", `{"$device_id":"` + v4 + `"}`, `"` + v7 + `"`, v7, v4},
		{"numeric distinct_id", `{}`, `48213`, "48213", ""},
		{"no distinct_id", `{}`, `""`, "", ""},
		{"no distinct_id, device only", `{"$device_id":"` + v7 + `"}`, `null`, "", v7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(`{"event":{"event":"$pageview","distinct_id":` + tt.distinct + `,"properties":` + tt.props + `}}`)
			d := parseOne(t, body)
			if len(d.Events) != 1 {
				t.Fatalf("events %+v", d.Events)
			}
			if e := d.Events[0]; e.UserID != tt.user || e.AnonymousID != tt.anon {
				t.Fatalf("user %q anon %q, want user %q anon %q", e.UserID, e.AnonymousID, tt.user, tt.anon)
			}
		})
	}
}

// Flat keys mean the same as the properties they stand for, whatever the
// shape; the flat key wins.
func TestFlatBodyFields(t *testing.T) {
	d := parseOne(t, flat("event", `"$autocapture"`, "uuid", `"u-1"`, "distinct_id", `"usr_48213"`,
		"session_id", `"s-flat"`, "current_url", `"https://shop.example.com/a"`, "event_type", `"SUBMIT"`,
		"email", `" dana.whitfield@example.com "`, "timestamp", `1741945267412`,
		"properties", `{"$session_id":"s-prop","$current_url":"https://shop.example.com/b","$el_text":"Pay now"}`))
	want := normalize.Event{Kind: "submit", Label: "Pay now", URL: "https://shop.example.com/a",
		Time: providertest.At("2025-03-14T09:41:07.412Z"), SessionID: "s-flat", UserID: dana, Email: email}
	if d.ID != "u-1" || len(d.Events) != 1 || !reflect.DeepEqual(d.Events[0], want) {
		t.Fatalf("got %+v", d)
	}
	// A template that sends the event global alone is read the same way.
	d = parseOne(t, flat("event", `"$pageview"`, "distinct_id", `"usr_48213"`, "timestamp", `"2025-03-14T09:41:07.412Z"`,
		"properties", `{"$session_id":"s-prop","$current_url":"https://shop.example.com/b","title":"Checkout"}`))
	want = normalize.Event{Kind: "pageview", Label: "Checkout", URL: "https://shop.example.com/b",
		Time: providertest.At("2025-03-14T09:41:07.412Z"), SessionID: "s-prop", UserID: dana}
	if len(d.Events) != 1 || !reflect.DeepEqual(d.Events[0], want) {
		t.Fatalf("got %+v", d)
	}
}

func TestMapEvent(t *testing.T) {
	tests := []struct {
		name, props, chain string
		kind, label        string
		ignored            string
	}{
		{"$pageview", `{"title":" Checkout – Acme Shop "}`, ``, "pageview", "Checkout – Acme Shop", ""},
		{"$pageview", `{}`, ``, "pageview", "", ""},
		{"$screen", `{"$screen_name":"PaymentScreen"}`, ``, "pageview", "PaymentScreen", ""},
		{"$autocapture", `{"$event_type":"click","$el_text":"Place order"}`, ``, "click", "Place order", ""},
		{"$autocapture", `{"$el_text":"Place order"}`, ``, "click", "Place order", ""},
		{"$autocapture", `{"$event_type":"submit"}`, `form:attr__id="payment-form"`, "submit", "payment-form", ""},
		{"$autocapture", `{"$event_type":"change"}`, `input:attr__name="email"attr__id="e"`, "type", "email", ""},
		{"$autocapture", `{"$event_type":"touch"}`, `a:text="Help"`, "click", "Help", ""},
		{"$autocapture", `{"$event_type":"click"}`, `svg:nth-child="1";button:attr__aria-label="Close dialog"`, "click", "Close dialog", ""},
		{"$autocapture", `{"$event_type":"click"}`, `svg:nth-child="1";div:attr__id="modal"`, "click", "", ""},
		{"$rageclick", `{"$el_text":"Place order"}`, ``, "click", "(rage click) Place order", ""},
		{"$rageclick", `{}`, ``, "click", "(rage click)", ""},
		{"$dead_click", `{}`, `span:text="Apply coupon";button:nth-child="1"`, "click", "(dead click) Apply coupon", ""},
		{"$exception", `{"$exception_type":"TypeError","$exception_message":"x is undefined"}`, ``, "error", "TypeError: x is undefined", ""},
		{"$exception", `{"$exception_message":"boom"}`, ``, "error", "boom", ""},
		{"$exception", `{"$exception_list":"not a list"}`, ``, "error", "Exception", ""},
		{"survey sent", `{"$survey_name":"NPS","$survey_response":9}`, ``, "custom", `Survey "NPS" answered: 9`, ""},
		{"survey sent", `{"$survey_response":["Price"," Shipping ",{"x":1}]}`, ``, "custom", "Survey answered: Price, Shipping", ""},
		{"survey sent", `{}`, ``, "custom", "Survey answered", ""},
		{"Checkout Failed", `{}`, ``, "custom", "Checkout Failed", ""},
		{"$pageleave", `{}`, ``, "", "", `posthog event "$pageleave" ignored: page leave carries no user action`},
		{"$feature_flag_called", `{}`, ``, "", "", `posthog event "$feature_flag_called" ignored: feature flag evaluation is not a user action`},
		{"$groupidentify", `{}`, ``, "", "", `posthog event "$groupidentify" ignored: group identify is not a user action`},
		{"$set", `{}`, ``, "", "", `posthog event "$set" ignored: person property update is not a user action`},
		{"$web_vitals", `{}`, ``, "", "", `posthog event "$web_vitals" ignored: web vitals are performance measurements, not user actions`},
		{"$$heatmap", `{}`, ``, "", "", `posthog event "$$heatmap" ignored: heatmap data is not an action (clicks arrive as $autocapture)`},
		{"survey shown", `{}`, ``, "", "", `posthog event "survey shown" ignored: a survey being shown is not an answer`},
		{"$ai_generation", `{}`, ``, "", "", `posthog event "$ai_generation" ignored: PostHog internal event carries no user action`},
		{"$identify", `{}`, ``, "", "", `posthog event "$identify" ignored: identify links ids but is not a user action`},
	}
	for _, tt := range tests {
		t.Run(tt.name+" "+tt.props, func(t *testing.T) {
			chain, _ := json.Marshal(tt.chain)
			name, _ := json.Marshal(tt.name)
			d := parseOne(t, []byte(`{"event":{"event":`+string(name)+`,"distinct_id":"usr_48213","elements_chain":`+string(chain)+`,"properties":`+tt.props+`}}`))
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

// $identify links ids only when it names an anonymous id that differs from
// the user; the delivery is acknowledged either way.
func TestIdentify(t *testing.T) {
	tests := []struct {
		name, body string
		want       []normalize.Identity
	}{
		{"anon to user, email from $set", `{"event":{"event":"$identify","distinct_id":"usr_48213","properties":{"$anon_distinct_id":"a-1","$set":{"email":"dana.whitfield@example.com"}}}}`,
			[]normalize.Identity{{AnonymousID: "a-1", UserID: dana, Email: email}}},
		{"person email wins", `{"event":{"event":"$identify","distinct_id":"usr_48213","properties":{"$anon_distinct_id":"a-1","$set":{"email":"old@example.com"}}},"person":{"properties":{"email":"dana.whitfield@example.com"}}}`,
			[]normalize.Identity{{AnonymousID: "a-1", UserID: dana, Email: email}}},
		{"flat", `{"event":"$identify","distinct_id":"usr_48213","anon_distinct_id":"a-1"}`,
			[]normalize.Identity{{AnonymousID: "a-1", UserID: dana}}},
		{"same id", `{"event":{"event":"$identify","distinct_id":"usr_48213","properties":{"$anon_distinct_id":"usr_48213"}}}`, nil},
		{"no anon id", `{"event":{"event":"$identify","distinct_id":"usr_48213","properties":{}}}`, nil},
		{"no user", `{"event":{"event":"$identify","distinct_id":"","properties":{"$anon_distinct_id":"a-1"}}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := parseOne(t, []byte(tt.body))
			if d.Ignored == "" || len(d.Events) != 0 || !reflect.DeepEqual(d.Identities, tt.want) {
				t.Fatalf("got %+v, want identities %+v", d, tt.want)
			}
		})
	}
}

func TestDeliveryID(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	body := []byte(`{"event":"Checkout Failed","distinct_id":"usr_48213"}`)
	long := strings.Repeat("x", maxIDBytes+1)
	tests := []struct {
		name   string
		body   []byte
		header string
		want   string
	}{
		{"no uuid, no header: body hash", body, "", ""},
		{"header fallback", body, " 0195-uuid ", "0195-uuid"},
		{"body uuid wins", []byte(`{"event":"x","uuid":"from-body"}`), "from-header", "from-body"},
		{"nested uuid", []byte(`{"event":{"event":"x","uuid":"nested"}}`), "", "nested"},
		{"too long: body hash", []byte(`{"event":"x","uuid":"` + long + `"}`), long, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set(EventUUIDHeader, tt.header)
			}
			d, err := p.Parse(&providers.Request{Header: h, Body: tt.body, Now: now})
			if err != nil || d.ID != tt.want {
				t.Fatalf("ID %q (%v), want %q", d.ID, err, tt.want)
			}
		})
	}
	// Parse must not need a header map at all.
	if _, err := p.Parse(&providers.Request{Body: body}); err != nil {
		t.Fatal(err)
	}
}

func TestParseErrors(t *testing.T) {
	p := providertest.New[*Provider](t, New, providers.Settings{Secrets: []string{"s"}})
	tests := []struct {
		name string
		body string
		want error
	}{
		{"empty", ``, providers.ErrMalformedJSON},
		{"not json", `event=$pageview`, providers.ErrMalformedJSON},
		{"truncated", `{"event":{"event":"$pageview"`, providers.ErrMalformedJSON},
		{"array", `[{"event":"$pageview"}]`, providers.ErrMalformedJSON},
		{"string", `"$pageview"`, providers.ErrMalformedJSON},
		{"no event", `{"person":{}}`, providers.ErrInvalidPayload},
		{"event is a number", `{"event":1}`, providers.ErrInvalidPayload},
		{"event is null", `{"event":null}`, providers.ErrInvalidPayload},
		{"event is an array", `{"event":["$pageview"]}`, providers.ErrInvalidPayload},
		{"nested event without a name", `{"event":{"distinct_id":"usr_48213"}}`, providers.ErrInvalidPayload},
		{"flat blank name", `{"event":"  "}`, providers.ErrInvalidPayload},
		{"nested name is an object", `{"event":{"event":{"x":1}}}`, providers.ErrInvalidPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Parse(&providers.Request{Body: []byte(tt.body), Now: now})
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// Wrong types in properties are read leniently: what cannot be text is
// absent, never an error.
func TestParseLeniency(t *testing.T) {
	d := parseOne(t, []byte(`{"event":{"event":"$autocapture","distinct_id":{"x":1},"timestamp":"yesterday",
		"elements_chain":12,"properties":{"$session_id":123,"$current_url":["x"],"$el_text":true,"$is_identified":"maybe"}},
		"person":"not an object"}`))
	want := normalize.Event{Kind: "click", Label: "true", SessionID: "123"}
	if len(d.Events) != 1 || !reflect.DeepEqual(d.Events[0], want) {
		t.Fatalf("got %+v", d.Events)
	}
	d = parseOne(t, []byte(`{"event":{"event":"$pageview","properties":"not an object"}}`))
	if len(d.Events) != 1 || d.Events[0].Kind != "pageview" {
		t.Fatalf("got %+v", d.Events)
	}
}

func TestChainAttr(t *testing.T) {
	const sample = `button.btn.btn-primary:attr__class="btn btn-primary"attr__data-testid="place-order"nth-child="2"nth-of-type="1"text="Place order";form:attr__id="payment-form"nth-child="1"nth-of-type="1"`
	tests := []struct {
		name, chain, key, want string
	}{
		{"shared sample", sample, "text", "Place order"},
		{"attribute of a later element", sample, "attr__id", "payment-form"},
		{"absent", sample, "attr__href", ""},
		{"not inside another key", `div:attr__data-text="no"nth-child="1";a:text="yes"`, "text", "yes"},
		{"escaped quotes", `span:text="say \"hi\""`, "text", `say "hi"`},
		{"semicolon inside a value", `a:attr__title="a;b"text="x;y";div:text="z"`, "text", "x;y"},
		{"colon in a class name", `button.hover:bg-blue:attr__class="hover:bg-blue"text="Go"`, "text", "Go"},
		{"blank text skipped", `span:text="  ";button:text="Pay"`, "text", "Pay"},
		{"unterminated value", `a:text="Pay`, "text", "Pay"},
		{"trailing backslash", `a:text="Pay\`, "text", `Pay\`},
		{"no attributes", `button.btn`, "text", ""},
		{"empty", ``, "text", ""},
		{"garbage", `"";;::==""text=`, "text", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := chainAttr(tt.chain, tt.key); got != tt.want {
				t.Fatalf("chainAttr(%q, %q) = %q, want %q", tt.chain, tt.key, got, tt.want)
			}
		})
	}
}

func TestIsUUIDv7(t *testing.T) {
	for s, want := range map[string]bool{
		"01959375-2e6b-7c19-8f3a-5b0d9e4c7a12": true,
		"01959375-2E6B-7C19-8F3A-5B0D9E4C7A12": true,
		"a3f1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b": false,
		"01959375-2e6b-7c19-8f3a-5b0d9e4c7a1":  false,
		"01959375x2e6b-7c19-8f3a-5b0d9e4c7a12": false,
		"0195937g-2e6b-7c19-8f3a-5b0d9e4c7a12": false,
		"usr_48213":                            false,
		"":                                     false,
	} {
		if got := isUUIDv7(s); got != want {
			t.Errorf("isUUIDv7(%q) = %v", s, got)
		}
	}
}

// $identify names the session it happened in: that session is the user's
// at once (with the anonymous activity it already holds).
func TestIdentifyLinksItsSession(t *testing.T) {
	d := parseOne(t, providertest.Fixtures(t, "")["webhook-destination-identify.json"])
	want := providers.Link{UserID: dana, Email: email, SessionID: "01959371-6a02-7f4d-8e13-2b9c5d7e0f38", At: providertest.At("2025-03-14T09:35:12.284Z")}
	if len(d.Links) != 1 || d.Links[0] != want {
		t.Fatalf("links %+v, want %+v", d.Links, want)
	}
	if d := parseOne(t, []byte(`{"event":{"event":"$identify","distinct_id":"usr_48213","properties":{"$anon_distinct_id":"a-1"}}}`)); len(d.Links) != 0 {
		t.Fatalf("no $session_id, no link: %+v", d.Links)
	}
	if d := parseOne(t, []byte(`{"event":{"event":"$identify","distinct_id":"01959371-5d8e-7a3c-b2f4-9c1e0a6d4b21","properties":{"$session_id":"s1","$is_identified":false}}}`)); len(d.Links) != 0 {
		t.Fatalf("an anonymous distinct_id links nothing: %+v", d.Links)
	}
}

// Mobile and server SDKs send $host and $pathname without $current_url.
func TestPageURLFromHostAndPath(t *testing.T) {
	for body, want := range map[string]string{
		`{"event":{"event":"$pageview","distinct_id":"u","properties":{"$host":"shop.example.com","$pathname":"/cart","$session_id":"s"}}}`:                            "https://shop.example.com/cart",
		`{"event":{"event":"$pageview","distinct_id":"u","properties":{"$pathname":"/cart","$session_id":"s"}}}`:                                                       "/cart",
		`{"event":{"event":"$pageview","distinct_id":"u","properties":{"$current_url":"https://a.example/x","$host":"b.example","$pathname":"/y","$session_id":"s"}}}`: "https://a.example/x",
	} {
		if d := parseOne(t, []byte(body)); len(d.Events) != 1 || d.Events[0].URL != want {
			t.Errorf("%s: %+v, want URL %q", body, d.Events, want)
		}
	}
}

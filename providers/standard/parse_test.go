package standard

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/providertest"
)

func ms(v int64) time.Time { return time.UnixMilli(v).UTC() }

// TestParseFixtures lists, for each fixture, exactly what it maps to.
func TestParseFixtures(t *testing.T) {
	const (
		sess     = "sess_2mQ1vWbqk7TzHn4cX9aLrE"
		user     = "usr_48213"
		email    = "dana.whitfield@example.com"
		checkout = "https://shop.example.com/checkout?step=payment"
		oddURL   = "https://shop.example.com/checkout?coupon=%E2%9C%93"
	)
	dana := func(e normalize.Event) normalize.Event {
		e.SessionID, e.UserID, e.Email, e.AnonymousID = sess, user, email, "anon_5f0c9e2b"
		return e
	}
	anon := func(e normalize.Event) normalize.Event {
		e.SessionID, e.AnonymousID = "sess_anon_8d41c07f", "anon_5f0c9e2b"
		return e
	}
	odd := func(e normalize.Event) normalize.Event {
		e.SessionID, e.UserID, e.ProductID, e.URL = "90210", "48213", "prod_shop", oddURL
		return e
	}
	longTag := "Zahlung fehlgeschlagen – Karte abgelehnt (Fehlercode 05: Do not honour; bitte eine andere Karte verwenden oder die Bank kontaktieren, bevor Sie es erneut versuchen, damit die Bestellung 2025-03-14/48213 nicht verfällt)"

	tests := []struct {
		file       string
		ignored    bool
		events     []normalize.Event
		identities []normalize.Identity
		payloads   int // ActionsPayloads passed through
		summaries  int
	}{
		{
			file: "standard-webhooks-session.ended.json",
			events: []normalize.Event{{
				Kind: "session", Label: "Session ended", Time: time.Date(2025, 3, 14, 9, 44, 10, 0, time.UTC),
				Description: "Session ended (replay: https://replay.example.com/sessions/sess_2mQ1vWbqk7TzHn4cX9aLrE)",
				SessionID:   sess, UserID: user, Email: email,
			}},
		},
		{
			file: "session.ended-anonymous.json", // no user, no ended_at: the envelope's timestamp
			events: []normalize.Event{{
				Kind: "session", Label: "Session ended", Time: time.Date(2025, 3, 14, 9, 33, 2, 0, time.UTC),
				Description: "Session ended (replay: https://replay.example.com/sessions/sess_anon_8d41c07f)",
				SessionID:   "sess_anon_8d41c07f",
			}},
		},
		{
			file: "rrweb-batch-identified.json",
			events: []normalize.Event{
				dana(normalize.Event{Kind: "pageview", URL: checkout, Time: ms(1741945320000)}),
				// three keystrokes into node 54: one action at the first; the focus event is skipped
				dana(normalize.Event{Kind: "type", Label: "input #54", URL: checkout, Time: ms(1741945332400)}),
				dana(normalize.Event{Kind: "click", Label: "Place order", URL: checkout, Time: ms(1741945345500)}),
				dana(normalize.Event{Kind: "custom", Label: "Checkout Failed: amount=129.9 reason=card_declined", URL: checkout, Time: ms(1741945346100)}),
			},
			identities: []normalize.Identity{{AnonymousID: "anon_5f0c9e2b", UserID: user, Email: email}},
		},
		{
			file: "rrweb-batch-anonymous.json",
			events: []normalize.Event{
				anon(normalize.Event{Kind: "pageview", URL: "https://shop.example.com/", Time: ms(1741944690000)}),
				anon(normalize.Event{Kind: "click", Label: "element #12", URL: "https://shop.example.com/", Time: ms(1741944695250)}),
				anon(normalize.Event{Kind: "pageview", URL: "https://shop.example.com/products/trail-runner-2", Time: ms(1741944696000)}),
				anon(normalize.Event{Kind: "click", Label: "Add to cart", URL: "https://shop.example.com/products/trail-runner-2", Time: ms(1741944700100)}),
			},
		},
		{
			file: "rrweb-odd.json",
			events: []normalize.Event{
				odd(normalize.Event{Kind: "click", Label: "Zur Kasse – jetzt bezahlen 🛒", Time: ms(1741945345500)}),
				odd(normalize.Event{Kind: "type", Label: "input #60"}), // no timestamp: receive time
				odd(normalize.Event{Kind: "type", Label: "input #61", Time: ms(1741945346000)}),
				odd(normalize.Event{Kind: "type", Label: "input #60", Time: ms(1741945346200)}), // back to #60: a new action
				odd(normalize.Event{Kind: "click", Time: ms(1741945346300)}),                    // no id, no text
				odd(normalize.Event{Kind: "custom", Label: longTag, Time: ms(1741945347000)}),
				// the plugin event (type 6) and the Meta event without href are skipped
			},
		},
		{file: "rrweb-nothing-mappable.json", ignored: true},
		{file: "actions-identified.json", payloads: 1},
		{file: "summary.json", summaries: 1},
		{file: "unknown-type.json", ignored: true},
	}
	p := providertest.New[*Provider](t, New, settings())
	fx := providertest.Fixtures(t, "")
	if len(tests) != len(fx) {
		t.Fatalf("%d fixtures, %d table rows: every fixture needs its expected mapping", len(fx), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, ok := fx[tt.file]
			if !ok {
				t.Fatalf("no fixture %s", tt.file)
			}
			h := p.Sign(body, specSecret, now)
			d, err := p.Parse(&providers.Request{Header: h, Body: body, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if d.ID != h.Get(IDHeader) {
				t.Fatalf("ID %q, want the webhook-id %q", d.ID, h.Get(IDHeader))
			}
			if (d.Ignored != "") != tt.ignored {
				t.Fatalf("Ignored = %q", d.Ignored)
			}
			if len(d.Payloads) != tt.payloads || len(d.Summaries) != tt.summaries {
				t.Fatalf("%d payloads, %d summaries", len(d.Payloads), len(d.Summaries))
			}
			if len(d.Events) != len(tt.events) {
				t.Fatalf("%d events, want %d: %+v", len(d.Events), len(tt.events), d.Events)
			}
			for i := range tt.events {
				if d.Events[i] != tt.events[i] {
					t.Errorf("event %d\n got %+v\nwant %+v", i, d.Events[i], tt.events[i])
				}
			}
			if fmt.Sprint(d.Identities) != fmt.Sprint(tt.identities) {
				t.Errorf("identities %+v, want %+v", d.Identities, tt.identities)
			}
		})
	}
}

func TestParseActionsAndSummary(t *testing.T) {
	p := providertest.New[*Provider](t, New, settings())
	fx := providertest.Fixtures(t, "")
	d, err := p.Parse(&providers.Request{Header: http.Header{}, Body: fx["actions-identified.json"], Now: now})
	if err != nil {
		t.Fatal(err)
	}
	a := d.Payloads[0]
	if a.Type != "actions" || a.ProductID != "prod_shop" || normalize.Str(a.SessionID) != "sess_2mQ1vWbqk7TzHn4cX9aLrE" ||
		normalize.Str(a.UserID) != "usr_48213" || a.Count != 2 || a.Actions[1].Title != "Click Place order" {
		t.Fatalf("payload %+v", a)
	}
	if d.ID != "" {
		t.Fatalf("no webhook-id header (unsigned source) must give an empty ID, got %q", d.ID)
	}
	d, err = p.Parse(&providers.Request{Body: fx["summary.json"], Now: now})
	if err != nil {
		t.Fatal(err)
	}
	s := d.Summaries[0]
	if s.Type != "summary" || normalize.Str(s.SessionID) != "sess_2mQ1vWbqk7TzHn4cX9aLrE" || !strings.HasPrefix(s.Summary, "Dana reached") {
		t.Fatalf("summary %+v", s)
	}
	// The envelope names the type; data's own "type" does not matter.
	d, err = p.Parse(&providers.Request{Body: []byte(`{"type":"actions","data":{"type":"summary","session_id":"s1"}}`), Now: now})
	if err != nil || d.Payloads[0].Type != "actions" || len(d.Payloads[0].Actions) != 0 {
		t.Fatalf("%+v %v", d, err)
	}
}

func TestParseErrors(t *testing.T) {
	p := providertest.New[*Provider](t, New, settings())
	tests := []struct {
		body  string
		want  error
		field string // first field named, for ErrInvalidPayload
	}{
		{body: ``, want: providers.ErrMalformedJSON},
		{body: `[{"type":"actions"}]`, want: providers.ErrMalformedJSON},
		{body: `"actions"`, want: providers.ErrMalformedJSON},
		{body: `{"type":"actions"`, want: providers.ErrMalformedJSON},
		{body: `{"type":5}`, want: providers.ErrInvalidPayload, field: "type"},
		{body: `{"type":["actions"]}`, want: providers.ErrInvalidPayload, field: "type"},
		{body: `{"type":"actions"}`, want: providers.ErrInvalidPayload, field: "data"},
		{body: `{"type":"actions","data":[1]}`, want: providers.ErrInvalidPayload, field: "data"},
		{body: `{"type":"actions","data":{"actions":"no"}}`, want: providers.ErrInvalidPayload, field: "data.actions"},
		{body: `{"type":"actions","data":{"actions":[{"index":"x"}]}}`, want: providers.ErrInvalidPayload, field: "data.actions[0].index"},
		{body: `{"type":"summary","data":"text"}`, want: providers.ErrInvalidPayload, field: "data"},
		{body: `{"type":"summary","data":{"replaces":"x"}}`, want: providers.ErrInvalidPayload, field: "data.replaces"},
		{body: `{"type":"session.ended","data":null}`, want: providers.ErrInvalidPayload, field: "data"},
		{body: `{"type":"session.ended","data":{}}`, want: providers.ErrInvalidPayload, field: "data.session_id"},
		{body: `{"type":"session.ended","data":{"session_id":"s","user":"usr_48213"}}`, want: providers.ErrInvalidPayload, field: "data.user"},
		{body: `{"type":"session.ended","data":{"session_id":"s","user":{"id":{"x":1}}}}`, want: providers.ErrInvalidPayload, field: "data.user.id"},
		{body: `{"type":"session.ended","data":{"session_id":"s","ended_at":"yesterday"}}`, want: providers.ErrInvalidPayload, field: "data.ended_at"},
		{body: `{"type":"session.ended","data":{"session_id":"s","started_at":1741944978}}`, want: providers.ErrInvalidPayload, field: "data.started_at"},
		{body: `{"type":"session.ended","data":{"session_id":"s","ended_at":"1900-01-01T00:00:00Z"}}`, want: providers.ErrInvalidPayload, field: "data.ended_at"},
		{body: `{"type":"rrweb.batch","data":"x"}`, want: providers.ErrInvalidPayload, field: "data"},
		{body: `{"type":"rrweb.batch","data":{"events":[]}}`, want: providers.ErrInvalidPayload, field: "data.session_id"},
		{body: `{"type":"rrweb.batch","data":{"session_id":"  "}}`, want: providers.ErrInvalidPayload, field: "data.session_id"},
		{body: `{"type":"rrweb.batch","data":{"session_id":"s","user_id":true}}`, want: providers.ErrInvalidPayload, field: "data.user_id"},
		{body: `{"type":"rrweb.batch","data":{"session_id":"s","events":{"type":4}}}`, want: providers.ErrInvalidPayload, field: "data.events"},
		{body: `{"type":"rrweb.batch","data":{"session_id":"s","events":[7]}}`, want: providers.ErrInvalidPayload, field: "data.events[0]"},
		{body: `{"type":"rrweb.batch","data":{"session_id":"s","events":[{"type":"meta"}]}}`, want: providers.ErrInvalidPayload, field: "data.events[0].type"},
		{body: `{"type":"rrweb.batch","data":{"session_id":"s","events":[{"type":4.5}]}}`, want: providers.ErrInvalidPayload, field: "data.events[0].type"},
		{body: `{"type":"rrweb.batch","data":{"session_id":"s","events":[{"type":4}]}}`, want: providers.ErrInvalidPayload, field: "data.events[0].data"},
		{body: `{"type":"rrweb.batch","data":{"session_id":"s","events":[{"type":4,"data":{"href":[]}}]}}`, want: providers.ErrInvalidPayload, field: "data.events[0].data.href"},
		{body: `{"type":"rrweb.batch","data":{"session_id":"s","events":[{"type":3,"data":{"source":"two"}}]}}`, want: providers.ErrInvalidPayload, field: "data.events[0].data.source"},
		{body: `{"type":"rrweb.batch","data":{"session_id":"s","events":[{"type":3,"data":{"source":2,"type":2,"id":"eighty"}}]}}`, want: providers.ErrInvalidPayload, field: "data.events[0].data.id"},
		{body: `{"type":"rrweb.batch","data":{"session_id":"s","events":[{"type":5,"data":{"tag":"x"},"timestamp":-1}]}}`, want: providers.ErrInvalidPayload, field: "data.events[0].timestamp"},
		{body: `{"type":"rrweb.batch","data":{"session_id":"s","events":[{"type":5,"data":{"tag":"x"},"timestamp":1e300}]}}`, want: providers.ErrInvalidPayload, field: "data.events[0].timestamp"},
		{body: `{"type":"rrweb.batch","data":{"session_id":"s","events":[{"type":5,"data":{"tag":"x"},"timestamp":"soon"}]}}`, want: providers.ErrInvalidPayload, field: "data.events[0].timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			_, err := p.Parse(&providers.Request{Body: []byte(tt.body), Now: now})
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.field == "" {
				return
			}
			var fe *providers.FieldsError
			if !errors.As(err, &fe) || len(fe.Fields) == 0 || fe.Fields[0].Field != tt.field {
				t.Fatalf("want field %q named first, got %v", tt.field, err)
			}
		})
	}
}

// TestParseLenient: what rrweb.batch and session.ended accept without error.
func TestParseLenient(t *testing.T) {
	p := providertest.New[*Provider](t, New, settings())
	tests := []struct {
		name, body string
		ignored    bool
		events     int
	}{
		{name: "no type", body: `{"data":{}}`, ignored: true},
		{name: "null type", body: `{"type":null}`, ignored: true},
		{name: "unknown type", body: `{"type":"user.created","data":7}`, ignored: true},
		{name: "type names are exact", body: `{"type":"Actions","data":{}}`, ignored: true},
		{name: "rrweb alias", body: `{"type":"rrweb","data":{"session_id":"s","events":[{"type":5,"data":{"tag":"t"}}]}}`, events: 1},
		{name: "no events", body: `{"type":"rrweb.batch","data":{"session_id":"s"}}`, ignored: true},
		{name: "null events", body: `{"type":"rrweb.batch","data":{"session_id":"s","events":null}}`, ignored: true},
		{name: "skipped events are not checked", body: `{"type":"rrweb.batch","data":{"session_id":"s","events":[{"type":2,"data":"??","timestamp":"x"},{"type":3,"data":{"source":1,"positions":"?"},"timestamp":"x"}]}}`, ignored: true},
		{name: "unknown event type numbers are skipped", body: `{"type":"rrweb.batch","data":{"session_id":"s","events":[{"type":99},{"type":-1},{}]}}`, ignored: true},
		{name: "a click without data.type is not a click", body: `{"type":"rrweb.batch","data":{"session_id":"s","events":[{"type":3,"data":{"source":2,"id":4}}]}}`, ignored: true},
		{name: "timestamp 0 is unknown", body: `{"type":"rrweb.batch","data":{"session_id":"s","events":[{"type":5,"data":{"tag":"t"},"timestamp":0}]}}`, events: 1},
		{name: "session.ended with numbers as ids", body: `{"type":"session.ended","data":{"session_id":12,"user_id":48213,"user":null}}`, events: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := p.Parse(&providers.Request{Body: []byte(tt.body), Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if (d.Ignored != "") != tt.ignored || len(d.Events) != tt.events {
				t.Fatalf("ignored %q, %d events: %+v", d.Ignored, len(d.Events), d.Events)
			}
		})
	}
}

func TestParseNeverStoresTypedText(t *testing.T) {
	p := providertest.New[*Provider](t, New, settings())
	body := providertest.Fixtures(t, "")["rrweb-odd.json"]
	d, err := p.Parse(&providers.Request{Body: body, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%+v", d)
	for _, typed := range []string{"secret-password", "dana.whitfield@example.com"} {
		if !strings.Contains(string(body), typed) {
			t.Fatalf("fixture lost its typed text %q", typed)
		}
		if strings.Contains(got, typed) {
			t.Fatalf("typed text %q reached the delivery: %s", typed, got)
		}
	}
}

func TestRRWebBounds(t *testing.T) {
	p := providertest.New[*Provider](t, New, settings())
	batch := func(events []string) []byte {
		return []byte(`{"type":"rrweb.batch","data":{"session_id":"s","events":[` + strings.Join(events, ",") + `]}}`)
	}
	click := func(i int) string {
		return fmt.Sprintf(`{"type":3,"data":{"source":2,"type":2,"id":%d},"timestamp":%d}`, i, 1741945320000+int64(i))
	}
	move := `{"type":3,"data":{"source":1,"positions":[]}}`

	t.Run("at most MaxBatchActions actions, the first ones", func(t *testing.T) {
		var evs []string
		for i := range MaxBatchActions + 5 {
			evs = append(evs, click(i))
		}
		d, err := p.Parse(&providers.Request{Body: batch(evs), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Events) != MaxBatchActions || d.Events[MaxBatchActions-1].Label != fmt.Sprintf("element #%d", MaxBatchActions-1) {
			t.Fatalf("%d events", len(d.Events))
		}
	})
	t.Run("events after MaxRRWebEvents are not read", func(t *testing.T) {
		evs := make([]string, 0, MaxRRWebEvents+1)
		for range MaxRRWebEvents {
			evs = append(evs, move)
		}
		evs = append(evs, click(1))
		d, err := p.Parse(&providers.Request{Body: batch(evs), Now: now})
		if err != nil || d.Ignored == "" {
			t.Fatalf("the click past the bound was read: %+v %v", d.Events, err)
		}
		d, err = p.Parse(&providers.Request{Body: batch(evs[1:]), Now: now})
		if err != nil || len(d.Events) != 1 {
			t.Fatalf("the click at the bound was not read: %+v %v", d, err)
		}
	})
	t.Run("field errors are bounded", func(t *testing.T) {
		var evs []string
		for range 500 {
			evs = append(evs, `{"type":"x"}`)
		}
		_, err := p.Parse(&providers.Request{Body: batch(evs), Now: now})
		var fe *providers.FieldsError
		if !errors.As(err, &fe) || len(fe.Fields) != maxFieldErrors {
			t.Fatalf("want %d field errors, got %v", maxFieldErrors, err)
		}
	})
	t.Run("svix-id is the ID when no webhook-* header is present", func(t *testing.T) {
		h := http.Header{}
		h.Set(SvixIDHeader, "msg_svix_1")
		d, err := p.Parse(&providers.Request{Header: h, Body: batch([]string{click(1)}), Now: now})
		if err != nil || d.ID != "msg_svix_1" {
			t.Fatalf("ID %q, %v", d.ID, err)
		}
	})
	t.Run("an oversized webhook-id is not a dedupe key", func(t *testing.T) {
		h := http.Header{}
		h.Set(IDHeader, strings.Repeat("m", 257))
		d, err := p.Parse(&providers.Request{Header: h, Body: batch([]string{click(1)}), Now: now})
		if err != nil || d.ID != "" {
			t.Fatalf("ID %q, %v", d.ID, err)
		}
	})
}

// actionLine is the SDK's action line, as EVENTS.md shows it:
// "[{index}] {type}: {description} — {canonical_url}".
func actionLine(a normalize.SlimAction) string {
	return fmt.Sprintf("[%d] %s: %s \u2014 %s", a.Index, a.Type, a.Description, a.CanonicalURL)
}

// TestEventsDoc keeps EVENTS.md honest: every envelope example in it
// parses, and the rrweb example gives the activity lines it shows.
func TestEventsDoc(t *testing.T) {
	doc, err := os.ReadFile("EVENTS.md")
	if err != nil {
		t.Fatal(err)
	}
	p := providertest.New[*Provider](t, New, settings())
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	var rrweb, ended *providers.Delivery
	parsed := 0
	for _, b := range blocks {
		body := []byte(b[1])
		if strings.Contains(b[1], `"<event type>"`) {
			continue // the envelope's shape, not an example
		}
		d, err := p.Parse(&providers.Request{Body: body, Now: now})
		if err != nil || d.Ignored != "" {
			t.Fatalf("EVENTS.md example does not parse: %v %q\n%s", err, d.Ignored, body)
		}
		parsed++
		if strings.Contains(b[1], `"rrweb.batch"`) {
			rrweb = d
		}
		if strings.Contains(b[1], `"session.ended"`) {
			ended = d
		}
	}
	if parsed != 4 || rrweb == nil || ended == nil {
		t.Fatalf("found %d examples (want actions, summary, rrweb.batch, session.ended)", parsed)
	}
	payloads := normalize.Payloads(rrweb.Events, now)
	var lines []string
	for i, a := range payloads[0].Actions {
		lines = append(lines, fmt.Sprintf("%d. %s", i+1, actionLine(a)))
	}
	want := "```\n" + strings.Join(lines, "\n") + "\n```"
	if !strings.Contains(string(doc), want) {
		t.Fatalf("EVENTS.md should show the rrweb example's activity as\n%s", want)
	}
	line := actionLine(normalize.Payloads(ended.Events, now)[0].Actions[0])
	if !strings.Contains(string(doc), "`"+line+"`") {
		t.Fatalf("EVENTS.md should show the session.ended action as `%s`", line)
	}
}

// rrweb custom events keep their payload as readable text: Sentry Replay's
// breadcrumbs (clicks, navigations) and performance spans, as the Sentry
// JavaScript SDK records them.
func TestCustomEventPayloadIsText(t *testing.T) {
	p := providertest.New[*Provider](t, New, settings())
	tests := []struct{ event, want string }{
		{`{"type":5,"timestamp":1741945266571,"data":{"tag":"breadcrumb","payload":{"timestamp":1741945266.571,"type":"default","category":"ui.click","message":"body > main > form#payment-form > button.btn.btn-primary","data":{"nodeId":42}}}}`,
			"breadcrumb: ui.click body > main > form#payment-form > button.btn.btn-primary"},
		{`{"type":5,"timestamp":1741945260000,"data":{"tag":"breadcrumb","payload":{"timestamp":1741945260.0,"type":"default","category":"navigation","data":{"from":"/cart","to":"/checkout?step=payment"}}}}`,
			"breadcrumb: navigation /cart → /checkout?step=payment"},
		{`{"type":5,"timestamp":1741945260100,"data":{"tag":"performanceSpan","payload":{"op":"navigation.navigate","description":"https://shop.example.com/checkout?step=payment","startTimestamp":1741945260.1,"endTimestamp":1741945261.2,"data":{"size":1024}}}}`,
			"performanceSpan: navigation.navigate https://shop.example.com/checkout?step=payment"},
		{`{"type":5,"timestamp":1741945260100,"data":{"tag":"options","payload":"sessionSampleRate=0.1"}}`, "options: sessionSampleRate=0.1"},
		{`{"type":5,"timestamp":1741945260100,"data":{"tag":"Checkout Failed"}}`, "Checkout Failed"},
		{`{"type":5,"timestamp":1741945260100,"data":{"tag":"x","payload":{"note":"` + strings.Repeat("é", 400) + `"}}}`, "x: note=" + strings.Repeat("é", 147) + "…"},
	}
	for _, tt := range tests {
		body := `{"type":"rrweb.batch","timestamp":"2025-03-14T09:43:05.000Z","data":{"session_id":"s","url":"https://shop.example.com/checkout","events":[` + tt.event + `]}}`
		d, err := p.Parse(&providers.Request{Header: p.Sign([]byte(body), specSecret, now), Body: []byte(body), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Events) != 1 || d.Events[0].Kind != "custom" || d.Events[0].Label != tt.want {
			t.Errorf("%s:\n got %+v\nwant label %q", tt.event, d.Events, tt.want)
		}
	}
}

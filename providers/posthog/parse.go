package posthog

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/vendorjson"
)

// EventUUIDHeader is an optional header a customer can template
// ({event.uuid}) into the webhook destination: the delivery id when the body
// itself carries no uuid (the Autoplay Hog function's flat body has none).
const EventUUIDHeader = "X-PostHog-Event-UUID"

// maxIDBytes bounds a delivery id taken from the body or a header; a longer
// one is not used (the pipeline then hashes the raw body).
const maxIDBytes = 256

// event is one PostHog event with the fields replayhook reads, from either
// body shape.
type event struct {
	uuid       string
	name       string
	distinctID string
	time       time.Time
	sessionID  string
	url        string
	eventType  string
	// elText is the $el_text property; flatText the flat body's
	// button_or_link_text, which the Hog function cut naively out of
	// elements_chain.
	elText   string
	flatText string
	chain    string
	// userProp is the $user_id property (flat: user_id).
	userProp       string
	deviceID       string
	anonDistinctID string
	isIdentified   vendorjson.OptBool
	processPerson  vendorjson.OptBool
	email          string
	props          vendorjson.Object
}

// Parse maps one delivery to at most one event (see doc.go for the table).
// The body is either the webhook destination's default {"event":{...},
// "person":{...}} or a flat object whose "event" is the event name (the
// Autoplay quickstart's Hog function, or a template that sends the event
// global alone); the shape decides, not a header. Delivery.ID is the event
// uuid, else the X-PostHog-Event-UUID header, else "" (body hash).
func (p *Provider) Parse(req *providers.Request) (*providers.Delivery, error) {
	body := bytes.TrimSpace(req.Body)
	if !json.Valid(body) {
		return nil, providers.Reject(providers.ErrMalformedJSON, "body is not valid JSON")
	}
	if body[0] != '{' {
		return nil, providers.Reject(providers.ErrMalformedJSON, "body is not a JSON object")
	}
	var top vendorjson.Object
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, providers.Reject(providers.ErrMalformedJSON, "body is not a JSON object")
	}
	ev, err := readEvent(top)
	if err != nil {
		return nil, err
	}
	d := &providers.Delivery{ID: deliveryID(ev.uuid)}
	if d.ID == "" && req.Header != nil {
		d.ID = deliveryID(req.Header.Get(EventUUIDHeader))
	}

	user, anon := identify(ev)
	if ev.name == "$identify" {
		d.Ignored = ignoredReason(ev.name, "identify links ids but is not a user action")
		if ev.anonDistinctID != "" && user != "" && ev.anonDistinctID != user {
			d.Identities = []normalize.Identity{{AnonymousID: ev.anonDistinctID, UserID: user, Email: ev.email}}
		}
		// The session the identify happened in is the user's from now on,
		// with the anonymous activity it already holds.
		if user != "" && ev.sessionID != "" {
			d.Links = []providers.Link{{UserID: user, Email: ev.email, SessionID: ev.sessionID, At: ev.time}}
		}
		return d, nil
	}
	out, reason := mapEvent(ev)
	if reason != "" {
		d.Ignored = ignoredReason(ev.name, reason)
		return d, nil
	}
	out.SessionID, out.UserID, out.AnonymousID, out.Email = ev.sessionID, user, anon, ev.email
	out.URL, out.Time = ev.url, ev.time
	d.Events = []normalize.Event{out}
	if user != "" && ev.deviceID != "" && ev.deviceID != user {
		d.Identities = []normalize.Identity{{AnonymousID: ev.deviceID, UserID: user, Email: ev.email}}
	}
	return d, nil
}

// readEvent tells the two body shapes apart by the type of "event" and
// reads the fields replayhook uses. Flat keys (session_id, current_url,
// ...) win over the $-properties they stand for.
func readEvent(top vendorjson.Object) (event, error) {
	var obj vendorjson.Object
	raw := bytes.TrimSpace(top["event"])
	switch {
	case len(raw) > 0 && raw[0] == '{':
		if err := json.Unmarshal(raw, &obj); err != nil {
			return event{}, vendorjson.FieldError("event", "not an object")
		}
	case len(raw) > 0 && raw[0] == '"':
		obj = top
	default:
		return event{}, vendorjson.FieldError("event", `missing: expected {"event":{...},"person":{...}} or a flat body whose "event" is the event name`)
	}
	props := obj.Obj("properties")
	get := func(flatKey, propKey string) string {
		if v := obj.Str(flatKey); v != "" {
			return v
		}
		return props.Str(propKey)
	}
	ev := event{
		uuid:           obj.Str("uuid"),
		name:           obj.Str("event"),
		distinctID:     get("distinct_id", "distinct_id"),
		time:           vendorjson.ParseTime(get("timestamp", "$time")),
		sessionID:      get("session_id", "$session_id"),
		url:            pageURL(get("current_url", "$current_url"), get("host", "$host"), get("pathname", "$pathname")),
		eventType:      strings.ToLower(get("event_type", "$event_type")),
		elText:         props.Str("$el_text"),
		flatText:       obj.Str("button_or_link_text"),
		chain:          get("elements_chain", "$elements_chain"),
		userProp:       get("user_id", "$user_id"),
		deviceID:       get("device_id", "$device_id"),
		anonDistinctID: get("anon_distinct_id", "$anon_distinct_id"),
		isIdentified:   obj.Bool("is_identified").Or(props.Bool("$is_identified")),
		processPerson:  props.Bool("$process_person_profile"),
		props:          props,
	}
	if ev.name == "" {
		return event{}, vendorjson.FieldError("event", "the event name is empty")
	}
	person := top.Obj("person").Obj("properties")
	for _, e := range []string{person.Str("email"), props.Str("email"), obj.Str("email"), props.Obj("$set").Str("email")} {
		if e != "" {
			ev.email = e
			break
		}
	}
	return ev, nil
}

// pageURL is $current_url, else the page rebuilt from $host and $pathname
// (mobile and server SDKs send those without a $current_url), else the
// path alone.
func pageURL(current, host, path string) string {
	switch {
	case current != "":
		return current
	case host != "":
		return "https://" + host + path
	}
	return path
}

// identify decides whether distinct_id names a user or an anonymous
// visitor (see doc.go, "Users and anonymous visitors"). It returns the user
// id ("" for an anonymous visitor) and the anonymous id, if any.
func identify(ev event) (user, anon string) {
	distinct := ev.distinctID
	switch {
	case ev.userProp != "":
		user = ev.userProp
	case distinct == "":
	case ev.isIdentified.Set && ev.isIdentified.V:
		user = distinct
	case ev.isIdentified.Set && !ev.isIdentified.V, ev.processPerson.Set && !ev.processPerson.V:
		anon = distinct
	case ev.deviceID != "" && distinct == ev.deviceID:
		anon = distinct
	case ev.deviceID == "" && isUUIDv7(distinct):
		anon = distinct
	default:
		user = distinct
	}
	if anon == "" && ev.deviceID != "" && ev.deviceID != user {
		anon = ev.deviceID
	}
	return user, anon
}

// ignored lists the PostHog events that carry no user action, with the
// reason given back to the sender.
var ignored = map[string]string{
	"$pageleave":           "page leave carries no user action",
	"$set":                 "person property update is not a user action",
	"$set_once":            "person property update is not a user action",
	"$groupidentify":       "group identify is not a user action",
	"$create_alias":        "alias links ids but is not a user action",
	"$merge_dangerously":   "alias links ids but is not a user action",
	"$feature_flag_called": "feature flag evaluation is not a user action",
	"$web_vitals":          "web vitals are performance measurements, not user actions",
	"$$heatmap":            "heatmap data is not an action (clicks arrive as $autocapture)",
	"$heatmap":             "heatmap data is not an action (clicks arrive as $autocapture)",
	"$snapshot":            "session recording data is not stored",
	"$opt_in":              "consent bookkeeping is not a user action",
	"survey shown":         "a survey being shown is not an answer",
	"survey dismissed":     "a dismissed survey carries no answer",
}

// mapEvent turns the event into an action (Kind, Label, Title), or returns
// why it is ignored.
func mapEvent(ev event) (normalize.Event, string) {
	switch ev.name {
	case "$pageview":
		return normalize.Event{Kind: "pageview", Label: ev.props.Str("title")}, ""
	case "$screen":
		return normalize.Event{Kind: "pageview", Label: ev.props.Str("$screen_name")}, ""
	case "$autocapture":
		kind := "click"
		switch ev.eventType {
		case "submit":
			kind = "submit"
		case "change":
			kind = "type"
		case "focus", "blur":
			kind = ev.eventType
		}
		return normalize.Event{Kind: kind, Label: elementLabel(ev)}, ""
	case "$rageclick":
		return normalize.Event{Kind: "click", Label: prefixed("(rage click)", elementLabel(ev))}, ""
	case "$dead_click":
		return normalize.Event{Kind: "click", Label: prefixed("(dead click)", elementLabel(ev))}, ""
	case "$exception":
		return normalize.Event{Kind: "error", Label: exceptionLabel(ev.props)}, ""
	case "survey sent":
		return normalize.Event{Kind: "custom", Label: surveyLabel(ev.props)}, ""
	}
	if reason, ok := ignored[ev.name]; ok {
		return normalize.Event{}, reason
	}
	if strings.HasPrefix(ev.name, "$") {
		return normalize.Event{}, "PostHog internal event carries no user action"
	}
	return normalize.Event{Kind: "custom", Label: ev.name}, ""
}

// elementLabel names the element acted on: $el_text, else the first
// text="..." in elements_chain, else the flat body's button_or_link_text
// (our parse of the chain comes first: the Hog function's extraction stops
// at an escaped quote and can match inside attr__data-text), else an
// aria-label in the chain, else the acted-on element's name or id.
func elementLabel(ev event) string {
	for _, v := range []string{ev.elText, chainAttr(ev.chain, "text"), ev.flatText, chainAttr(ev.chain, "attr__aria-label")} {
		if v != "" {
			return v
		}
	}
	first := splitChain(ev.chain)[0]
	for _, key := range []string{"attr__name", "attr__id"} {
		if v := strings.TrimSpace(elementAttr(first, key)); v != "" {
			return v
		}
	}
	return ""
}

// exceptionLabel is "<type>: <message>" from the first entry of
// $exception_list, else from $exception_type / $exception_message.
func exceptionLabel(props vendorjson.Object) string {
	typ, msg := props.Str("$exception_type"), props.Str("$exception_message")
	var list []vendorjson.Object
	if raw := props["$exception_list"]; len(raw) > 0 && json.Unmarshal(raw, &list) == nil && len(list) > 0 {
		if t := list[0].Str("type"); t != "" {
			typ = t
		}
		if m := list[0].Str("value"); m != "" {
			msg = m
		}
	}
	switch {
	case typ != "" && msg != "":
		return typ + ": " + msg
	case typ != "":
		return typ
	case msg != "":
		return msg
	}
	return "Exception"
}

// surveyLabel is `Survey "<name>" answered: <response>`; a multiple-choice
// response is joined with ", ".
func surveyLabel(props vendorjson.Object) string {
	label := "Survey"
	if name := props.Str("$survey_name"); name != "" {
		label += " " + strconv.Quote(name)
	}
	label += " answered"
	resp := props.Str("$survey_response")
	if resp == "" {
		var many []json.RawMessage
		if json.Unmarshal(props["$survey_response"], &many) == nil {
			parts := []string{}
			for _, m := range many {
				if s := vendorjson.String(m); s != "" {
					parts = append(parts, s)
				}
			}
			resp = strings.Join(parts, ", ")
		}
	}
	if resp != "" {
		label += ": " + resp
	}
	return label
}

func prefixed(prefix, label string) string {
	if label == "" {
		return prefix
	}
	return prefix + " " + label
}

func ignoredReason(name, why string) string {
	if len(name) > 64 {
		name = name[:64] + "…"
	}
	return "posthog event " + strconv.Quote(strings.ToValidUTF8(name, "?")) + " ignored: " + why
}

func deliveryID(id string) string {
	id = strings.TrimSpace(id)
	if len(id) > maxIDBytes {
		return ""
	}
	return id
}

// isUUIDv7 reports whether s is a canonical UUID whose version nibble is 7,
// the shape of posthog-js anonymous distinct ids and device ids.
func isUUIDv7(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
				return false
			}
		}
	}
	return s[14] == '7'
}

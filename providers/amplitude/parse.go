package amplitude

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/vendorjson"
)

// Event property names of Amplitude's Browser SDK autocapture.
const (
	propReplayID     = "[Amplitude] Session Replay ID"
	propPageURL      = "[Amplitude] Page URL"
	propPageLocation = "[Amplitude] Page Location"
	propPageTitle    = "[Amplitude] Page Title"
	propElementText  = "[Amplitude] Element Text"
	propElementAria  = "[Amplitude] Element Aria Label"
	propFormName     = "[Amplitude] Form Name"
	propFormID       = "[Amplitude] Form ID"
)

// maxBatch bounds the events of one delivery.
const maxBatch = 1000

// maxIDBytes bounds an insert_id or uuid used as a dedupe key; a longer one
// is not used.
const maxIDBytes = 256

// event is one Amplitude event with the fields replayhook reads.
type event struct {
	eventType string
	userID    string
	deviceID  string
	sessionID string
	time      time.Time
	email     string
	// key is insert_id, else $insert_id, else uuid ("" when none or too long).
	key   string
	props vendorjson.Object
}

// Parse accepts one Amplitude event (the export JSON format the webhook
// sync forwards by default), a JSON array of events, or {"events": [...]}
// (the HTTP API's batch shape). Every event becomes at most one action (see
// doc.go); ignored events are dropped, and a delivery where every event is
// ignored is acknowledged with the first reason. Delivery.ID is the event's
// insert_id (else uuid); for a batch it is derived from all of them (see
// batchID), and empty when any event has none.
func (p *Provider) Parse(req *providers.Request) (*providers.Delivery, error) {
	raws, batch, err := split(req.Body)
	if err != nil {
		return nil, err
	}
	if len(raws) == 0 {
		return &providers.Delivery{Ignored: "amplitude batch is empty"}, nil
	}
	events := make([]event, 0, len(raws))
	for i, raw := range raws {
		ev, err := readEvent(raw)
		if err != nil {
			if batch {
				return nil, vendorjson.FieldError("events["+strconv.Itoa(i)+"]", err.Error())
			}
			return nil, vendorjson.FieldError("body", err.Error())
		}
		events = append(events, ev)
	}

	d := &providers.Delivery{ID: deliveryID(events)}
	var firstIgnored string
	for _, ev := range events {
		if ev.userID != "" && ev.deviceID != "" {
			d.Identities = normalize.AddIdentity(d.Identities, normalize.Identity{AnonymousID: ev.deviceID, UserID: ev.userID, Email: ev.email})
		}
		out, reason := mapEvent(ev)
		if reason != "" {
			if firstIgnored == "" {
				firstIgnored = reason
			}
			continue
		}
		out.SessionID, out.UserID, out.AnonymousID, out.Email = ev.sessionID, ev.userID, ev.deviceID, ev.email
		out.URL, out.Time = pageURL(ev.props), ev.time
		d.Events = append(d.Events, out)
	}
	if len(d.Events) == 0 {
		d.Ignored = firstIgnored
		if len(events) > 1 {
			d.Ignored = "amplitude batch of " + strconv.Itoa(len(events)) + " events, all ignored; first: " + firstIgnored
		}
	}
	return d, nil
}

// split returns the raw events of the body: the object itself, or (batch)
// the array's elements or the elements of "events". Scalars and broken JSON
// are malformed; a wrong "events" is an invalid payload.
func split(body []byte) (raws []json.RawMessage, batch bool, err error) {
	body = bytes.TrimSpace(body)
	if !json.Valid(body) {
		return nil, false, providers.Reject(providers.ErrMalformedJSON, "body is not valid JSON")
	}
	switch body[0] {
	case '[':
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, false, providers.Reject(providers.ErrMalformedJSON, "body is not a JSON array")
		}
	case '{':
		var top vendorjson.Object
		if err := json.Unmarshal(body, &top); err != nil {
			return nil, false, providers.Reject(providers.ErrMalformedJSON, "body is not a JSON object")
		}
		evs, hasEvents := top["events"]
		if !hasEvents || top["event_type"] != nil {
			return []json.RawMessage{body}, false, nil
		}
		if err := json.Unmarshal(evs, &raws); err != nil || raws == nil {
			return nil, false, vendorjson.FieldError("events", "not an array of events")
		}
	default:
		return nil, false, providers.Reject(providers.ErrMalformedJSON, "body is neither a JSON object nor an array")
	}
	if len(raws) > maxBatch {
		return nil, false, vendorjson.FieldError("events", "more than "+strconv.Itoa(maxBatch)+" events in one delivery")
	}
	for i := range raws {
		raws[i] = bytes.TrimSpace(raws[i])
	}
	return raws, true, nil
}

// eventError is a reason an event cannot be read.
type eventError string

func (e eventError) Error() string { return string(e) }

// readEvent reads one event. An object without event_type is accepted only
// when it is a user record (Amplitude's "Send Users" stream: user_id,
// device_id, user_properties); it is read with the event type "".
func readEvent(raw json.RawMessage) (event, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return event{}, eventError("not an object")
	}
	var o vendorjson.Object
	if err := json.Unmarshal(raw, &o); err != nil {
		return event{}, eventError("not an object")
	}
	props := o.Obj("event_properties")
	ev := event{
		eventType: o.Str("event_type"),
		userID:    o.Str("user_id"),
		deviceID:  o.Str("device_id"),
		sessionID: sessionID(o["session_id"]),
		email:     o.Obj("user_properties").Str("email"),
		props:     props,
	}
	if ev.eventType == "" && ev.userID == "" && ev.deviceID == "" && o["user_properties"] == nil {
		return event{}, eventError("no event_type (and not a user record)")
	}
	if ev.sessionID == "" {
		if r := props.Str(propReplayID); strings.Contains(r, "/") {
			ev.sessionID = sessionFromText(r[strings.LastIndex(r, "/")+1:])
		}
	}
	for _, k := range []string{"event_time", "client_event_time", "time"} {
		if t := vendorjson.ParseTime(o.Str(k)); !t.IsZero() {
			ev.time = t
			break
		}
	}
	for _, k := range []string{"insert_id", "$insert_id", "uuid"} {
		if v := o.Str(k); v != "" {
			if len(v) <= maxIDBytes {
				ev.key = v
			}
			break
		}
	}
	return ev, nil
}

// mapEvent turns the event into an action (Kind, Label), or returns why it
// is ignored.
func mapEvent(ev event) (normalize.Event, string) {
	switch ev.eventType {
	case "":
		return normalize.Event{}, "amplitude user record ignored: user properties are not a user action"
	case "[Amplitude] Page Viewed", "Page Viewed":
		return normalize.Event{Kind: "pageview", Label: ev.props.Str(propPageTitle)}, ""
	case "[Amplitude] Element Clicked":
		return normalize.Event{Kind: "click", Label: elementLabel(ev.props)}, ""
	case "[Amplitude] Element Changed":
		return normalize.Event{Kind: "type", Label: elementLabel(ev.props)}, ""
	case "[Amplitude] Rage Click":
		return normalize.Event{Kind: "click", Label: prefixed("(rage click)", elementLabel(ev.props))}, ""
	case "[Amplitude] Dead Click":
		return normalize.Event{Kind: "click", Label: prefixed("(dead click)", elementLabel(ev.props))}, ""
	case "[Amplitude] Form Started":
		return normalize.Event{Kind: "focus", Label: formLabel(ev.props)}, ""
	case "[Amplitude] Form Submitted":
		return normalize.Event{Kind: "submit", Label: formLabel(ev.props)}, ""
	case "session_start", "[Amplitude] Start Session":
		return normalize.Event{Kind: "session", Label: "Session started"}, ""
	case "session_end", "[Amplitude] End Session":
		return normalize.Event{Kind: "session", Label: "Session ended"}, ""
	case "$identify":
		return normalize.Event{}, ignoredReason(ev.eventType, "identify is not a user action")
	case "$groupidentify":
		return normalize.Event{}, ignoredReason(ev.eventType, "group identify is not a user action")
	}
	label := ev.eventType
	if rest, ok := strings.CutPrefix(label, "[Amplitude] "); ok && strings.TrimSpace(rest) != "" {
		label = strings.TrimSpace(rest)
	}
	return normalize.Event{Kind: "custom", Label: label}, ""
}

func elementLabel(props vendorjson.Object) string {
	if t := props.Str(propElementText); t != "" {
		return t
	}
	return props.Str(propElementAria)
}

func formLabel(props vendorjson.Object) string {
	if t := props.Str(propFormName); t != "" {
		return t
	}
	return props.Str(propFormID)
}

// pageURL is the first of [Amplitude] Page Location (the full href),
// [Amplitude] Page URL (the same without the query), page_url and url in
// the event properties.
func pageURL(props vendorjson.Object) string {
	for _, k := range []string{propPageLocation, propPageURL, "page_url", "url"} {
		if v := props.Str(k); v != "" {
			return v
		}
	}
	return ""
}

func prefixed(prefix, label string) string {
	if label == "" {
		return prefix
	}
	return prefix + " " + label
}

func ignoredReason(name, why string) string {
	return "amplitude event " + strconv.Quote(name) + " ignored: " + why
}

// deliveryID is the dedupe key: one event's insert_id/uuid, or for a batch
// batchID of all of them; "" (hash of the raw body) when any event has none.
func deliveryID(events []event) string {
	keys := make([]string, 0, len(events))
	for _, ev := range events {
		if ev.key == "" {
			return ""
		}
		keys = append(keys, ev.key)
	}
	if len(keys) == 1 {
		return keys[0]
	}
	return batchID(keys)
}

// batchID is "batch:" + hex SHA-256 of the JSON array of the sorted keys:
// the same set of events gives the same id whatever their order (a resent
// batch is a duplicate), the id stays short however large the batch, and
// the JSON encoding keeps keys from running into each other.
func batchID(keys []string) string {
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	b, _ := json.Marshal(sorted) // a []string always marshals
	sum := sha256.Sum256(b)
	return "batch:" + hex.EncodeToString(sum[:])
}

// sessionID reads Amplitude's session_id: a number of milliseconds (or a
// string of one), written as a plain decimal integer, never in float
// notation. Zero, negative (-1 means "no session") and non-integral numbers
// give "". A non-numeric string is kept as is (a customer's own id).
func sessionID(raw json.RawMessage) string { return sessionFromText(vendorjson.String(raw)) }

// sessionFromText is sessionID for text already read.
func sessionFromText(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if isDigits(s) {
		s = strings.TrimLeft(s, "0")
		return s // "" when it was all zeros
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f >= 1 && f < 1e15 && f == math.Trunc(f) {
			return strconv.FormatFloat(f, 'f', 0, 64)
		}
		return ""
	}
	if strings.HasPrefix(s, "-") && isDigits(s[1:]) {
		return "" // a negative integer too long for ParseFloat's range check above
	}
	return s
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

package standard

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/vendorjson"
)

// Bounds on one rrweb batch. A recorder posts a batch every few seconds, so
// real batches are far below both.
const (
	// MaxRRWebEvents is how many rrweb events of one batch are read; later
	// ones are not looked at.
	MaxRRWebEvents = 10000
	// MaxBatchActions is how many actions one batch maps to (an
	// ActionsPayload holds at most 1000); later ones are dropped.
	MaxBatchActions = 1000
	// maxFieldErrors stops reading a batch once this many fields are wrong.
	maxFieldErrors = 20
	// maxMillis is 9999-12-31T23:59:59.999Z in unix milliseconds.
	maxMillis = 253402300799999
)

// rrweb's numeric enums (rrweb/packages/types: EventType, IncrementalSource,
// MouseInteractions), limited to the values replayhook maps.
const (
	rrwebIncrementalSnapshot = 3
	rrwebMeta                = 4
	rrwebCustom              = 5

	sourceMouseInteraction = 2
	sourceInput            = 5

	mouseClick = 2
)

// parseRRWeb maps a batch of rrweb events (see EVENTS.md) to Events:
// Meta → pageview (and the page of the events after it), mouse Click →
// click, Input → type (never the typed text; consecutive inputs into the same
// field collapse into one action), Custom → custom named by its tag, with
// its payload as readable text (customLabel).
// Everything else (snapshots, mutations, mouse moves, scroll, viewport,
// media, canvas, ...) is skipped. A batch with nothing mappable is ignored.
func parseRRWeb(data json.RawMessage, d *providers.Delivery) error {
	f, err := decodeFields(data)
	if err != nil {
		return &providers.FieldsError{Fields: normalize.FieldErrors{{Field: "data", Reason: "must be an object"}}}
	}
	var errs normalize.FieldErrors
	base := normalize.Event{
		SessionID:   f.str("session_id", "data.", &errs),
		UserID:      f.str("user_id", "data.", &errs),
		Email:       f.str("email", "data.", &errs),
		ProductID:   f.str("product_id", "data.", &errs),
		AnonymousID: f.str("anonymous_id", "data.", &errs),
	}
	page := strings.TrimSpace(f.str("url", "data.", &errs))
	if strings.TrimSpace(base.SessionID) == "" {
		errs = append(errs, normalize.FieldError{Field: "data.session_id", Reason: "is required"})
	}
	var events []json.RawMessage
	if raw, ok := f.present("events"); ok {
		if err := json.Unmarshal(raw, &events); err != nil {
			errs = append(errs, normalize.FieldError{Field: "data.events", Reason: "must be a list of rrweb events"})
		}
	}
	if len(errs) > 0 {
		return &providers.FieldsError{Fields: errs}
	}
	if len(events) > MaxRRWebEvents {
		events = events[:MaxRRWebEvents]
	}

	var out []normalize.Event
	for i, raw := range events {
		if len(errs) >= maxFieldErrors || len(out) == MaxBatchActions {
			break
		}
		e, ok := mapRRWebEvent(raw, fmt.Sprintf("data.events[%d]", i), &page, &errs)
		if !ok {
			continue
		}
		if e.Kind == "type" && len(out) > 0 {
			if last := out[len(out)-1]; last.Kind == "type" && last.Label == e.Label && last.URL == page {
				continue // the same field typed into again: one action
			}
		}
		ev := base
		ev.Kind, ev.Label, ev.Time, ev.URL = e.Kind, e.Label, e.Time, page
		out = append(out, ev)
	}
	if len(errs) > 0 {
		return &providers.FieldsError{Fields: errs}
	}
	if len(out) == 0 {
		d.Ignored = "rrweb batch has no page view, click, input or custom event"
		return nil
	}
	d.Events = out
	if a, u := normalize.CleanID(base.AnonymousID), normalize.CleanID(base.UserID); a != "" && u != "" && a != u {
		d.Identities = []normalize.Identity{{AnonymousID: a, UserID: u, Email: normalize.CleanID(base.Email)}}
	}
	return nil
}

// mapRRWebEvent reads one rrweb event. It returns ok=false for events that
// are skipped or wrong (wrong fields are appended to errs). A Meta event
// moves *page to its href.
func mapRRWebEvent(raw json.RawMessage, path string, page *string, errs *normalize.FieldErrors) (normalize.Event, bool) {
	ev, err := decodeFields(raw)
	if err != nil {
		*errs = append(*errs, normalize.FieldError{Field: path, Reason: "must be an object"})
		return normalize.Event{}, false
	}
	prefix := path + "."
	typ, ok := ev.integer("type", prefix, errs)
	if !ok || (typ != rrwebMeta && typ != rrwebIncrementalSnapshot && typ != rrwebCustom) {
		return normalize.Event{}, false
	}
	body, err := decodeFields(ev["data"])
	if err != nil {
		*errs = append(*errs, normalize.FieldError{Field: prefix + "data", Reason: "must be an object"})
		return normalize.Event{}, false
	}
	// The time is read only for events that are mapped.
	at := func() time.Time { return ev.millis("timestamp", prefix, errs) }
	dp := prefix + "data."
	switch typ {
	case rrwebMeta:
		href := strings.TrimSpace(body.str("href", dp, errs))
		if href == "" {
			return normalize.Event{}, false
		}
		*page = href
		return normalize.Event{Kind: "pageview", Time: at()}, true
	case rrwebCustom:
		return normalize.Event{Kind: "custom", Label: customLabel(strings.TrimSpace(body.str("tag", dp, errs)), body["payload"]), Time: at()}, true
	}
	source, _ := body.integer("source", dp, errs)
	switch source {
	case sourceMouseInteraction:
		if it, _ := body.integer("type", dp, errs); it != mouseClick {
			return normalize.Event{}, false
		}
		label := strings.TrimSpace(body.str("text", dp, errs))
		if label == "" {
			label = strings.TrimSpace(body.str("label", dp, errs))
		}
		if label == "" {
			label = nodeLabel("element", body, dp, errs)
		}
		return normalize.Event{Kind: "click", Label: label, Time: at()}, true
	case sourceInput:
		// Only the node id is read: data.text holds what the user typed and
		// must never be stored.
		return normalize.Event{Kind: "type", Label: nodeLabel("input", body, dp, errs), Time: at()}, true
	}
	return normalize.Event{}, false
}

// maxCustomLabel bounds the text a custom event's payload adds to its label.
const maxCustomLabel = 300

// customLabel is a custom event's tag with its payload as readable text,
// so what the recorder noted is kept: Sentry Replay's breadcrumbs
// ("breadcrumb: ui.click button#place-order", "breadcrumb: navigation
// /cart → /checkout") and performance spans ("performanceSpan:
// navigation.navigate https://shop.example.com/checkout"). A payload of
// another shape is its scalar fields as key=value in key order; all of it
// cut at maxCustomLabel.
func customLabel(tag string, payload json.RawMessage) string {
	text := payloadText(payload)
	switch {
	case text == "":
		return tag
	case tag == "":
		return text
	}
	return tag + ": " + text
}

func payloadText(raw json.RawMessage) string {
	o := vendorjson.DecodeObject(raw)
	if o == nil {
		return bound(vendorjson.String(raw))
	}
	data := o.Obj("data")
	var parts []string
	for _, p := range []string{o.First("category", "op", "type"), o.First("message", "description")} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if from, to := data.Str("from"), data.Str("to"); from != "" || to != "" {
		parts = append(parts, from+" → "+to)
	}
	if len(parts) == 0 {
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if v := o.Str(k); v != "" {
				parts = append(parts, k+"="+v)
			}
		}
	}
	return bound(strings.Join(parts, " "))
}

// bound cuts s at maxCustomLabel bytes, on a rune boundary.
func bound(s string) string {
	if len(s) <= maxCustomLabel {
		return s
	}
	cut := maxCustomLabel
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// nodeLabel is "<what> #<rrweb node id>", or "" without an id.
func nodeLabel(what string, body fields, prefix string, errs *normalize.FieldErrors) string {
	id, ok := body.integer("id", prefix, errs)
	if !ok {
		return ""
	}
	return what + " #" + strconv.FormatInt(id, 10)
}

// integer reads a whole number (or a string holding one) that fits 2^53.
func (f fields) integer(key, prefix string, errs *normalize.FieldErrors) (int64, bool) {
	v, ok := f.num(key, prefix, errs)
	if !ok {
		return 0, false
	}
	if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
		*errs = append(*errs, normalize.FieldError{Field: prefix + key, Reason: "must be an integer"})
		return 0, false
	}
	return int64(v), true
}

// millis reads unix milliseconds (rrweb's timestamps); absent or 0 is the
// zero time (unknown), out of range is a field error.
func (f fields) millis(key, prefix string, errs *normalize.FieldErrors) time.Time {
	v, ok := f.num(key, prefix, errs)
	if !ok || v == 0 {
		return time.Time{}
	}
	if v < 0 || v > maxMillis {
		*errs = append(*errs, normalize.FieldError{Field: prefix + key, Reason: "must be unix milliseconds"})
		return time.Time{}
	}
	return time.UnixMilli(int64(v)).UTC()
}

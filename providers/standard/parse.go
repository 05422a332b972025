package standard

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/vendorjson"
)

// Event types replayhook understands in the envelope's "type" (EVENTS.md
// documents each with an example).
const (
	// TypeActions carries an ActionsPayload in "data".
	TypeActions = "actions"
	// TypeSummary carries a SummaryPayload in "data".
	TypeSummary = "summary"
	// TypeRRWebBatch carries a batch of rrweb events with the session's ids.
	TypeRRWebBatch = "rrweb.batch"
	// TypeRRWeb is accepted as another name of TypeRRWebBatch.
	TypeRRWeb = "rrweb"
	// TypeSessionEnded says a recorded session ended (one "session" action).
	TypeSessionEnded = "session.ended"
)

// Parse reads the envelope {"type","timestamp","data"} and dispatches on
// "type"; unknown or missing types are ignored. Delivery.ID is the
// webhook-id (or svix-id) header, the sender's idempotency key, which stays
// the same across its retries. A body that is not a JSON object is
// ErrMalformedJSON; a "data" that does not fit its type is a
// *providers.FieldsError (ErrInvalidPayload) naming the fields, prefixed
// "data.".
func (p *Provider) Parse(req *providers.Request) (*providers.Delivery, error) {
	env, err := decodeFields(req.Body)
	if err != nil {
		return nil, providers.Reject(providers.ErrMalformedJSON, "body must be a JSON object (the envelope {\"type\",\"timestamp\",\"data\"})")
	}
	d := &providers.Delivery{ID: deliveryID(req)}
	var errs normalize.FieldErrors
	if raw, ok := env.present("type"); ok && raw[0] != '"' {
		return nil, &providers.FieldsError{Fields: normalize.FieldErrors{{Field: "type", Reason: "must be a string"}}}
	}
	typ := env.str("type", "", &errs)
	data := env["data"]
	switch typ {
	case TypeActions:
		a, err := normalize.DecodeActions(data)
		if err != nil {
			return nil, dataError(err)
		}
		a.Type = TypeActions
		d.Payloads = []normalize.ActionsPayload{a}
	case TypeSummary:
		s, err := normalize.DecodeSummary(data)
		if err != nil {
			return nil, dataError(err)
		}
		s.Type = TypeSummary
		d.Summaries = []normalize.SummaryPayload{s}
	case TypeRRWebBatch, TypeRRWeb:
		if err := parseRRWeb(data, d); err != nil {
			return nil, err
		}
	case TypeSessionEnded:
		ev, err := parseSessionEnded(data, envelopeTime(env))
		if err != nil {
			return nil, err
		}
		d.Events = []normalize.Event{ev}
	case "":
		d.Ignored = `envelope has no "type"`
	default:
		d.Ignored = "event type " + vendorjson.QuoteBounded(typ) + " is not one replayhook stores"
	}
	return d, nil
}

// deliveryID is the sender's message id, or "" (the pipeline then hashes
// the body) when it is absent or longer than any real id.
func deliveryID(req *providers.Request) string {
	// The webhook-* set when any of its headers is there, as Verify reads it.
	id := req.Header.Get(IDHeader)
	if id == "" && req.Header.Get(TimestampHeader) == "" && req.Header.Get(SignatureHeader) == "" {
		id = req.Header.Get(SvixIDHeader)
	}
	id = strings.TrimSpace(id)
	if len(id) > 256 {
		return ""
	}
	return id
}

// envelopeTime is the envelope's RFC 3339 "timestamp", or zero when it is
// absent or unreadable (it is only a fallback for event times).
func envelopeTime(env fields) time.Time {
	var errs normalize.FieldErrors
	return env.time("timestamp", "", &errs)
}

// dataError maps the errors of normalize.DecodeActions/DecodeSummary on
// "data" to a FieldsError with "data." field names.
func dataError(err error) error {
	var fe normalize.FieldErrors
	if errors.As(err, &fe) {
		out := make(normalize.FieldErrors, len(fe))
		for i, f := range fe {
			out[i] = normalize.FieldError{Field: "data." + f.Field, Reason: f.Reason}
		}
		return &providers.FieldsError{Fields: out}
	}
	// normalize.ErrNotObject: the envelope is JSON, its "data" is not an object.
	return &providers.FieldsError{Fields: normalize.FieldErrors{{Field: "data", Reason: "must be an object"}}}
}

func parseSessionEnded(data json.RawMessage, fallback time.Time) (normalize.Event, error) {
	f, err := decodeFields(data)
	if err != nil {
		return normalize.Event{}, &providers.FieldsError{Fields: normalize.FieldErrors{{Field: "data", Reason: "must be an object"}}}
	}
	var errs normalize.FieldErrors
	ev := normalize.Event{
		Kind:      "session",
		Label:     "Session ended",
		SessionID: f.str("session_id", "data.", &errs),
		ProductID: f.str("product_id", "data.", &errs),
		UserID:    f.str("user_id", "data.", &errs),
		Email:     f.str("email", "data.", &errs),
	}
	if raw, ok := f.present("user"); ok {
		u, err := decodeFields(raw)
		if err != nil {
			errs = append(errs, normalize.FieldError{Field: "data.user", Reason: "must be an object"})
		} else {
			if id := u.str("id", "data.user.", &errs); id != "" {
				ev.UserID = id
			}
			if email := u.str("email", "data.user.", &errs); email != "" {
				ev.Email = email
			}
		}
	}
	f.time("started_at", "data.", &errs) // checked, not used: the action marks the end
	ev.Time = f.time("ended_at", "data.", &errs)
	if ev.Time.IsZero() {
		ev.Time = fallback
	}
	if replay := strings.TrimSpace(f.str("replay_url", "data.", &errs)); strings.HasPrefix(replay, "https://") || strings.HasPrefix(replay, "http://") {
		ev.Description = "Session ended (replay: " + replay + ")"
	}
	if strings.TrimSpace(ev.SessionID) == "" {
		errs = append(errs, normalize.FieldError{Field: "data.session_id", Reason: "is required"})
	}
	if len(errs) > 0 {
		return normalize.Event{}, &providers.FieldsError{Fields: errs}
	}
	return ev, nil
}

// fields is a JSON object read key by key. Its accessors are lenient the
// way senders are loose: an absent key or null is the zero value, a string
// field may arrive as a number. Anything else of the wrong type is appended
// to errs under prefix+key.
type fields map[string]json.RawMessage

// decodeFields reads a JSON object; anything else is an error.
func decodeFields(data []byte) (fields, error) {
	d := bytes.TrimSpace(data)
	if len(d) == 0 || d[0] != '{' {
		return nil, normalize.ErrNotObject
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(d, &m); err != nil {
		return nil, normalize.ErrNotObject
	}
	return fields(m), nil
}

// present returns the raw value of key unless it is absent or null.
func (f fields) present(key string) (json.RawMessage, bool) {
	raw, ok := f[key]
	if !ok {
		return nil, false
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false
	}
	return raw, true
}

// str reads a string; a JSON number is taken as its literal text (senders
// often send numeric user ids).
func (f fields) str(key, prefix string, errs *normalize.FieldErrors) string {
	raw, ok := f.present(key)
	if !ok {
		return ""
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case c == '-' || (c >= '0' && c <= '9'):
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			return n.String()
		}
	}
	*errs = append(*errs, normalize.FieldError{Field: prefix + key, Reason: "must be a string"})
	return ""
}

// num reads a number; a string holding a number is accepted too.
func (f fields) num(key, prefix string, errs *normalize.FieldErrors) (float64, bool) {
	raw, ok := f.present(key)
	if !ok {
		return 0, false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			raw = []byte(strings.TrimSpace(s))
		}
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		*errs = append(*errs, normalize.FieldError{Field: prefix + key, Reason: "must be a number"})
		return 0, false
	}
	return v, true
}

// time reads an RFC 3339 time ("2025-03-14T09:44:10.000Z"), in UTC.
func (f fields) time(key, prefix string, errs *normalize.FieldErrors) time.Time {
	s := strings.TrimSpace(f.str(key, prefix, errs))
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Before(time.Unix(0, 0)) {
		*errs = append(*errs, normalize.FieldError{Field: prefix + key, Reason: "must be an RFC 3339 time after 1970"})
		return time.Time{}
	}
	return t.UTC()
}

package sentry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
)

// Sentry-Hook-Resource values. Only ResourceError and ResourceEventAlert
// become actions; every other resource is acknowledged and ignored.
const (
	ResourceError        = "error"
	ResourceEventAlert   = "event_alert"
	ResourceIssue        = "issue"
	ResourceMetricAlert  = "metric_alert"
	ResourceComment      = "comment"
	ResourceInstallation = "installation"
)

// envelope is every integration-platform webhook:
// {"action", "installation", "data": {...}, "actor"}.
type envelope struct {
	Action text            `json:"action"`
	Data   json.RawMessage `json:"data"`
}

// event is a Sentry event as data.error (resource error) and data.event
// (resource event_alert) carry it. Only the fields replayhook reads are
// declared; the rest of the (large) event is skipped.
type event struct {
	EventID   text `json:"event_id"`
	ID        text `json:"id"`
	Title     text `json:"title"`
	Culprit   text `json:"culprit"`
	Message   text `json:"message"`
	Datetime  text `json:"datetime"`
	Timestamp text `json:"timestamp"`
	Metadata  *struct {
		Type  loose `json:"type"`
		Value loose `json:"value"`
	} `json:"metadata"`
	Request *struct {
		URL text `json:"url"`
	} `json:"request"`
	User *struct {
		ID    text `json:"id"`
		Email text `json:"email"`
	} `json:"user"`
	Contexts *struct {
		Replay *struct {
			ReplayID text `json:"replay_id"`
		} `json:"replay"`
	} `json:"contexts"`
	// Tags are [[key, value], ...] in webhooks; read leniently (see tag).
	Tags json.RawMessage `json:"tags"`
}

// Parse maps a verified delivery to events. The resource comes from the
// Sentry-Hook-Resource header, or, when that is missing, from the body
// (data.error → error, data.event → event_alert, data.issue → issue, ...).
// Resources error (action created) and event_alert (action triggered) each
// become one "error" event; every other resource is ignored. Delivery.ID is
// the Sentry event id for both, so the same event sent as error.created and
// as an alert is stored once; Request-ID is never used (it changes per
// retry). Not JSON or not an object is ErrMalformedJSON; JSON of the wrong
// shape is ErrInvalidPayload naming the field.
func (p *Provider) Parse(req *providers.Request) (*providers.Delivery, error) {
	body := bytes.TrimSpace(req.Body)
	if !json.Valid(body) || body[0] != '{' {
		return nil, providers.Reject(providers.ErrMalformedJSON, "body is not a JSON object")
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, shapeError(err, "")
	}
	resource := ""
	if req.Header != nil {
		resource = strings.ToLower(strings.TrimSpace(req.Header.Get(ResourceHeader)))
	}
	if resource == "" {
		resource = inferResource(env.Data)
		if resource == "" {
			return nil, fieldError("data", "names no Sentry resource (error, event, issue, ...) and the "+ResourceHeader+" header is missing")
		}
	}
	action := strings.TrimSpace(string(env.Action))
	switch resource {
	case ResourceError:
		return parseEvent(env.Data, "error", action, "created", resource)
	case ResourceEventAlert:
		return parseEvent(env.Data, "event", action, "triggered", resource)
	case ResourceIssue:
		d := &providers.Delivery{Ignored: "sentry resource issue is not session activity"}
		var data struct {
			Issue struct {
				ID loose `json:"id"`
			} `json:"issue"`
		}
		if json.Unmarshal(env.Data, &data) == nil {
			d.ID = dedupeID(string(data.Issue.ID))
		}
		return d, nil
	default:
		return &providers.Delivery{Ignored: "sentry resource " + token(resource) + " is not session activity"}, nil
	}
}

// parseEvent maps data.<key> (a Sentry event) to one "error" event.
func parseEvent(data json.RawMessage, key, action, wantAction, resource string) (*providers.Delivery, error) {
	if action != "" && action != wantAction {
		return &providers.Delivery{Ignored: "sentry " + resource + " action " + token(action) + " is not stored"}, nil
	}
	var fields map[string]json.RawMessage
	if err := decodeObject(data, &fields, "data"); err != nil {
		return nil, err
	}
	prefix := "data." + key
	var e event
	if err := decodeObject(fields[key], &e, prefix); err != nil {
		return nil, err
	}
	tags := readTags(e.Tags)
	ev := normalize.Event{
		Kind:      "error",
		Label:     errorLabel(e),
		SessionID: firstNonBlank(replayID(e), tags["replayId"]),
		Time:      parseTime(string(e.Datetime)),
	}
	if ev.Time.IsZero() {
		ev.Time = parseTime(string(e.Timestamp))
	}
	if e.Request != nil {
		ev.URL = strings.TrimSpace(string(e.Request.URL))
	}
	if ev.URL == "" {
		ev.URL = tags["url"]
	}
	if e.User != nil {
		ev.UserID = strings.TrimSpace(string(e.User.ID))
		ev.Email = strings.TrimSpace(string(e.User.Email))
	}
	if culprit := strings.TrimSpace(string(e.Culprit)); culprit != "" {
		label := ev.Label
		if label == "" {
			label = "Error"
		}
		ev.Description = label + " in " + culprit
	}
	return &providers.Delivery{
		ID:     dedupeID(firstNonBlank(string(e.EventID), string(e.ID))),
		Events: []normalize.Event{ev},
	}, nil
}

// errorLabel is the event's title; without one, "<type>: <value>" from its
// metadata, then its message.
func errorLabel(e event) string {
	if t := strings.TrimSpace(string(e.Title)); t != "" {
		return t
	}
	if e.Metadata != nil {
		typ, val := strings.TrimSpace(string(e.Metadata.Type)), strings.TrimSpace(string(e.Metadata.Value))
		switch {
		case typ != "" && val != "":
			return typ + ": " + val
		case typ != "" || val != "":
			return typ + val
		}
	}
	return strings.TrimSpace(string(e.Message))
}

func replayID(e event) string {
	if e.Contexts == nil || e.Contexts.Replay == nil {
		return ""
	}
	return strings.TrimSpace(string(e.Contexts.Replay.ReplayID))
}

// inferResource names the resource a webhook's data object carries, or ""
// when it is not an object naming a known one.
func inferResource(data json.RawMessage) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return ""
	}
	for _, k := range []struct{ key, resource string }{
		{"error", ResourceError},
		{"event", ResourceEventAlert},
		{"issue", ResourceIssue},
		{"metric_alert", ResourceMetricAlert},
		{"comment", ResourceComment},
		{"installation", ResourceInstallation},
	} {
		if v, ok := m[k.key]; ok && string(bytes.TrimSpace(v)) != "null" {
			return k.resource
		}
	}
	return ""
}

// readTags reads Sentry tags leniently: [[key, value], ...] as webhooks send
// them, [{"key", "value"}, ...] as the API sends them, or {key: value}.
// Entries of any other shape are skipped; the first value of a key wins.
func readTags(raw json.RawMessage) map[string]string {
	out := map[string]string{}
	add := func(k, v loose) {
		key, val := strings.TrimSpace(string(k)), strings.TrimSpace(string(v))
		if _, dup := out[key]; key != "" && val != "" && !dup {
			out[key] = val
		}
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		for _, item := range list {
			var pair []loose
			if json.Unmarshal(item, &pair) == nil && len(pair) == 2 {
				add(pair[0], pair[1])
				continue
			}
			var kv struct {
				Key   loose `json:"key"`
				Value loose `json:"value"`
			}
			if json.Unmarshal(item, &kv) == nil {
				add(kv.Key, kv.Value)
			}
		}
		return out
	}
	var m map[string]loose
	if json.Unmarshal(raw, &m) == nil {
		for k, v := range m {
			add(loose(k), v)
		}
	}
	return out
}

// decodeObject unmarshals raw, which must be a JSON object, into v; field
// names errors after prefix.
func decodeObject(raw json.RawMessage, v any, field string) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return fieldError(field, "must be an object")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return shapeError(err, field+".")
	}
	return nil
}

// text is a JSON scalar read as text, because senders put numbers where
// strings are expected: a string as is, an integer by its digits (1.5e3 →
// "1500", never float formatting), another number or a boolean by its
// literal, null as "". Objects and arrays are type errors.
type text string

// UnmarshalJSON implements json.Unmarshaler.
func (t *text) UnmarshalJSON(b []byte) error {
	s, kind := scalar(b)
	if kind != "" {
		return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[string]()}
	}
	*t = text(s)
	return nil
}

// loose is like text for fields replayhook only reads when it can: an
// object or an array reads as "" instead of failing the delivery.
type loose string

// UnmarshalJSON implements json.Unmarshaler.
func (l *loose) UnmarshalJSON(b []byte) error {
	s, _ := scalar(b)
	*l = loose(s)
	return nil
}

// scalar returns the text of a JSON scalar, or the kind ("object", "array")
// of a value that is not one.
func scalar(b []byte) (s, notScalar string) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return "", "nothing"
	case b[0] == '"':
		if json.Unmarshal(b, &s) != nil {
			return "", "string"
		}
		return s, ""
	case b[0] == '{':
		return "", "object"
	case b[0] == '[':
		return "", "array"
	case string(b) == "null":
		return "", ""
	case string(b) == "true" || string(b) == "false":
		return string(b), ""
	default:
		return number(string(b)), ""
	}
}

// number formats a JSON number literal as text: an integer written with a
// fraction or an exponent (1741944978000.0, 1.741944978e12) becomes its
// digits when it is exactly representable; anything else keeps its literal.
func number(lit string) string {
	if !strings.ContainsAny(lit, ".eE") {
		return lit
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return lit
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// shapeError turns an unmarshal error of well-formed JSON into an
// ErrInvalidPayload naming the field.
func shapeError(err error, prefix string) error {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		field := strings.TrimSuffix(prefix+ute.Field, ".")
		if field == "" {
			field = "body"
		}
		want := "a string or a number"
		if ute.Type != nil {
			switch ute.Type.Kind() {
			case reflect.Struct, reflect.Map, reflect.Pointer:
				want = "an object"
			case reflect.Slice, reflect.Array:
				want = "an array"
			}
		}
		return fieldError(field, "must be "+want+", not "+ute.Value)
	}
	return providers.Reject(providers.ErrInvalidPayload, "unexpected JSON shape")
}

func fieldError(field, reason string) error {
	return &providers.FieldsError{Fields: normalize.FieldErrors{{Field: field, Reason: reason}}}
}

// parseTime reads Sentry's datetime (RFC 3339 with microseconds; a time
// without a zone is UTC) or a unix time in seconds (Sentry's float
// "timestamp"), milliseconds, microseconds or nanoseconds told apart by
// magnitude. Anything else, or a time before 1970 or after 2286, is zero
// (the receive time is used).
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return fromUnix(f)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Unix() <= 0 || t.Year() > 2286 {
				return time.Time{}
			}
			return t.UTC()
		}
	}
	return time.Time{}
}

func fromUnix(f float64) time.Time {
	if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
		return time.Time{}
	}
	var micros float64
	switch {
	case f >= 1e17: // nanoseconds
		micros = f / 1e3
	case f >= 1e14: // microseconds
		micros = f
	case f >= 1e11: // milliseconds
		micros = f * 1e3
	default: // seconds
		micros = f * 1e6
	}
	if micros > 1e16 { // after 2286: not a plausible event time
		return time.Time{}
	}
	return time.UnixMicro(int64(math.Round(micros))).UTC()
}

// maxIDBytes bounds a dedupe key taken from the body; longer ids are
// replaced by their hash so a hostile body cannot make huge keys.
const maxIDBytes = 200

// dedupeID is the trimmed id, hashed when it is implausibly long.
func dedupeID(id string) string {
	id = strings.TrimSpace(id)
	if len(id) > maxIDBytes {
		sum := sha256.Sum256([]byte(id))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	return id
}

func firstNonBlank(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// token shows a header or body word in a reason: as is when it is a plain
// short identifier, quoted and bounded otherwise.
func token(s string) string {
	plain := s != "" && len(s) <= 64
	for i := 0; plain && i < len(s); i++ {
		c := s[i]
		plain = c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	if plain {
		return s
	}
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(strings.ToValidUTF8(s, "?"))
}

package normalize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrNotObject means the input is not a JSON object (→ 400 malformed_json).
var ErrNotObject = errors.New("body is not a JSON object")

// FieldError names one field that cannot be used and why.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// FieldErrors is a list of unusable fields (→ 422 invalid_payload).
type FieldErrors []FieldError

func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, f := range fe {
		parts[i] = f.Field + ": " + f.Reason
	}
	return "invalid fields: " + strings.Join(parts, "; ")
}

// object is a JSON object whose values are decoded field by field, the way
// the SDK's from_dict reads a dict: a missing key, null or any falsy value
// (false, 0, "", [], {}) gives the default; a value of the wrong type is a
// field error (the SDK would crash or store garbage; we say what is wrong).
type object struct {
	m      map[string]json.RawMessage
	prefix string
	errs   *FieldErrors
}

func decodeObject(data []byte, prefix string, errs *FieldErrors) (object, error) {
	var m map[string]json.RawMessage
	d := bytes.TrimSpace(data)
	if len(d) == 0 || d[0] != '{' {
		return object{}, ErrNotObject
	}
	if err := json.Unmarshal(d, &m); err != nil {
		return object{}, fmt.Errorf("%w: %v", ErrNotObject, err)
	}
	return object{m: m, prefix: prefix, errs: errs}, nil
}

func (o object) fail(key, reason string) {
	*o.errs = append(*o.errs, FieldError{Field: o.prefix + key, Reason: reason})
}

// raw returns the value of key, or nil when it is absent or falsy.
func (o object) raw(key string) json.RawMessage {
	v, ok := o.m[key]
	if !ok {
		return nil
	}
	switch s := string(bytes.TrimSpace(v)); s {
	case "null", "false", "0", `""`, "[]", "{}", "0.0":
		return nil
	default:
		if isZeroNumber(s) || isBlankContainer(s) {
			return nil
		}
	}
	return v
}

func isZeroNumber(s string) bool {
	if s == "" || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) {
		return false
	}
	var f float64
	return json.Unmarshal([]byte(s), &f) == nil && f == 0
}

func isBlankContainer(s string) bool {
	if len(s) < 2 || !(s[0] == '[' && s[len(s)-1] == ']' || s[0] == '{' && s[len(s)-1] == '}') {
		return false
	}
	return strings.TrimSpace(s[1:len(s)-1]) == ""
}

func (o object) str(key string) string {
	v := o.raw(key)
	if v == nil {
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		o.fail(key, "must be a string")
		return ""
	}
	return s
}

func (o object) num(key string) float64 {
	v := o.raw(key)
	if v == nil {
		return 0
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		o.fail(key, "must be a finite number")
		return 0
	}
	return f
}

func (o object) int(key string) int {
	f := o.num(key)
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		o.fail(key, "must be an integer")
		return 0
	}
	return int(f)
}

// DecodeActions parses an ActionsPayload as leniently as the SDK's
// ActionsPayload.from_dict: missing or falsy fields take defaults, empty
// identity strings become null, and count is replaced by len(actions). It is
// stricter where the SDK crashes: a non-object is ErrNotObject, and wrongly
// typed fields or actions that are not a list of objects are FieldErrors.
func DecodeActions(data []byte) (ActionsPayload, error) {
	var errs FieldErrors
	o, err := decodeObject(data, "", &errs)
	if err != nil {
		return ActionsPayload{}, err
	}
	return actionsFrom(o)
}

// actionsFrom builds an ActionsPayload from an already decoded object.
func actionsFrom(o object) (ActionsPayload, error) {
	errs := o.errs
	p := ActionsPayload{
		Type:           o.str("type"),
		ProductID:      o.str("product_id"),
		SessionID:      OptStr(o.str("session_id")),
		UserID:         OptStr(o.str("user_id")),
		Email:          OptStr(o.str("email")),
		Count:          o.int("count"),
		ForwardedAt:    o.num("forwarded_at"),
		ConversationID: OptStr(o.str("conversation_id")),
	}
	if raw := o.raw("actions"); raw != nil {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			*errs = append(*errs, FieldError{Field: "actions", Reason: "must be a list of objects"})
		}
		p.Actions = make([]SlimAction, 0, len(items))
		for i, item := range items {
			prefix := fmt.Sprintf("actions[%d].", i)
			a, err := decodeObject(item, prefix, errs)
			if err != nil {
				*errs = append(*errs, FieldError{Field: fmt.Sprintf("actions[%d]", i), Reason: "must be an object"})
				continue
			}
			p.Actions = append(p.Actions, SlimAction{
				Index:          a.int("index"),
				Type:           a.str("type"),
				Title:          a.str("title"),
				Description:    a.str("description"),
				TimestampStart: a.num("timestamp_start"),
				TimestampEnd:   a.num("timestamp_end"),
				RawURL:         a.str("raw_url"),
				CanonicalURL:   a.str("canonical_url"),
				SessionID:      OptStr(a.str("session_id")),
				UserID:         OptStr(a.str("user_id")),
				Email:          OptStr(a.str("email")),
			})
		}
	}
	if p.Actions == nil {
		p.Actions = []SlimAction{}
	}
	p.Count = len(p.Actions)
	if len(*errs) > 0 {
		return ActionsPayload{}, *errs
	}
	return p, nil
}

// DecodeSummary parses a SummaryPayload as leniently as the SDK's
// SummaryPayload.from_dict, with the same error rules as DecodeActions.
func DecodeSummary(data []byte) (SummaryPayload, error) {
	var errs FieldErrors
	o, err := decodeObject(data, "", &errs)
	if err != nil {
		return SummaryPayload{}, err
	}
	return summaryFrom(o)
}

// summaryFrom builds a SummaryPayload from an already decoded object.
func summaryFrom(o object) (SummaryPayload, error) {
	errs := o.errs
	s := SummaryPayload{
		Type:        o.str("type"),
		ProductID:   o.str("product_id"),
		SessionID:   OptStr(o.str("session_id")),
		Summary:     o.str("summary"),
		Replaces:    o.int("replaces"),
		ForwardedAt: o.num("forwarded_at"),
	}
	if len(*errs) > 0 {
		return SummaryPayload{}, *errs
	}
	return s, nil
}

// Decoded is a connector payload decoded by type: Actions for "actions",
// Summary for "summary", neither for any other type.
type Decoded struct {
	Type    string
	Actions *ActionsPayload
	Summary *SummaryPayload
}

// Decode reads the object once and builds the payload its "type" names,
// with the same rules and errors as DecodeActions and DecodeSummary.
func Decode(data []byte) (Decoded, error) {
	var errs FieldErrors
	o, err := decodeObject(data, "", &errs)
	if err != nil {
		return Decoded{}, err
	}
	d := Decoded{Type: o.str("type")}
	if len(errs) > 0 {
		return Decoded{}, errs
	}
	switch d.Type {
	case "actions":
		a, err := actionsFrom(o)
		if err != nil {
			return Decoded{}, err
		}
		d.Actions = &a
	case "summary":
		s, err := summaryFrom(o)
		if err != nil {
			return Decoded{}, err
		}
		d.Summary = &s
	}
	return d, nil
}

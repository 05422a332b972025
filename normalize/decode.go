package normalize

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
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

// Keys read from a payload object, and from each of its actions.
var (
	payloadKeys = [...]string{"type", "product_id", "session_id", "user_id", "email", "count", "forwarded_at", "conversation_id", "actions", "summary", "replaces"}
	actionKeys  = [...]string{"index", "type", "title", "description", "timestamp_start", "timestamp_end", "raw_url", "canonical_url", "session_id", "user_id", "email"}
)

const (
	kType = iota
	kProductID
	kSessionID
	kUserID
	kEmail
	kCount
	kForwardedAt
	kConversationID
	kActions
	kSummary
	kReplaces
)

const (
	aIndex = iota
	aType
	aTitle
	aDescription
	aTimestampStart
	aTimestampEnd
	aRawURL
	aCanonicalURL
	aSessionID
	aUserID
	aEmail
)

// maxKeys bounds len(payloadKeys) and len(actionKeys).
const maxKeys = 11

// object is one JSON object whose wanted values are read field by field,
// the way the SDK's from_dict reads a dict: a missing key, null or any
// falsy value (false, 0, "", [], {}) gives the default; a value of the
// wrong type is a field error (the SDK would crash or store garbage; we say
// what is wrong). Of a key given twice the last value counts, as when
// encoding/json decodes into a map.
type object struct {
	keys *[maxKeys]string
	vals [maxKeys][]byte // raw JSON value of each wanted key; nil when absent
	esc  [maxKeys]bool   // whether a string value needs unquoting
	// src is the whole body as one string (one allocation), and at[i] the
	// offset of vals[i] in it: a string value without escapes is a
	// substring of src, not an allocation of its own. (The stores copy
	// what they keep, so no stored id holds on to a body.)
	src string
	at  [maxKeys]int
	// action is the index of an action ("actions[i]." in field errors),
	// -1 for the payload itself.
	action int
	errs   *FieldErrors
	// actions is the payload's "actions" array, read in the same pass when
	// it is one (the last occurrence's).
	actions []SlimAction
	// actionErrs are the field errors of those actions, reported after
	// the payload's own.
	actionErrs FieldErrors
}

// read reads and validates the object at data[pos] == '{', whose
// nesting depth is depth, into o (whose keys, action and errs are set; its
// values are reset) and returns the offset just past it. The payload's
// "actions" array is read into SlimActions on the way.
func (o *object) read(data []byte, pos, depth int) (int, error) {
	o.vals, o.esc = [maxKeys][]byte{}, [maxKeys]bool{}
	keys, action := o.keys, o.action
	return eachMember(data, pos, depth, func(key []byte, escaped bool, start int) (int, error) {
		if escaped {
			key = []byte(unquote(key, true))
		}
		i := slices.Index(keys[:], string(key))
		var end int
		var err error
		switch {
		case i < 0:
			return skipValue(data, start, depth)
		case start < len(data) && data[start] == '"':
			end, o.esc[i], err = scanString(data, start)
		case action < 0 && i == kActions && start < len(data) && data[start] == '[':
			end, err = o.readActions(data, start, depth+1)
		default:
			end, err = skipValue(data, start, depth)
		}
		if err == nil {
			o.vals[i], o.at[i] = data[start:end], start
		}
		return end, err
	})
}

// readActions reads the payload's actions array at data[pos] == '[' (its
// depth is depth): objects become SlimActions, anything else is a field
// error. A later "actions" key replaces what an earlier one read.
func (o *object) readActions(data []byte, pos, depth int) (int, error) {
	o.actions, o.actionErrs = o.actions[:0], o.actionErrs[:0]
	if o.actions == nil {
		o.actions = make([]SlimAction, 0, 8)
	}
	i := 0
	a := &object{keys: &actionKeys, errs: &o.actionErrs, src: o.src}
	return eachElement(data, pos, depth, func(start int) (int, error) {
		defer func() { i++ }()
		if start >= len(data) {
			return skipValue(data, start, depth) // the end-of-input error
		}
		if data[start] != '{' {
			o.actionErrs = append(o.actionErrs, FieldError{Field: "actions[" + strconv.Itoa(i) + "]", Reason: "must be an object"})
			return skipValue(data, start, depth)
		}
		a.action = i
		end, err := a.read(data, start, depth+1)
		if err != nil {
			return end, err
		}
		o.actions = append(o.actions, SlimAction{
			Index:          a.int(aIndex),
			Type:           a.str(aType),
			Title:          a.str(aTitle),
			Description:    a.str(aDescription),
			TimestampStart: a.num(aTimestampStart),
			TimestampEnd:   a.num(aTimestampEnd),
			RawURL:         a.str(aRawURL),
			CanonicalURL:   a.str(aCanonicalURL),
			SessionID:      OptStr(a.str(aSessionID)),
			UserID:         OptStr(a.str(aUserID)),
			Email:          OptStr(a.str(aEmail)),
		})
		return end, nil
	})
}

// decodeObject reads a whole body that must be one JSON object (whitespace
// around it allowed, as bytes.TrimSpace allows).
func decodeObject(data []byte, errs *FieldErrors) (*object, error) {
	d := bytes.TrimSpace(data)
	if len(d) == 0 || d[0] != '{' {
		return nil, ErrNotObject
	}
	o := &object{keys: &payloadKeys, action: -1, errs: errs, src: string(d)}
	end, err := o.read(d, 0, 1) // depth 1: the body itself, as encoding/json counts
	if err == nil && end != len(d) {
		err = syntaxError(end, "data after the top-level object")
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotObject, err)
	}
	return o, nil
}

func (o *object) fail(key int, reason string) {
	field := o.keys[key]
	if o.action >= 0 {
		field = "actions[" + strconv.Itoa(o.action) + "]." + field
	}
	*o.errs = append(*o.errs, FieldError{Field: field, Reason: reason})
}

// raw returns the value of key, or nil when it is absent or falsy.
func (o *object) raw(key int) []byte {
	v := o.vals[key]
	if len(v) == 0 || falsy(v) {
		return nil
	}
	return v
}

// falsy reports whether a valid JSON value is one Python treats as false:
// null, false, 0 (in any spelling), "", [] and {}.
func falsy(v []byte) bool {
	switch c := v[0]; {
	case c == 'n' || c == 'f':
		return true
	case c == '"':
		return len(v) == 2
	case c == '[' || c == '{':
		return skipSpace(v, 1) == len(v)-1
	case c == '-' || c >= '0' && c <= '9':
		f, err := strconv.ParseFloat(string(v), 64)
		return err == nil && f == 0
	}
	return false
}

func (o *object) str(key int) string {
	v := o.raw(key)
	if v == nil {
		return ""
	}
	if v[0] != '"' {
		o.fail(key, "must be a string")
		return ""
	}
	if !o.esc[key] && o.src != "" {
		start := o.at[key]
		return o.src[start+1 : start+len(v)-1]
	}
	return unquote(v[1:len(v)-1], o.esc[key])
}

func (o *object) num(key int) float64 {
	v := o.vals[key]
	if len(v) == 0 {
		return 0
	}
	if c := v[0]; c != '-' && (c < '0' || c > '9') {
		if !falsy(v) {
			o.fail(key, "must be a finite number")
		}
		return 0
	}
	// One parse serves both checks: a zero is falsy (the default), a
	// number out of range is an error.
	f, err := strconv.ParseFloat(string(v), 64)
	if err == nil && f == 0 {
		return 0
	}
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		o.fail(key, "must be a finite number")
		return 0
	}
	return f
}

func (o *object) int(key int) int {
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
	o, err := decodeObject(data, &errs)
	if err != nil {
		return ActionsPayload{}, err
	}
	return actionsFrom(o)
}

// actionsFrom builds an ActionsPayload from an already decoded object.
func actionsFrom(o *object) (ActionsPayload, error) {
	errs := o.errs
	p := ActionsPayload{
		Type:           o.str(kType),
		ProductID:      o.str(kProductID),
		SessionID:      OptStr(o.str(kSessionID)),
		UserID:         OptStr(o.str(kUserID)),
		Email:          OptStr(o.str(kEmail)),
		Count:          o.int(kCount),
		ForwardedAt:    o.num(kForwardedAt),
		ConversationID: OptStr(o.str(kConversationID)),
	}
	if raw := o.raw(kActions); raw != nil {
		if raw[0] != '[' {
			*errs = append(*errs, FieldError{Field: "actions", Reason: "must be a list of objects"})
		} else {
			p.Actions = o.actions
			*errs = append(*errs, o.actionErrs...)
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
	o, err := decodeObject(data, &errs)
	if err != nil {
		return SummaryPayload{}, err
	}
	return summaryFrom(o)
}

// summaryFrom builds a SummaryPayload from an already decoded object.
func summaryFrom(o *object) (SummaryPayload, error) {
	errs := o.errs
	s := SummaryPayload{
		Type:        o.str(kType),
		ProductID:   o.str(kProductID),
		SessionID:   OptStr(o.str(kSessionID)),
		Summary:     o.str(kSummary),
		Replaces:    o.int(kReplaces),
		ForwardedAt: o.num(kForwardedAt),
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
	o, err := decodeObject(data, &errs)
	if err != nil {
		return Decoded{}, err
	}
	d := Decoded{Type: o.str(kType)}
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

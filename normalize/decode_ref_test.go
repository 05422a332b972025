package normalize

// The reference decoder: the encoding/json-based implementation the
// one-pass reader in jsonscan.go replaced. It is kept, in tests only, as the
// oracle of the differential tests (FuzzDecodeMatchesReference): every body
// must decode to the same payload, or fail with the same kind of error,
// either way.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
)

// refObject is a JSON object whose values are decoded field by field, the way
// the SDK's from_dict reads a dict: a missing key, null or any falsy value
// (false, 0, "", [], {}) gives the default; a value of the wrong type is a
// field error (the SDK would crash or store garbage; we say what is wrong).
type refObject struct {
	m      map[string]json.RawMessage
	prefix string
	errs   *FieldErrors
}

func refDecodeObject(data []byte, prefix string, errs *FieldErrors) (refObject, error) {
	var m map[string]json.RawMessage
	d := bytes.TrimSpace(data)
	if len(d) == 0 || d[0] != '{' {
		return refObject{}, ErrNotObject
	}
	if err := json.Unmarshal(d, &m); err != nil {
		return refObject{}, fmt.Errorf("%w: %w", ErrNotObject, err)
	}
	return refObject{m: m, prefix: prefix, errs: errs}, nil
}

func (o refObject) fail(key, reason string) {
	*o.errs = append(*o.errs, FieldError{Field: o.prefix + key, Reason: reason})
}

// raw returns the value of key, or nil when it is absent or falsy.
func (o refObject) raw(key string) json.RawMessage {
	v, ok := o.m[key]
	if !ok {
		return nil
	}
	switch s := string(bytes.TrimSpace(v)); s {
	case "null", "false", "0", `""`, "[]", "{}", "0.0":
		return nil
	default:
		if refIsZeroNumber(s) || refIsBlankContainer(s) {
			return nil
		}
	}
	return v
}

func refIsZeroNumber(s string) bool {
	if s == "" || s[0] != '-' && (s[0] < '0' || s[0] > '9') {
		return false
	}
	var f float64
	return json.Unmarshal([]byte(s), &f) == nil && f == 0
}

func refIsBlankContainer(s string) bool {
	if len(s) < 2 || (s[0] != '[' || s[len(s)-1] != ']') && (s[0] != '{' || s[len(s)-1] != '}') {
		return false
	}
	return strings.TrimSpace(s[1:len(s)-1]) == ""
}

func (o refObject) str(key string) string {
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

func (o refObject) num(key string) float64 {
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

func (o refObject) int(key string) int {
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
// stricter where the SDK crashes: a non-refObject is ErrNotObject, and wrongly
// typed fields or actions that are not a list of objects are FieldErrors.
func refDecodeActions(data []byte) (ActionsPayload, error) {
	var errs FieldErrors
	o, err := refDecodeObject(data, "", &errs)
	if err != nil {
		return ActionsPayload{}, err
	}
	return refActionsFrom(o)
}

// refActionsFrom builds an ActionsPayload from an already decoded refObject.
func refActionsFrom(o refObject) (ActionsPayload, error) {
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
			a, err := refDecodeObject(item, prefix, errs)
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
func refDecodeSummary(data []byte) (SummaryPayload, error) {
	var errs FieldErrors
	o, err := refDecodeObject(data, "", &errs)
	if err != nil {
		return SummaryPayload{}, err
	}
	return refSummaryFrom(o)
}

// refSummaryFrom builds a SummaryPayload from an already decoded refObject.
func refSummaryFrom(o refObject) (SummaryPayload, error) {
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

// refDecode is Decode on the reference decoder.
func refDecode(data []byte) (Decoded, error) {
	var errs FieldErrors
	o, err := refDecodeObject(data, "", &errs)
	if err != nil {
		return Decoded{}, err
	}
	d := Decoded{Type: o.str("type")}
	if len(errs) > 0 {
		return Decoded{}, errs
	}
	switch d.Type {
	case "actions":
		a, err := refActionsFrom(o)
		if err != nil {
			return Decoded{}, err
		}
		d.Actions = &a
	case "summary":
		s, err := refSummaryFrom(o)
		if err != nil {
			return Decoded{}, err
		}
		d.Summary = &s
	}
	return d, nil
}

// sameOutcome fails t unless the one-pass decoder and the reference decode
// data alike: the same payloads, or the same kind of error with the same
// field errors.
func sameOutcome(t *testing.T, data []byte) {
	t.Helper()
	in := string(data)
	if len(in) > 200 {
		in = in[:200] + "…"
	}
	check := func(name string, got, want any, gotErr, wantErr error) {
		t.Helper()
		var gfe, wfe FieldErrors
		switch {
		case (gotErr == nil) != (wantErr == nil):
			t.Fatalf("%s(%q): err %v, reference err %v", name, in, gotErr, wantErr)
		case errors.Is(gotErr, ErrNotObject) != errors.Is(wantErr, ErrNotObject):
			t.Fatalf("%s(%q): err %v, reference err %v", name, in, gotErr, wantErr)
		case errors.As(gotErr, &gfe) != errors.As(wantErr, &wfe) || !reflect.DeepEqual(gfe, wfe):
			t.Fatalf("%s(%q): field errors %v, reference %v", name, in, gfe, wfe)
		case gotErr == nil && !reflect.DeepEqual(got, want):
			t.Fatalf("%s(%q):\n got %#v\nwant %#v", name, in, got, want)
		}
	}
	d, err := Decode(data)
	rd, rerr := refDecode(data)
	check("Decode", d, rd, err, rerr)
	a, err := DecodeActions(data)
	ra, rerr := refDecodeActions(data)
	check("DecodeActions", a, ra, err, rerr)
	s, err := DecodeSummary(data)
	rs, rerr := refDecodeSummary(data)
	check("DecodeSummary", s, rs, err, rerr)
}

// Every corner of JSON and of from_dict's leniency that the one-pass reader
// handles by hand: it must agree with encoding/json on each.
var decodeCorners = []string{
	`{}`, ` {} `, "\u00a0{}\u00a0", `{"type":"actions"}`, `{"type":"actions"} x`, `{"type":"actions"}{}`,
	`[]`, `"x"`, `null`, ``, `{`, `{"actions":[`, `{"actions":[{`, `{"actions":[1,`, `{"actions":[{"type":`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":1 "b":2}`,
	`{"type":"actions","actions":[{"index":1,"type":"click","title":"t"}]}`,
	`{"type":"actions","actions":[1,"x",null,{},[],{"index":2}]}`,
	`{"type":"actions","actions":"no"}`, `{"type":"actions","actions":{"a":1}}`, `{"type":"actions","actions":{ }}`,
	`{"type":"actions","actions":[ ]}`, `{"type":"actions","actions":true}`, `{"type":"actions","actions":0}`,
	`{"type":"actions","count":1.5}`, `{"type":"actions","count":1e400}`, `{"type":"actions","count":-0}`,
	`{"type":"actions","count":0.0e9}`, `{"type":"actions","count":1e-400}`, `{"type":"actions","count":9007199254740993}`,
	`{"type":"actions","count":"3"}`, `{"type":"actions","forwarded_at":true}`, `{"type":"actions","forwarded_at":-1}`,
	`{"type":"actions","session_id":5}`, `{"type":"actions","session_id":0}`, `{"type":"actions","session_id":false}`,
	`{"type":"actions","session_id":[]}`, `{"type":"actions","session_id":[1]}`, `{"type":"actions","session_id":{"a":1}}`,
	`{"type":"actions","session_id":"a","session_id":"b"}`, `{"type":"actions","session_id":5,"session_id":"b"}`,
	`{"typ\u0065":"actions","session_\u0069d":"s\u00e9\ud83d\ude00"}`, `{"type":"actions","user_id":"\ud800"}`,
	`{"type":"actions","user_id":"\ud800\u0041"}`, `{"type":"actions","user_id":"\udc00\ud800"}`, `{"type":"actions","user_id":"\ud83d\ude00x"}`,
	"{\"type\":\"actions\",\"user_id\":\"a\xffb\xc3\"}", "{\"type\":\"actions\",\"user_\xff\":\"a\"}", "{\"type\":\"actions\",\"user_id\":\"a\x01\"}",
	`{"type":"actions","user_id":"a\/b\\c\"d\b\f\n\r\t"}`, `{"type":"actions","user_id":"\x"}`, `{"type":"actions","user_id":"\u12"}`,
	`{"type":"summary","summary":"s","replaces":2,"session_id":"x"}`, `{"type":"summary","replaces":-1.5}`,
	`{"type":5}`, `{"type":["actions"]}`, `{"type":"actions","n":01}`, `{"type":"actions","n":-}`, `{"type":"actions","n":1.}`,
	`{"type":"actions","n":.5}`, `{"type":"actions","n":1e}`, `{"type":"actions","n":1e+}`, `{"type":"actions","n":tru}`,
	`{"type":"actions","n":nul}`, `{"type":"actions","n":[1,2,]}`, `{"type":"actions","n":[[[[]]]]}`, "{\"type\":\"actions\"\t\r\n}",
	`{"type":"actions","actions":[{"index":1,"index":"x"}]}`, `{"type":"actions","actions":[{"index":"x","index":1}]}`,
	`{"type":"actions","actions":[{"session_id":"", "user_id":"u","email":" e "}]}`,
}

func TestDecodeMatchesReferenceOnCorners(t *testing.T) {
	for _, in := range decodeCorners {
		sameOutcome(t, []byte(in))
	}
	deep := strings.Repeat(`[`, maxDepth) + strings.Repeat(`]`, maxDepth)
	sameOutcome(t, []byte(`{"a":`+deep+`}`))
	deeper := strings.Repeat(`[`, maxDepth+1) + strings.Repeat(`]`, maxDepth+1)
	sameOutcome(t, []byte(`{"a":`+deeper+`}`))
	body, err := os.ReadFile("testdata/actions_payload.json")
	if err != nil {
		t.Fatal(err)
	}
	sameOutcome(t, body)
}

// FuzzDecodeMatchesReference: the one-pass reader and the encoding/json
// reference agree on every input.
func FuzzDecodeMatchesReference(f *testing.F) {
	for _, in := range decodeCorners {
		f.Add([]byte(in))
	}
	if body, err := os.ReadFile("testdata/actions_payload.json"); err == nil {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, data []byte) { sameOutcome(t, data) })
}

package normalize

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeActionsIsLenientLikeFromDict(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ActionsPayload
	}{
		{
			name: "empty object takes every default",
			in:   `{}`,
			want: ActionsPayload{Actions: []SlimAction{}},
		},
		{
			name: "null and falsy values are defaults; empty ids are null",
			in:   `{"type":null,"product_id":"","session_id":"","user_id":"","email":"","count":0,"forwarded_at":0,"actions":null}`,
			want: ActionsPayload{Actions: []SlimAction{}},
		},
		{
			name: "false and empty containers are falsy too",
			in:   `{"product_id":false,"session_id":[],"user_id":{},"actions":[]}`,
			want: ActionsPayload{Actions: []SlimAction{}},
		},
		{
			name: "count is replaced by len(actions)",
			in:   `{"type":"actions","product_id":"p","session_id":"s","count":7,"forwarded_at":1741945267.5,"actions":[{"index":0,"type":"click","title":"t","description":"d","canonical_url":"c"}]}`,
			want: ActionsPayload{Type: "actions", ProductID: "p", SessionID: OptStr("s"), Count: 1, ForwardedAt: 1741945267.5,
				Actions: []SlimAction{{Type: "click", Title: "t", Description: "d", CanonicalURL: "c"}}},
		},
		{
			name: "unknown keys are ignored, integers accepted as floats",
			in:   `{"product_id":"p","forwarded_at":1741945267,"extra":{"deep":[1,2]},"actions":[{"timestamp_start":12,"x":1}]}`,
			want: ActionsPayload{ProductID: "p", ForwardedAt: 1741945267, Count: 1, Actions: []SlimAction{{TimestampStart: 12}}},
		},
		{
			name: "action identity fields: empty means null",
			in:   `{"actions":[{"session_id":"","user_id":"u1","email":null}]}`,
			want: ActionsPayload{Count: 1, Actions: []SlimAction{{UserID: OptStr("u1")}}},
		},
		{
			name: "integer written as 2.0 is fine",
			in:   `{"actions":[{"index":2.0}]}`,
			want: ActionsPayload{Count: 1, Actions: []SlimAction{{Index: 2}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeActions([]byte(tt.in))
			if err != nil {
				t.Fatalf("DecodeActions: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeActionsRejectsWhatTheSDKWouldCrashOn(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		notObject  bool
		wantFields []string
	}{
		{name: "array body", in: `[1,2]`, notObject: true},
		{name: "string body", in: `"actions"`, notObject: true},
		{name: "empty body", in: ``, notObject: true},
		{name: "truncated json", in: `{"type":"actions"`, notObject: true},
		{name: "null body", in: `null`, notObject: true},
		{name: "actions not a list", in: `{"actions":"click"}`, wantFields: []string{"actions"}},
		{name: "actions an object", in: `{"actions":{"0":{}}}`, wantFields: []string{"actions"}},
		{name: "action not an object", in: `{"actions":[{"type":"click"},3,"x"]}`, wantFields: []string{"actions[1]", "actions[2]"}},
		{name: "wrong types name their field", in: `{"product_id":5,"session_id":true,"forwarded_at":"soon","count":"3"}`,
			wantFields: []string{"product_id", "session_id", "forwarded_at", "count"}},
		{name: "fractional index", in: `{"actions":[{"index":1.5}]}`, wantFields: []string{"actions[0].index"}},
		{name: "number too large for float64", in: `{"forwarded_at":1e400}`, wantFields: []string{"forwarded_at"}},
		{name: "nested wrong type", in: `{"actions":[{"title":["a"]}]}`, wantFields: []string{"actions[0].title"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeActions([]byte(tt.in))
			if tt.notObject {
				if !errors.Is(err, ErrNotObject) {
					t.Fatalf("want ErrNotObject, got %v", err)
				}
				return
			}
			var fe FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("want FieldErrors, got %v", err)
			}
			got := map[string]bool{}
			for _, f := range fe {
				got[f.Field] = true
			}
			for _, f := range tt.wantFields {
				if !got[f] {
					t.Errorf("field %q not reported in %v", f, fe)
				}
			}
		})
	}
}

func TestDecodeSummary(t *testing.T) {
	got, err := DecodeSummary([]byte(`{"type":"summary","product_id":"p","session_id":"","summary":"Did things","replaces":4,"forwarded_at":10}`))
	if err != nil {
		t.Fatal(err)
	}
	want := SummaryPayload{Type: "summary", ProductID: "p", Summary: "Did things", Replaces: 4, ForwardedAt: 10}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	if _, err := DecodeSummary([]byte(`{"replaces":"x"}`)); err == nil {
		t.Fatal("wrongly typed replaces accepted")
	}
}

func TestActionsJSONMatchesTheContract(t *testing.T) {
	// The wire model's keys are exactly the documented ones; identity fields are null
	// (not omitted) when absent, because SDK consumers read them as None.
	p, err := DecodeActions([]byte(`{"type":"actions","product_id":"p","session_id":"s","actions":[{"type":"click"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range []string{"type", "product_id", "session_id", "user_id", "email", "count", "forwarded_at", "actions"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %q missing from %s", k, b)
		}
	}
	a := m["actions"].([]any)[0].(map[string]any)
	for _, k := range []string{"index", "type", "title", "description", "timestamp_start", "timestamp_end", "raw_url", "canonical_url", "session_id", "user_id", "email"} {
		if _, ok := a[k]; !ok {
			t.Errorf("action key %q missing from %s", k, b)
		}
	}
	if m["user_id"] != nil {
		t.Errorf("user_id = %v, want null", m["user_id"])
	}
}

func TestValidatorNamesFieldsAndLimits(t *testing.T) {
	v := NewValidator()
	long := strings.Repeat("x", 300)
	tooMany := ActionsPayload{SessionID: &long, Actions: make([]SlimAction, 1001)}
	badActions := ActionsPayload{Actions: make([]SlimAction, 5)}
	badActions.Actions[3].RawURL = strings.Repeat("u", 9000)
	badActions.Actions[4].TimestampStart = -1
	for _, tc := range []struct {
		p    ActionsPayload
		want map[string]string
	}{
		{tooMany, map[string]string{
			"session_id": "must be at most 256 characters",
			"actions":    "must have at most 1000 items",
		}},
		{badActions, map[string]string{
			"actions[3].raw_url":         "must be at most 8192 characters",
			"actions[4].timestamp_start": "must be >= 0",
		}},
	} {
		var fe FieldErrors
		if err := v.Actions(&tc.p); !errors.As(err, &fe) {
			t.Fatalf("want FieldErrors, got %v", err)
		}
		got := map[string]string{}
		for _, f := range fe {
			got[f.Field] = f.Reason
		}
		for f, r := range tc.want {
			if got[f] != r {
				t.Errorf("field %s: got %q want %q (all: %v)", f, got[f], r, fe)
			}
		}
	}
	ok := ActionsPayload{Actions: []SlimAction{{Type: "click"}}}
	if err := v.Actions(&ok); err != nil {
		t.Fatalf("valid payload rejected: %v", err)
	}
}

func FuzzDecodeActions(f *testing.F) {
	seeds, _ := os.ReadFile("testdata/actions_payload.json")
	f.Add(seeds)
	f.Add([]byte(`{"actions":[{"index":1e308}]}`))
	f.Add([]byte(`{"actions":[[]],"count":-1}`))
	v := NewValidator()
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodeActions(data)
		if err != nil {
			var fe FieldErrors
			if !errors.Is(err, ErrNotObject) && !errors.As(err, &fe) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if p.Count != len(p.Actions) {
			t.Fatalf("count %d != len(actions) %d", p.Count, len(p.Actions))
		}
		if actionsWithinLimits(&p) && v.check(&p) != nil {
			t.Fatalf("fast path accepts what the validator refuses: %v", v.check(&p))
		}
		_ = v.Actions(&p)
		if _, err := json.Marshal(p); err != nil {
			t.Fatalf("decoded payload does not marshal: %v", err)
		}
	})
}

func TestDecodeDispatchesOnTypeInOnePass(t *testing.T) {
	tests := []struct {
		in               string
		typ              string
		actions, summary bool
		err              bool
	}{
		{in: `{"type":"actions","session_id":"s","actions":[{"type":"click"}]}`, typ: "actions", actions: true},
		{in: `{"type":"summary","session_id":"s","summary":"x"}`, typ: "summary", summary: true},
		{in: `{"type":"heartbeat"}`, typ: "heartbeat"},
		{in: `{}`, typ: ""},
		{in: `{"type":5}`, err: true},
		{in: `{"type":"actions","actions":"no"}`, err: true},
		{in: `[1]`, err: true},
	}
	for _, tt := range tests {
		d, err := Decode([]byte(tt.in))
		if (err != nil) != tt.err {
			t.Fatalf("%s: err %v", tt.in, err)
		}
		if err != nil {
			continue
		}
		if d.Type != tt.typ || (d.Actions != nil) != tt.actions || (d.Summary != nil) != tt.summary {
			t.Fatalf("%s: %+v", tt.in, d)
		}
	}
	// Same result as the single-type decoders.
	body := []byte(`{"type":"actions","product_id":"p","session_id":"s","count":4,"actions":[{"index":1,"type":"click"}]}`)
	d, _ := Decode(body)
	a, _ := DecodeActions(body)
	if !reflect.DeepEqual(*d.Actions, a) {
		t.Fatalf("Decode %+v != DecodeActions %+v", *d.Actions, a)
	}
}

package vendorjson

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/replayhook/replayhook/providers"
)

// TestParseTime is the one timestamp rule every vendor reads times by: the
// same text gives the same time whichever vendor sent it.
func TestParseTime(t *testing.T) {
	const want = "2025-03-14T09:36:18Z"
	tests := []struct{ in, want string }{
		// Numbers since the epoch, told apart by magnitude.
		{"1741944978", want},
		{"1741944978.412", "2025-03-14T09:36:18.412Z"},
		{"1741944978000", want},
		{"1741944978412", "2025-03-14T09:36:18.412Z"},
		{"1741944978000000", want},
		{"1741944978000000000", want},
		{"1.741944978e9", want},
		{"1.741944978e12", want},
		{"  1741944978  ", want},
		// ISO 8601.
		{"2025-03-14T09:36:18Z", want},
		{"2025-03-14T10:36:18+01:00", want},
		{"2025-03-14T09:36:18.412Z", "2025-03-14T09:36:18.412Z"},
		{"2025-03-14T09:36:18", want},
		{"2025-03-14 09:36:18", want},
		{"2025-03-14 09:36:18.412000", "2025-03-14T09:36:18.412Z"},
		{"2025-03-14 09:36:18+00:00", want},
		// The sane range: [2000-01-01, 2100-01-01).
		{"2000-01-01T00:00:00Z", "2000-01-01T00:00:00Z"},
		{"946684800", "2000-01-01T00:00:00Z"},
		{"1999-12-31T23:59:59Z", ""},
		{"500000000", ""}, // 1985
		{"1960-01-01", ""},
		{"1960-01-01T00:00:00Z", ""},
		{"2100-01-01T00:00:00Z", ""},
		{"4102444800", ""},
		{"9999-12-31T23:59:59Z", ""},
		{"12", ""},
		{"0", ""},
		{"-1", ""},
		{"-1741944978", ""},
		{"1e300", ""},
		{"NaN", ""},
		{"Infinity", ""},
		// Not a time.
		{"", ""},
		{"yesterday", ""},
		{"14/03/2025", ""},
		{"2025-03-14", ""},
	}
	for _, tt := range tests {
		got := ParseTime(tt.in)
		var want time.Time
		if tt.want != "" {
			w, err := time.Parse(time.RFC3339Nano, tt.want)
			if err != nil {
				t.Fatal(err)
			}
			want = w
		}
		if !got.Equal(want) || (!got.IsZero() && got.Location() != time.UTC) {
			t.Errorf("ParseTime(%q) = %v, want %v", tt.in, got, want)
		}
	}
}

func TestObject(t *testing.T) {
	o := DecodeObject(json.RawMessage(`{"a":" x ","n":1.5e3,"b":"TRUE","f":false,"o":{"p":{"q":7}},"arr":[1],"nil":null}`))
	tests := []struct{ got, want string }{
		{o.Str("a"), "x"},
		{o.Str("n"), "1500"},
		{o.Str("arr"), ""},
		{o.Str("nil"), ""},
		{o.Str("missing"), ""},
		{o.Path("o", "p", "q"), "7"},
		{o.Path("o", "x", "q"), ""},
		{o.Path("a", "b"), ""},
		{o.First("missing", "nil", "a"), "x"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("#%d: got %q, want %q", i, tt.got, tt.want)
		}
	}
	if b := o.Bool("b"); !b.Set || !b.V {
		t.Errorf("Bool(b) = %+v", b)
	}
	if b := o.Bool("f").Or(OptBool{Set: true, V: true}); !b.Set || b.V {
		t.Errorf("Bool(f) = %+v", b)
	}
	if b := o.Bool("a").Or(OptBool{Set: true, V: true}); !b.V {
		t.Errorf("unset Or = %+v", b)
	}
	if DecodeObject(json.RawMessage(`[1]`)) != nil || Object(nil).Obj("x").Str("y") != "" {
		t.Error("a non-object must read as an empty Object")
	}
}

func TestShapeError(t *testing.T) {
	var v struct {
		User struct {
			ID Text `json:"id"`
		} `json:"user"`
	}
	err := json.Unmarshal([]byte(`{"user":{"id":{"nested":1}}}`), &v)
	err = ShapeError(err, "data.")
	var fe *providers.FieldsError
	if !errors.As(err, &fe) || len(fe.Fields) != 1 || fe.Fields[0].Field != "data.user.id" || fe.Fields[0].Reason != "must be a string or a number, not object" {
		t.Fatalf("ShapeError = %v", err)
	}
	if !errors.Is(ShapeError(errors.New("x"), ""), providers.ErrInvalidPayload) {
		t.Fatal("an unknown error is still an invalid payload")
	}
}

func TestTextAndDedupeID(t *testing.T) {
	var v struct{ A, B, C Text }
	if err := json.Unmarshal([]byte(`{"A":"s","B":1741944978000.0,"C":null}`), &v); err != nil || v.A != "s" || v.B != "1741944978000" || v.C != "" {
		t.Fatalf("Text = %+v (%v)", v, err)
	}
	long := string(make([]byte, MaxIDBytes+1))
	if got := DedupeID(long); len(got) != len("sha256:")+64 {
		t.Fatalf("long id kept: %d bytes", len(got))
	}
	if DedupeID("  id  ") != "id" {
		t.Fatal("ids are trimmed")
	}
}

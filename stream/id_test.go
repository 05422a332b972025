package stream

import (
	"testing"
)

func TestParseID(t *testing.T) {
	tests := []struct {
		in   string
		want ID
		ok   bool
	}{
		{"0-0", ID{}, true},
		{"1741945500000-0", ID{1741945500000, 0}, true},
		{"1741945500000-17", ID{1741945500000, 17}, true},
		{"18446744073709551615-18446744073709551615", ID{1<<64 - 1, 1<<64 - 1}, true},
		{"18446744073709551616-0", ID{}, false}, // overflows uint64
		{"", ID{}, false},
		{"12", ID{}, false},
		{"12-", ID{}, false},
		{"-12", ID{}, false},
		{"1-2-3", ID{}, false},
		{"+1-2", ID{}, false},
		{" 1-2", ID{}, false},
		{"1-2\n", ID{}, false},
		{"abc", ID{}, false},
		{"0x1-2", ID{}, false},
		{"1-2" + string(make([]byte, 100)), ID{}, false},
	}
	for _, tt := range tests {
		got, err := ParseID(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseID(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if tt.ok && got.String() != tt.in {
			t.Errorf("%q does not round-trip: %q", tt.in, got.String())
		}
	}
}

func TestIDOrderAndNext(t *testing.T) {
	a := ID{MS: 10, Seq: 5}
	tests := []struct {
		ms   uint64
		want ID
	}{
		{11, ID{11, 0}}, // a new millisecond
		{10, ID{10, 6}}, // the same millisecond
		{9, ID{10, 6}},  // a clock that went back never reorders ids
	}
	for _, tt := range tests {
		if got := a.next(tt.ms); got != tt.want || !a.Less(got) {
			t.Errorf("next(%d) = %v, want %v after %v", tt.ms, got, tt.want, a)
		}
	}
	if (ID{}).Less(ID{}) || !(ID{}).IsZero() {
		t.Error("zero id")
	}
}

// FuzzParseID: whatever a client sends as Last-Event-ID, ParseID never
// panics, and what it accepts prints as an id that parses back to itself
// ("00-0" is accepted and prints "0-0").
func FuzzParseID(f *testing.F) {
	for _, s := range []string{"0-0", "1741945500000-3", "", "-", "9-", "99999999999999999999-1", "1-2-3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			return
		}
		if again, err := ParseID(id.String()); err != nil || again != id {
			t.Fatalf("accepted %q as %v, which does not parse back: %v %v", s, id, again, err)
		}
	})
}

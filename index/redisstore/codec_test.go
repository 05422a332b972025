package redisstore

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/normalize"
)

func TestActionCodecRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    normalize.SlimAction
		at   float64
	}{
		{"empty", normalize.SlimAction{}, 0},
		{"full", normalize.SlimAction{
			Index: 42, Type: "click", Title: "Pay — «now»", Description: "Clicked \"Pay\"\n", TimestampStart: 1741899999.123456,
			TimestampEnd: 1741899999.654321, RawURL: "https://x.example/pay?a=1", CanonicalURL: "https://x.example/pay",
			SessionID: normalize.OptStr("s1"), UserID: normalize.OptStr("u1"), Email: normalize.OptStr("a@x.io"),
		}, 1741899999.654321},
		{"bytes JSON would rewrite", normalize.SlimAction{Description: "\xff\xfe\x00", Title: strings.Repeat("é", 500)}, 1},
		{"floats JSON refuses", normalize.SlimAction{Index: -3, TimestampStart: math.Inf(1), TimestampEnd: -1}, math.MaxFloat64},
		{"empty but present pointers", normalize.SlimAction{SessionID: new(string), Email: new(string)}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeAction(string(encodeAction(tc.a, tc.at)))
			if err != nil {
				t.Fatal(err)
			}
			if want := (index.StoredAction{SlimAction: tc.a, At: tc.at}); !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded %+v\nwant %+v", got, want)
			}
		})
	}
	nan, err := decodeAction(string(encodeAction(normalize.SlimAction{TimestampStart: math.NaN()}, 0)))
	if err != nil || !math.IsNaN(nan.TimestampStart) {
		t.Fatalf("NaN: %v, %v", nan.TimestampStart, err)
	}
}

func TestActionCodecRejectsGarbage(t *testing.T) {
	good := string(encodeAction(normalize.SlimAction{Type: "click", UserID: normalize.OptStr("u")}, 1))
	for _, raw := range []string{
		"", "\x00", "\x02" + good[1:], good[:len(good)-1], good + "x", `{"action":{}}`,
		"\x01\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", // a string longer than the input
		good[:len(good)-2] + "\x07u",                       // a presence byte that is not 0 or 1
	} {
		if _, err := decodeAction(raw); err == nil {
			t.Errorf("decodeAction(%q) accepted", raw)
		}
	}
}

// FuzzDecodeAction: decoding never panics, and whatever it accepts encodes
// back to the same bytes.
func FuzzDecodeAction(f *testing.F) {
	f.Add(string(encodeAction(normalize.SlimAction{Index: 1, Type: "click", Description: "d", Email: normalize.OptStr("e")}, 5)))
	f.Add("\x01")
	f.Add("\x01\x02\x05click")
	f.Fuzz(func(t *testing.T, raw string) {
		a, err := decodeAction(raw)
		if err != nil {
			return
		}
		if again := string(encodeAction(a.SlimAction, a.At)); again != raw {
			t.Fatalf("decode→encode changed the bytes: %q → %q", raw, again)
		}
	})
}

package index

import (
	"reflect"
	"strings"
	"testing"

	"github.com/replayhook/replayhook/normalize"
)

// pack/unpack give back the action exactly: every string, nil and empty
// optional ids kept apart, numbers and the event time.
func TestPackedActionRoundTrip(t *testing.T) {
	empty := ""
	for _, a := range []normalize.SlimAction{
		{},
		{Index: 3, Type: "click", Title: "Save", Description: "User clicked Save", TimestampStart: 1.5, TimestampEnd: 2.25,
			RawURL: "https://x.io/a?b=1", CanonicalURL: "https://x.io/a",
			SessionID: normalize.OptStr("s1"), UserID: normalize.OptStr("u1"), Email: normalize.OptStr("u@x.io")},
		{Type: "é✓", Title: strings.Repeat("t", 2048), Description: strings.Repeat("d", 8192), UserID: &empty},
		{Index: -7, RawURL: "only a url", Email: normalize.OptStr("e")},
	} {
		p := pack(&a, 1741899999.654321)
		var pool strPool
		got := p.unpack(&pool)
		want := StoredAction{SlimAction: a, At: 1741899999.654321}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
		}
		for _, ptr := range []*string{got.SessionID, got.UserID, got.Email} {
			for _, orig := range []*string{a.SessionID, a.UserID, a.Email} {
				if ptr != nil && ptr == orig {
					t.Fatal("unpack hands out the caller's pointer")
				}
			}
		}
	}
}

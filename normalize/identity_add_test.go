package normalize

import (
	"reflect"
	"testing"
)

func TestAddIdentity(t *testing.T) {
	a := Identity{AnonymousID: "anon", UserID: "u1"}
	withEmail := Identity{AnonymousID: "anon", UserID: "u1", Email: "u1@example.com"}
	other := Identity{AnonymousID: "anon", UserID: "u2"}
	tests := []struct {
		name string
		ids  []Identity
		add  Identity
		want []Identity
	}{
		{"new pair is appended", nil, a, []Identity{a}},
		{"same pair is not repeated", []Identity{a}, a, []Identity{a}},
		{"a later email fills a missing one", []Identity{a}, withEmail, []Identity{withEmail}},
		{"an email is never overwritten", []Identity{withEmail}, Identity{AnonymousID: "anon", UserID: "u1", Email: "x@example.com"}, []Identity{withEmail}},
		{"another user of the same anonymous id is its own pair", []Identity{a}, other, []Identity{a, other}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AddIdentity(append([]Identity(nil), tt.ids...), tt.add); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

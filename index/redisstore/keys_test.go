package redisstore

import (
	"strings"
	"testing"

	"github.com/replayhook/replayhook/index"
)

func TestKeyPart(t *testing.T) {
	hashed := func(s string) bool { return strings.HasPrefix(s, "~") && len(s) == 65 }
	for _, tc := range []struct {
		id     string
		plain  bool // kept as it is
		reason string
	}{
		{"user_123", true, "letters, digits and _"},
		{"a.b-c@x.io+tag", true, "email-like"},
		{"", true, "the empty product id"},
		{strings.Repeat("a", 64), true, "64 bytes"},
		{strings.Repeat("a", 65), false, "too long"},
		{"{tag}", false, "hash tag braces"},
		{"a:b", false, "the key separator"},
		{"a*", false, "glob"},
		{"~0123", false, "the hashed marker"},
		{"with space", false, "space"},
		{"é", false, "non-ASCII"},
		{"\x00", false, "NUL"},
	} {
		got := keyPart(tc.id)
		if tc.plain && got != tc.id {
			t.Errorf("keyPart(%q) = %q, want it unchanged (%s)", tc.id, got, tc.reason)
		}
		if !tc.plain && !hashed(got) {
			t.Errorf("keyPart(%q) = %q, want ~ and a SHA-256 (%s)", tc.id, got, tc.reason)
		}
	}
	if keyPart("{a}") == keyPart("{b}") {
		t.Fatal("two ids share a key part")
	}
}

func TestKeysKeepTheirStructure(t *testing.T) {
	s := &Store{prefix: "rh:"}
	for _, tc := range []struct{ got, want string }{
		{s.userKey("u1"), "rh:u:{u1}"},
		{s.userKey("}{"), "rh:u:{" + keyPart("}{") + "}"},
		{s.aliasKey("p", "anon-1"), "rh:a:p:anon-1"},
		{s.aliasKey("", "anon-1"), "rh:a::anon-1"},
		{s.aliasKey("p:x", "a"), "rh:a:" + keyPart("p:x") + ":a"},
		{s.userAliasesKey("u1"), "rh:u:{u1}:a"},
		{s.userSessionsKey("u1"), "rh:u:{u1}:s"},
		{s.emailSessionsKey("a@x.io"), "rh:m:{a@x.io}:s"},
		{s.rejectedKey(), "rh:rejected"},
	} {
		if tc.got != tc.want {
			t.Errorf("key %q, want %q", tc.got, tc.want)
		}
	}
	meta, list := s.sessionKeys(index.SessionKey{ProductID: "p", SessionID: "s:1"})
	if want := "rh:s:{p:" + keyPart("s:1") + "}"; meta != want || list != want+":a" {
		t.Fatalf("session keys %q %q, want %q and %q:a", meta, list, want, want)
	}
	if d := s.dedupeKey("src", "src\x00id\x00x"); !strings.HasPrefix(d, "rh:d:src:") || len(d) != len("rh:d:src:")+64 {
		t.Fatalf("dedupe key %q", d)
	}
	if a, b := s.dedupeKey("a", "k"), s.dedupeKey("b", "k"); a == b {
		t.Fatalf("two sources share the dedupe key %q", a)
	}
}

// FuzzKeyPart: whatever the id, the key part cannot change a key's
// structure (no ':', '{', '}' or glob character), is bounded, and maps
// different ids to different parts.
func FuzzKeyPart(f *testing.F) {
	for _, s := range []string{"user_1", "{x}", "a:b", strings.Repeat("z", 200), "", "~abc", "\xff"} {
		f.Add(s, s+"x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		pa, pb := keyPart(a), keyPart(b)
		if strings.ContainsAny(pa, ":{}*?[]\\ ") || len(pa) > 65 {
			t.Fatalf("keyPart(%q) = %q", a, pa)
		}
		if a != b && pa == pb {
			t.Fatalf("keyPart(%q) == keyPart(%q) == %q", a, b, pa)
		}
	})
}

func TestRefField(t *testing.T) {
	for _, tc := range []struct{ product, session string }{
		{"p", "s1"}, {"", "s1"}, {"a", "bc"}, {"ab", "c"}, {"1:2", ":3"}, {"\x00", "\xff"},
	} {
		f := refField(tc.product, tc.session)
		r, seq, err := parseRef(f, "7 1741900000.25")
		if err != nil || r.ProductID != tc.product || r.SessionID != tc.session || r.LastSeenAt != 1741900000.25 || seq != 7 {
			t.Errorf("parseRef(refField(%q, %q)) = %+v, %d, %v", tc.product, tc.session, r, seq, err)
		}
	}
	if refField("a", "bc") == refField("ab", "c") {
		t.Fatal("refs share a field")
	}
	for _, tc := range []struct{ field, value string }{
		{"x:1:ps", "1 2"}, {"r:", "1 2"}, {"r:9:p", "1 2"}, {"r:-1:p", "1 2"}, {"r:1:ps", "1"}, {"r:1:ps", "x 2"}, {"r:1:ps", "1 y"},
	} {
		if _, _, err := parseRef(tc.field, tc.value); err == nil {
			t.Errorf("parseRef(%q, %q) accepted", tc.field, tc.value)
		}
	}
}

package redisdrift

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/drift"
)

func TestDriftRowFieldRoundTrip(t *testing.T) {
	tests := []struct{ source, product, suffix string }{
		{"posthog-prod", "prod_demo", ""},
		{"open", "", "\x01d"},
		{"", "", "\x01rinvalid_signature"},
		{"a:b", "1:x", "\x01r12:weird:code"},
		{"with\x00nul", "\x01", "\x01x"},
	}
	for _, tt := range tests {
		f := rowField(tt.source, tt.product) + tt.suffix
		source, product, suffix, ok := splitRowField(f)
		if !ok || source != tt.source || product != tt.product || suffix != tt.suffix {
			t.Errorf("splitRowField(%q) = %q, %q, %q, %v", f, source, product, suffix, ok)
		}
	}
}

func TestDriftTime(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2025, 3, 14, 9, 45, 0, 1, time.UTC), "1741945500000000001"},
		{time.Unix(0, 0), "0000000000000000000"},
		{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), "0000000000000000000"},
		{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), "9223372036854775807"},
	}
	for _, tt := range tests {
		if got := driftTime(tt.in); got != tt.want {
			t.Errorf("driftTime(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got := parseDriftTime("1741945500000000001"); !got.Equal(time.Date(2025, 3, 14, 9, 45, 0, 1, time.UTC)) {
		t.Errorf("parseDriftTime = %v", got)
	}
	for _, bad := range []string{"", "x", "-5", "99999999999999999999"} {
		if got := parseDriftTime(bad); !got.IsZero() {
			t.Errorf("parseDriftTime(%q) = %v, want the zero time", bad, got)
		}
	}
}

// TestDriftDecodeHostile: values read back from Redis are checked, never
// trusted: malformed ones are skipped.
func TestDriftDecodeHostile(t *testing.T) {
	if refs, ok := decodeKnown(string(lpAppend(lpAppend(lpAppend(lpAppend(nil, ""), "2"), "u1"), "p1"))); ok {
		t.Errorf("a known entry announcing more refs than it holds decoded: %+v", refs)
	}
	for _, v := range []string{"", "5:ab", "x:ab", ":", "99999999999:a", "-1:"} {
		if refs, ok := decodeKnown(v); ok {
			t.Errorf("decodeKnown(%q) = %+v", v, refs)
		}
	}
	if _, ok := decodeConflict("x"+string(lpAppend(lpAppend(nil, "a"), "b")), string(lpAppend(lpAppend(nil, ""), "0"))); ok {
		t.Error("a conflict of unknown kind decoded")
	}
	if _, ok := decodeMiss("id", "nonsense"); ok {
		t.Error("a miss without count and time decoded")
	}
	rows := decodeRows(map[string]string{
		rowField("open", ""):            "autoplay",
		rowField("open", "") + "\x01d":  "3",
		rowField("open", "") + "\x01p":  "not a number",
		rowField("ghost", "") + "\x01d": "7", // counters of a row never created
		"garbage":                       "1",
	})
	want := []drift.RowState{{Source: "open", Provider: "autoplay", Deliveries: 3}}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows = %+v, want %+v", rows, want)
	}
}

// FuzzDriftDecode: no value read back from Redis makes a decoder panic, and
// every key the tracker writes splits back into what it was built from.
func FuzzDriftDecode(f *testing.F) {
	f.Add("open", "prod_a", "3:abc1:2")
	f.Add("", "", "")
	f.Add("a:b", "{x}", "0:1:1")
	f.Add("\x01", "9:", "1:x1:02:u12:p1")
	f.Fuzz(func(t *testing.T, a, b, v string) {
		if s, p, suffix, ok := splitRowField(rowField(a, b) + "\x01d"); !ok || s != a || p != b || suffix != "\x01d" {
			t.Fatalf("row field (%q, %q) splits into %q, %q, %q", a, b, s, p, suffix)
		}
		for _, kind := range []byte{'s', 'e'} {
			if c, ok := decodeConflict(knownField(kind, a, b), string(lpAppend(lpAppend(nil, v), "0000000000000000001"))); !ok ||
				(kind == 's' && (c.ProductID != a || c.SessionID != b)) || (kind == 'e' && (!c.Email || c.Display != v)) {
				t.Fatalf("conflict key (%c, %q, %q) decodes to %+v, %v", kind, a, b, c, ok)
			}
		}
		_, _ = decodeKnown(v)
		_, _ = decodeConflict(a, v)
		_, _ = decodeMiss(a, v)
		_ = decodeExamples(v)
		_ = decodeRows(map[string]string{a: v, rowField(a, b): v, rowField(a, b) + "\x01x": v, rowField(a, b) + "\x01r" + v: v})
		_, _ = lpList(v)
	})
}

// TestDriftQueueFullDrops: an observation that finds the queue full is
// dropped and counted; it never blocks the caller.
func TestDriftQueueFullDrops(t *testing.T) {
	d := newTracker(nil, Options{Prefix: "x:"}, 2) // writer not started: nothing drains the queue
	for range 5 {
		d.Lookup("u1", false, time.Unix(0, 0))
	}
	if d.Dropped() != 3 || d.Totals().Lookups != 5 {
		t.Errorf("dropped %d, lifetime lookups %d: want 3 dropped of 5 counted", d.Dropped(), d.Totals().Lookups)
	}
}

// TestDriftKeysShareOneSlot: every drift key carries the hash tag
// "{<prefix>drift}" and starts with the prefix.
func TestDriftKeysShareOneSlot(t *testing.T) {
	ks := keys("rh:")
	if len(ks) != 9 {
		t.Fatalf("%d keys", len(ks))
	}
	for _, k := range ks {
		if !strings.HasPrefix(k, "rh:") || !strings.Contains(k, "{rh:drift}") {
			t.Errorf("key %q", k)
		}
	}
}

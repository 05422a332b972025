package index

import (
	"slices"
	"testing"
	"time"

	"github.com/replayhook/replayhook/normalize"
)

// act builds a stored action the way the SDK's examples look.
func act(index int, typ, desc, url string, at float64) StoredAction {
	return StoredAction{
		SlimAction: normalize.SlimAction{Index: index, Type: typ, Title: "title is never printed", Description: desc, CanonicalURL: url},
		At:         at,
	}
}

func TestActionLineIsTheSDKFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    normalize.SlimAction
		want string
	}{
		{"pageview", normalize.SlimAction{Index: 0, Type: "pageview", Title: "Checkout", Description: "User landed on checkout", CanonicalURL: "https://shop.example.com/checkout"},
			"[0] pageview: User landed on checkout \u2014 https://shop.example.com/checkout"},
		{"click with a large index", normalize.SlimAction{Index: 1234, Type: "click", Description: "Clicked Place order", CanonicalURL: "https://shop.example.com/checkout"},
			"[1234] click: Clicked Place order — https://shop.example.com/checkout"},
		{"empty fields are printed empty", normalize.SlimAction{Index: 2},
			"[2] :  \u2014 "},
		{"negative index", normalize.SlimAction{Index: -1, Type: "blur", Description: "d", CanonicalURL: "u"},
			"[-1] blur: d \u2014 u"},
		{"text is not escaped", normalize.SlimAction{Index: 3, Type: "type", Description: "line1\nline2 — «ü»", CanonicalURL: "https://x.example/a?b=c&d=e"},
			"[3] type: line1\nline2 — «ü» \u2014 https://x.example/a?b=c&d=e"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ActionLine(tc.a); got != tc.want {
				t.Fatalf("ActionLine =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestActionLineDashIsAnEmDash(t *testing.T) {
	got := ActionLine(normalize.SlimAction{Type: "t", Description: "d", CanonicalURL: "u"})
	want := []byte("[0] t: d \xe2\x80\x94 u") // U+2014 in UTF-8, one space each side
	if got != string(want) {
		t.Fatalf("got % x, want % x", got, want)
	}
}

func TestSessionText(t *testing.T) {
	landed := act(0, "pageview", "User landed on the main Dashboard page", "https://app.example.com/dashboard", 100)
	clicked := act(1, "click", "User clicked Export", "https://app.example.com/reports/:id", 101)
	late := act(7, "submit", "User submitted the form", "https://app.example.com/reports/:id", 102)
	for _, tc := range []struct {
		name    string
		summary string
		actions []StoredAction
		want    string
	}{
		{"nothing", "", nil, ""},
		{"no summary, empty actions", "", []StoredAction{}, ""},
		{"summary only", "Exported a CSV.", nil, "Summary: Exported a CSV."},
		{"actions only", "", []StoredAction{landed, clicked},
			"Recent activity:\n" +
				"1. [0] pageview: User landed on the main Dashboard page \u2014 https://app.example.com/dashboard\n" +
				"2. [1] click: User clicked Export \u2014 https://app.example.com/reports/:id"},
		{"summary and actions", "Exported a CSV.", []StoredAction{landed, clicked},
			"Summary: Exported a CSV.\n\n" +
				"Recent activity:\n" +
				"1. [0] pageview: User landed on the main Dashboard page \u2014 https://app.example.com/dashboard\n" +
				"2. [1] click: User clicked Export \u2014 https://app.example.com/reports/:id"},
		{"numbering counts the given actions, the bracket is the action's index", "", []StoredAction{late},
			"Recent activity:\n1. [7] submit: User submitted the form \u2014 https://app.example.com/reports/:id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SessionText(tc.summary, tc.actions); got != tc.want {
				t.Fatalf("SessionText =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestUserBlock(t *testing.T) {
	for _, tc := range []struct{ session, product, text, want string }{
		{"s_1", "prod_demo", "Summary: x", "Session s_1 (prod_demo):\nSummary: x"},
		{"s_1", "", "Summary: x", "Session s_1 (no-product-id):\nSummary: x"},
	} {
		if got := UserBlock(tc.session, tc.product, tc.text); got != tc.want {
			t.Errorf("UserBlock(%q, %q) = %q, want %q", tc.session, tc.product, got, tc.want)
		}
	}
}

func TestJoinBlocks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		blocks []string
		want   string
	}{
		{"none", nil, ""},
		{"only empty", []string{"", ""}, ""},
		{"one", []string{"a"}, "a"},
		{"empty ones are skipped", []string{"", "a", "", "b", ""}, "a\n\nb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := JoinBlocks(tc.blocks); got != tc.want {
				t.Fatalf("JoinBlocks = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestUserActivityText renders a user with two sessions, the newest of
// which has no activity, exactly as get_user_activity would.
func TestUserActivityText(t *testing.T) {
	type session struct {
		id, product, summary string
		actions              []StoredAction
	}
	sessions := []session{ // newest first, as Lookup returns refs
		{id: "s_empty", product: "prod_demo"},
		{id: "s_new", product: "prod_demo", summary: "Exported a CSV.", actions: []StoredAction{
			act(1, "submit", "User submitted the form", "https://app.example.com/reports/:id", 100),
		}},
		{id: "s_old", product: "", actions: []StoredAction{
			act(0, "pageview", "User landed on checkout", "https://shop.example.com/checkout", 50),
			act(1, "click", "User clicked Place order", "https://shop.example.com/checkout", 51),
		}},
	}
	var blocks []string
	for _, s := range sessions {
		if text := SessionText(s.summary, s.actions); text != "" {
			blocks = append(blocks, UserBlock(s.id, s.product, text))
		}
	}
	want := "Session s_new (prod_demo):\n" +
		"Summary: Exported a CSV.\n\n" +
		"Recent activity:\n" +
		"1. [1] submit: User submitted the form \u2014 https://app.example.com/reports/:id\n\n" +
		"Session s_old (no-product-id):\n" +
		"Recent activity:\n" +
		"1. [0] pageview: User landed on checkout \u2014 https://shop.example.com/checkout\n" +
		"2. [1] click: User clicked Place order \u2014 https://shop.example.com/checkout"
	if got := JoinBlocks(blocks); got != want {
		t.Fatalf("user activity =\n%s\nwant\n%s", got, want)
	}
}

func TestSelectActions(t *testing.T) {
	now := time.Unix(1000, 0)
	a := act(0, "t", "a", "u", 600) // 400 s old
	b := act(1, "t", "b", "u", 900) // 100 s old
	c := act(2, "t", "c", "u", 700) // 300 s old: exactly on a 300 s lookback, a late delivery
	d := act(3, "t", "d", "u", 950) // 50 s old
	all := []StoredAction{a, b, c, d}
	idx := func(as []StoredAction) []int {
		out := []int{}
		for _, x := range as {
			out = append(out, x.Index)
		}
		return out
	}
	for _, tc := range []struct {
		name       string
		lookback   time.Duration
		maxActions int
		want       []int
	}{
		{"no filter, no cap", 0, 0, []int{0, 1, 2, 3}},
		{"negative values mean no filter and no cap", -time.Second, -1, []int{0, 1, 2, 3}},
		{"cap keeps the newest arrivals, oldest first", 0, 2, []int{2, 3}},
		{"cap above the count", 0, 10, []int{0, 1, 2, 3}},
		{"lookback keeps the boundary and later, even out of order", 300 * time.Second, 0, []int{1, 2, 3}},
		{"lookback then cap", 300 * time.Second, 2, []int{2, 3}},
		{"lookback drops a middle action", 200 * time.Second, 0, []int{1, 3}},
		{"lookback drops all", time.Second, 0, []int{}},
		{"lookback keeps all", time.Hour, 1, []int{3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(all)
			got := SelectActions(all, now, tc.lookback, tc.maxActions)
			if !slices.Equal(idx(got), tc.want) {
				t.Fatalf("kept %v, want %v", idx(got), tc.want)
			}
			if !slices.EqualFunc(all, before, func(x, y StoredAction) bool { return x.Index == y.Index && x.At == y.At }) {
				t.Fatalf("SelectActions modified its input")
			}
		})
	}
}

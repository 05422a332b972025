package index

import (
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/replayhook/replayhook/normalize"
)

// An action log gives back the actions exactly: every string, nil and
// empty optional ids kept apart, numbers and the event time.
func TestActionLogRoundTrip(t *testing.T) {
	empty := ""
	acts := []normalize.SlimAction{
		{},
		{Index: 3, Type: "click", Title: "Save", Description: "User clicked Save", TimestampStart: 1.5, TimestampEnd: 2.25,
			RawURL: "https://x.io/a?b=1", CanonicalURL: "https://x.io/a",
			SessionID: normalize.OptStr("s1"), UserID: normalize.OptStr("u1"), Email: normalize.OptStr("u@x.io")},
		{Type: "é✓", Title: strings.Repeat("t", 2048), Description: strings.Repeat("d", 8192), UserID: &empty},
		{Index: -7, RawURL: "only a url", Email: normalize.OptStr("e")},
	}
	var l actionLog
	l.add(acts, 1741899999.654321, 10, maxLogBytes)
	got := l.ordered()
	if len(got) != len(acts) {
		t.Fatalf("%d actions back, want %d", len(got), len(acts))
	}
	for i, a := range acts {
		want := StoredAction{SlimAction: a, At: 1741899999.654321}
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("action %d:\n got %+v\nwant %+v", i, got[i], want)
		}
		for _, ptr := range []*string{got[i].SessionID, got[i].UserID, got[i].Email} {
			for _, orig := range []*string{a.SessionID, a.UserID, a.Email} {
				if ptr != nil && ptr == orig {
					t.Fatal("ordered hands out the caller's pointer")
				}
			}
		}
	}
	// The log keeps its own copy: changing the caller's strings' backing
	// memory cannot reach it, and changing what ordered returned cannot
	// either.
	*got[1].UserID = "changed"
	if again := l.ordered(); *again[1].UserID != "u1" {
		t.Fatal("a copy handed out changed the log")
	}
}

// Whatever the sizes and the order of additions, the log holds exactly the
// newest limit actions that fit in maxBytes (the model below), and the
// dropped prefix never exceeds its bound: at most a quarter of the records
// and of the data are dead, so memory stays within 4/3 of what is live.
func TestActionLogKeepsTheNewestWithinItsBounds(t *testing.T) {
	for _, tc := range []struct {
		name            string
		limit, maxBytes int
	}{
		{"one action", 1, maxLogBytes},
		{"ten actions", 10, maxLogBytes},
		{"two hundred actions", 200, maxLogBytes},
		{"bytes bind first", 50, 300},
		{"tiny byte budget", 50, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.limit), uint64(tc.maxBytes)))
			var l actionLog
			var model []normalize.SlimAction // every action added, in order
			seq := 0
			for round := range 400 {
				batch := make([]normalize.SlimAction, rng.IntN(8))
				for i := range batch {
					batch[i] = normalize.SlimAction{Index: seq, Type: "t" + strconv.Itoa(seq),
						Description: strings.Repeat("d", rng.IntN(60)), RawURL: strings.Repeat("u", rng.IntN(20))}
					if rng.IntN(3) == 0 {
						batch[i].UserID = normalize.OptStr("user" + strconv.Itoa(seq))
					}
					seq++
				}
				l.add(batch, float64(round), tc.limit, tc.maxBytes)
				if len(batch) > tc.limit {
					batch = batch[len(batch)-tc.limit:]
				}
				model = append(model, batch...)
				// The model: the newest actions, at most limit, within
				// maxBytes (a lone action over maxBytes is kept).
				want, bytes := 0, 0
				for i := len(model) - 1; i >= 0 && want < tc.limit; i-- {
					fs := fields(&model[i])
					n := size(&fs)
					if want > 0 && bytes+n > tc.maxBytes {
						break
					}
					want, bytes = want+1, bytes+n
				}
				got := l.ordered()
				if len(got) != want {
					t.Fatalf("round %d: %d actions held, want %d", round, len(got), want)
				}
				for i, a := range got {
					if !reflect.DeepEqual(a.SlimAction, model[len(model)-want+i]) {
						t.Fatalf("round %d: action %d is %+v, want %+v", round, i, a.SlimAction, model[len(model)-want+i])
					}
				}
				if l.live() != bytes {
					t.Fatalf("round %d: %d live bytes, want %d", round, l.live(), bytes)
				}
				if dead := l.first; dead*4 > len(l.metas) {
					t.Fatalf("round %d: %d of %d records dead", round, dead, len(l.metas))
				}
				if dead := len(l.data) - l.live(); dead*4 > len(l.data) {
					t.Fatalf("round %d: %d of %d bytes dead", round, dead, len(l.data))
				}
			}
		})
	}
}

// A log that dropped everything it held (a lone oversized action, say)
// starts again from the beginning of its buffers.
func TestActionLogReusesItsBuffers(t *testing.T) {
	var l actionLog
	big := []normalize.SlimAction{{Description: strings.Repeat("x", 100)}}
	for range 10 {
		l.add(big, 1, 5, 50)
	}
	if l.len() != 1 || len(l.data) != 100 || len(l.metas) != 1 {
		t.Fatalf("held %d actions in %d bytes and %d records, want 1, 100, 1", l.len(), len(l.data), len(l.metas))
	}
}

package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"

	"github.com/replayhook/replayhook/normalize"
)

// payload builds an ActionsPayload with one action per description; each
// action's Index is its position in the batch and carries the batch's ids.
func payload(user, email string, descs ...string) *normalize.ActionsPayload {
	p := &normalize.ActionsPayload{Type: "actions", ProductID: "p", UserID: normalize.OptStr(user), Email: normalize.OptStr(email)}
	for i, d := range descs {
		p.Actions = append(p.Actions, normalize.SlimAction{
			Index: i, Type: "click", Description: d, CanonicalURL: "https://x.example/" + d,
			SessionID: normalize.OptStr("s1"), UserID: normalize.OptStr(user), Email: normalize.OptStr(email),
		})
	}
	return p
}

// descs lists the descriptions of a session's actions, oldest first.
func descs(s Session) []string {
	out := []string{}
	for _, a := range s.Actions {
		out = append(out, a.Description)
	}
	return out
}

func TestMemoryActivityAddAndGet(t *testing.T) {
	ctx := context.Background()
	key := SessionKey{ProductID: "p", SessionID: "s1"}
	type add struct {
		p       *normalize.ActionsPayload
		at      float64
		summary *string // SetSummary instead of AddActions when set
	}
	summary := func(s string) *string { return &s }
	for _, tc := range []struct {
		name       string
		perSession int
		adds       []add
		wantDescs  []string
		wantAts    []float64
		want       Session // identity, summary, LastAt
	}{
		{name: "actions in arrival order, stamped with their payload's time",
			perSession: 10,
			adds:       []add{{p: payload("u1", "a@x.io", "a", "b"), at: 100}, {p: payload("u1", "", "c"), at: 90}},
			wantDescs:  []string{"a", "b", "c"}, wantAts: []float64{100, 100, 90},
			want: Session{UserID: "u1", Email: "a@x.io", LastAt: 100}},
		{name: "only the newest actions are kept, across payloads",
			perSession: 3,
			adds: []add{
				{p: payload("", "", "a", "b"), at: 1},
				{p: payload("", "", "c", "d"), at: 2},
				{p: payload("", "", "e"), at: 3},
			},
			wantDescs: []string{"c", "d", "e"}, wantAts: []float64{2, 2, 3},
			want: Session{LastAt: 3}},
		{name: "the ring wraps many times",
			perSession: 2,
			adds: []add{
				{p: payload("", "", "a"), at: 1}, {p: payload("", "", "b"), at: 2}, {p: payload("", "", "c"), at: 3},
				{p: payload("", "", "d"), at: 4}, {p: payload("", "", "e"), at: 5},
			},
			wantDescs: []string{"d", "e"}, wantAts: []float64{4, 5},
			want: Session{LastAt: 5}},
		{name: "a payload larger than the bound keeps its newest actions",
			perSession: 2,
			adds:       []add{{p: payload("", "", "a"), at: 1}, {p: payload("", "", "b", "c", "d"), at: 2}},
			wantDescs:  []string{"c", "d"}, wantAts: []float64{2, 2},
			want: Session{LastAt: 2}},
		{name: "the last non-empty user id and email win",
			perSession: 10,
			adds: []add{
				{p: payload("anon-1", "", "a"), at: 1},
				{p: payload("u1", "a@x.io", "b"), at: 2},
				{p: payload("", "", "c"), at: 3},
				{p: payload("  ", " ", "d"), at: 4},
			},
			wantDescs: []string{"a", "b", "c", "d"}, wantAts: []float64{1, 2, 3, 4},
			want: Session{UserID: "u1", Email: "a@x.io", LastAt: 4}},
		{name: "the latest summary replaces the previous one",
			perSession: 10,
			adds: []add{
				{summary: summary("first"), at: 5},
				{p: payload("", "", "a"), at: 3},
				{summary: summary("second"), at: 4},
			},
			wantDescs: []string{"a"}, wantAts: []float64{3},
			want: Session{Summary: "second", LastAt: 5}},
		{name: "a summary alone makes a session",
			perSession: 10,
			adds:       []add{{summary: summary("Exported a CSV."), at: 5}},
			wantDescs:  []string{}, wantAts: []float64{},
			want: Session{Summary: "Exported a CSV.", LastAt: 5}},
		{name: "a payload without actions still records its identity",
			perSession: 10,
			adds:       []add{{p: payload("u1", ""), at: 7}},
			wantDescs:  []string{}, wantAts: []float64{},
			want: Session{UserID: "u1", LastAt: 7}},
		{name: "unusable times are stored as 0",
			perSession: 10,
			adds: []add{
				{p: payload("", "", "nan"), at: math.NaN()}, {p: payload("", "", "inf"), at: math.Inf(1)},
				{p: payload("", "", "neg"), at: -5},
			},
			wantDescs: []string{"nan", "inf", "neg"}, wantAts: []float64{0, 0, 0},
			want: Session{LastAt: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemoryActivity(10, tc.perSession)
			for _, a := range tc.adds {
				var err error
				if a.summary != nil {
					err = m.SetSummary(ctx, key, *a.summary, a.at)
				} else {
					err = m.AddActions(ctx, key, a.p, a.at)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			s, ok, err := m.Get(ctx, key)
			if !ok || err != nil {
				t.Fatalf("Get = %v, %v; want the session", ok, err)
			}
			ats := []float64{}
			for _, a := range s.Actions {
				ats = append(ats, a.At)
			}
			if !reflect.DeepEqual(descs(s), tc.wantDescs) || !reflect.DeepEqual(ats, tc.wantAts) {
				t.Fatalf("actions %v at %v, want %v at %v", descs(s), ats, tc.wantDescs, tc.wantAts)
			}
			s.Actions = nil
			want := tc.want
			want.ProductID, want.SessionID = "p", "s1"
			if !reflect.DeepEqual(s, want) {
				t.Fatalf("session = %+v, want %+v", s, want)
			}
		})
	}
}

func TestMemoryActivityKeys(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryActivity(10, 10)
	if err := m.AddActions(ctx, SessionKey{ProductID: " p1 ", SessionID: "\ts1 "}, payload("", "", "in p1"), 1); err != nil {
		t.Fatal(err)
	}
	if err := m.AddActions(ctx, SessionKey{ProductID: "p2", SessionID: "s1"}, payload("", "", "in p2"), 1); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  SessionKey
		want []string // nil: not found
	}{
		{SessionKey{"p1", "s1"}, []string{"in p1"}},
		{SessionKey{" p1", "s1\n"}, []string{"in p1"}}, // trimmed on read
		{SessionKey{"p2", "s1"}, []string{"in p2"}},    // same session id, other product
		{SessionKey{"P1", "s1"}, nil},                  // case kept
		{SessionKey{"", "s1"}, nil},
		{SessionKey{"p1", ""}, nil},
		{SessionKey{"p1", "unknown"}, nil},
	} {
		s, ok, err := m.Get(ctx, tc.key)
		if err != nil || ok != (tc.want != nil) || (ok && !reflect.DeepEqual(descs(s), tc.want)) {
			t.Errorf("Get(%+v) = %v, %v, %v; want %v", tc.key, descs(s), ok, err, tc.want)
		}
		if ok && (s.ProductID != cleanID(tc.key.ProductID) || s.SessionID != cleanID(tc.key.SessionID)) {
			t.Errorf("Get(%+v) names %q/%q", tc.key, s.ProductID, s.SessionID)
		}
	}
	if m.Len() != 2 {
		t.Fatalf("Len = %d after reads, want 2: reads never create sessions", m.Len())
	}
}

func TestMemoryActivityRefusesSessionlessWrites(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryActivity(10, 10)
	for _, sid := range []string{"", "  ", "\t\n"} {
		key := SessionKey{ProductID: "p", SessionID: sid}
		if err := m.AddActions(ctx, key, payload("u1", "", "a"), 1); !errors.Is(err, ErrNoSession) {
			t.Errorf("AddActions(session %q) = %v, want ErrNoSession", sid, err)
		}
		if err := m.SetSummary(ctx, key, "s", 1); !errors.Is(err, ErrNoSession) {
			t.Errorf("SetSummary(session %q) = %v, want ErrNoSession", sid, err)
		}
	}
	if m.Len() != 0 {
		t.Fatalf("Len = %d, want 0", m.Len())
	}
}

// TestMemoryActivityIsolation: neither the writer's payload nor a reader's
// copy can change what is stored.
func TestMemoryActivityIsolation(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryActivity(10, 10)
	key := SessionKey{ProductID: "p", SessionID: "s1"}
	p := payload("u1", "a@x.io", "a", "b")
	if err := m.AddActions(ctx, key, p, 1); err != nil {
		t.Fatal(err)
	}
	want, _, _ := m.Get(ctx, key)

	*p.Actions[0].UserID = "writer changed it"
	p.Actions[1].Description = "writer changed it"
	*p.UserID = "writer changed it"

	got, _, _ := m.Get(ctx, key)
	*got.Actions[0].UserID = "reader changed it"
	*got.Actions[1].SessionID = "reader changed it"
	got.Actions[0].Description = "reader changed it"
	got.Actions = append(got.Actions[:1], got.Actions[0])

	if again, _, _ := m.Get(ctx, key); !reflect.DeepEqual(again, want) {
		t.Fatalf("store changed through a payload or a copy:\n%+v\nwant\n%+v", again, want)
	}
	if *want.Actions[0].UserID != "u1" || *want.Actions[1].Email != "a@x.io" || *want.Actions[0].SessionID != "s1" {
		t.Fatalf("pointer fields not kept: %+v", want.Actions[0])
	}
}

func TestMemoryActivityEvictsTheLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryActivity(2, 10)
	k := func(s string) SessionKey { return SessionKey{ProductID: "p", SessionID: s} }
	_ = m.AddActions(ctx, k("s1"), payload("", "", "a"), 1)
	_ = m.SetSummary(ctx, k("s2"), "x", 1)
	_, _, _ = m.Get(ctx, k("s1"))                           // s2 is now the oldest
	_ = m.AddActions(ctx, k("s3"), payload("", "", "c"), 1) // evicts s2
	for s, want := range map[string]bool{"s1": true, "s2": false, "s3": true} {
		if _, ok, _ := m.Get(ctx, k(s)); ok != want {
			t.Errorf("%s held = %v, want %v", s, ok, want)
		}
	}
	if m.Len() != 2 || m.Evictions() != 1 {
		t.Fatalf("Len = %d, Evictions = %d; want 2, 1", m.Len(), m.Evictions())
	}
}

func TestMemoryActivityStaysWithinItsBounds(t *testing.T) {
	ctx := context.Background()
	t.Run("sessions", func(t *testing.T) {
		for _, maxSessions := range []int{1, 500, 9000} {
			m := NewMemoryActivity(maxSessions, 4)
			total := 10 * maxSessions
			over := sampleBound(t, m.Len, maxSessions, func(g, workers int) {
				for i := g; i < total; i += workers {
					_ = m.AddActions(ctx, SessionKey{ProductID: "p", SessionID: fmt.Sprint("s", i)}, payload("", "", "a"), 1)
				}
			})
			if over != "" {
				t.Fatal(over)
			}
			if m.Len() != maxSessions || uint64(m.Len())+m.Evictions() != uint64(total) {
				t.Fatalf("max %d: Len = %d, Evictions = %d after %d new sessions", maxSessions, m.Len(), m.Evictions(), total)
			}
		}
	})
	t.Run("actions per session", func(t *testing.T) {
		const perSession = 50
		m := NewMemoryActivity(10, perSession)
		key := SessionKey{ProductID: "p", SessionID: "s1"}
		size := func() int { s, _, _ := m.Get(ctx, key); return len(s.Actions) }
		over := sampleBound(t, size, perSession, func(g, _ int) {
			for i := range 100 {
				_ = m.AddActions(ctx, key, payload("", "", fmt.Sprint(g, "-", i), "x", "y"), float64(i))
			}
		})
		if over != "" {
			t.Fatal(over)
		}
		if n := size(); n != perSession {
			t.Fatalf("%d actions at the end, want %d", n, perSession)
		}
	})
}

func TestMemoryActivityExportImport(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryActivity(3, 2)
	k := func(s string) SessionKey { return SessionKey{ProductID: "p", SessionID: s} }
	_ = m.AddActions(ctx, k("s1"), payload("u1", "a@x.io", "a", "b", "c"), 10)
	_ = m.SetSummary(ctx, k("s1"), "sum", 12)
	_ = m.AddActions(ctx, k("s2"), payload("", "", "d"), 20)
	_ = m.AddActions(ctx, k("s3"), payload("u3", "", "e"), 30)
	_, _, _ = m.Get(ctx, k("s1")) // LRU order: s2, s3, s1

	recs := m.Export()
	if len(recs) != 3 || recs[0].SessionID != "s2" || recs[1].SessionID != "s3" || recs[2].SessionID != "s1" {
		t.Fatalf("Export order %+v, want s2, s3, s1", recs)
	}
	if r := recs[2]; r.UserID != "u1" || r.Email != "a@x.io" || r.Summary != "sum" || r.LastAt != 12 ||
		len(r.Actions) != 2 || r.Actions[0].Action.Description != "b" || r.Actions[1].At != 10 {
		t.Fatalf("s1 record = %+v", r)
	}
	data, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	var back []SessionRecord
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	restarted := NewMemoryActivity(3, 2)
	restarted.Import(back)
	restarted.Import(back) // replacing: importing twice changes nothing
	for _, s := range []string{"s1", "s2", "s3"} {
		want, _, _ := m.Get(ctx, k(s))
		got, ok, _ := restarted.Get(ctx, k(s))
		if !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s after Import = %+v, want %+v", s, got, want)
		}
	}

	small := NewMemoryActivity(2, 1)
	small.Import(back)
	if _, ok, _ := small.Get(ctx, k("s2")); ok {
		t.Fatalf("s2, the least recently used, survived an Import into a 2-session store")
	}
	if s, _, _ := small.Get(ctx, k("s1")); !reflect.DeepEqual(descs(s), []string{"c"}) {
		t.Fatalf("s1 in a store of 1 action per session holds %v, want [c]", descs(s))
	}
}

func TestMemoryActivityImportIsDefensive(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryActivity(10, 10)
	m.Import([]SessionRecord{
		{ProductID: "p", SessionID: "  ", Summary: "no session"},
		{ProductID: " p ", SessionID: " s1 ", UserID: " u1 ", LastAt: math.NaN(), Actions: []ActionRecord{
			{Action: normalize.SlimAction{Description: "a"}, At: 5},
			{Action: normalize.SlimAction{Description: "b"}, At: math.Inf(-1)},
		}},
	})
	if m.Len() != 1 {
		t.Fatalf("Len = %d, want 1 (the record without a session id is skipped)", m.Len())
	}
	s, ok, _ := m.Get(ctx, SessionKey{ProductID: "p", SessionID: "s1"})
	if !ok || s.UserID != "u1" || s.LastAt != 5 || s.Actions[1].At != 0 {
		t.Fatalf("imported session = %+v, %v", s, ok)
	}
	if _, err := json.Marshal(m.Export()); err != nil {
		t.Fatalf("Export of an imported store does not marshal: %v", err)
	}
}

// TestMemoryActivityConcurrentUse writes and reads the same sessions from
// many goroutines; run with -race.
func TestMemoryActivityConcurrentUse(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryActivity(3, 5)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 300 {
				key := SessionKey{ProductID: "p", SessionID: fmt.Sprint("s", (g+i)%5)}
				switch i % 3 {
				case 0:
					_ = m.AddActions(ctx, key, payload("u", "e", "a", "b"), float64(i))
				case 1:
					_ = m.SetSummary(ctx, key, fmt.Sprint(i), float64(i))
				case 2:
					if s, ok, _ := m.Get(ctx, key); ok && len(s.Actions) > 5 {
						t.Errorf("%d actions, above the bound", len(s.Actions))
					}
				}
			}
		})
	}
	wg.Wait()
	if m.Len() > 3 {
		t.Fatalf("Len = %d, above the bound", m.Len())
	}
}

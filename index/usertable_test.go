package index

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// A user's blob gives back exactly what was encoded: empty and long
// strings, no refs or many, every float bit pattern a ref can hold.
func TestUserBlobRoundTrip(t *testing.T) {
	many := make([]SessionRef, 300)
	for i := range many {
		many[i] = SessionRef{SessionID: "s" + strconv.Itoa(i), ProductID: strings.Repeat("p", i), LastSeenAt: float64(i) * 1.25}
	}
	for _, tc := range []struct {
		id string
		e  userEntry
	}{
		{"u", userEntry{refs: []SessionRef{{SessionID: "s", LastSeenAt: 0}}}},
		{"", userEntry{email: "", refs: []SessionRef{}}},
		{"é✓ user", userEntry{email: "a@b.c", refs: []SessionRef{{SessionID: "x", ProductID: "", LastSeenAt: 1741899999.654321}, {SessionID: "", ProductID: "p", LastSeenAt: math.MaxFloat64}}}},
		{strings.Repeat("u", 70_000), userEntry{email: strings.Repeat("e", 200), refs: many}},
	} {
		id, e := decodeUser(encodeUser(tc.id, tc.e))
		if id != tc.id || e.email != tc.e.email || len(e.refs) != len(tc.e.refs) || (len(e.refs) > 0 && !reflect.DeepEqual(e.refs, tc.e.refs)) {
			t.Errorf("round trip of %.20q: got %.20q %+v", tc.id, id, e)
		}
		if blobID(encodeUser(tc.id, tc.e)) != tc.id {
			t.Errorf("blobID of %.20q", tc.id)
		}
	}
}

// userTable and flatLRU behave exactly as simplelru (the oracle: same
// interface, same order) under a random mix of every operation; userTable
// with ids spread over the hash and with every id in a handful of hash
// chains.
func TestSlotLRUsMatchSimpleLRU(t *testing.T) {
	userTableWith := func(collide func(string) uint64) func() (lruCache[string, userEntry], func() int) {
		return func() (lruCache[string, userEntry], func() int) {
			table := newUserTable().(*userTable)
			table.collide = collide
			return table, func() int { return len(table.slots) }
		}
	}
	for _, tc := range []struct {
		name string
		make func() (lruCache[string, userEntry], func() int) // the LRU and its slot count
	}{
		{"userTable, seeded hash", userTableWith(nil)},
		{"userTable, four hash chains", userTableWith(func(id string) uint64 { return uint64(len(id) % 4) })},
		{"userTable, one hash chain", userTableWith(func(string) uint64 { return 7 })},
		{"flatLRU", func() (lruCache[string, userEntry], func() int) {
			f := newFlatLRU[string, userEntry]().(*flatLRU[string, userEntry])
			return f, func() int { return len(f.slots) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(len(tc.name))))
			table, slots := tc.make()
			oracle, _ := simplelru.NewLRU[string, userEntry](1<<20, nil)
			id := func() string { return "user_" + strconv.Itoa(rng.IntN(60)) }
			for step := range 20_000 {
				var got, want any
				switch op := rng.IntN(8); op {
				case 0, 1:
					k := id()
					e := userEntry{email: "m" + strconv.Itoa(step), refs: []SessionRef{{SessionID: "s" + strconv.Itoa(step), ProductID: "p", LastSeenAt: float64(step)}}}
					got, want = table.Add(k, e), oracle.Add(k, e)
				case 2:
					k := id()
					e1, ok1 := table.Get(k)
					e2, ok2 := oracle.Get(k)
					got, want = [2]any{e1, ok1}, [2]any{e2, ok2}
				case 3:
					k := id()
					e1, ok1 := table.Peek(k)
					e2, ok2 := oracle.Peek(k)
					got, want = [2]any{e1, ok1}, [2]any{e2, ok2}
				case 4:
					k := id()
					got, want = table.Contains(k), oracle.Contains(k)
				case 5:
					k := id()
					got, want = table.Remove(k), oracle.Remove(k)
				case 6:
					k1, e1, ok1 := table.RemoveOldest()
					k2, e2, ok2 := oracle.RemoveOldest()
					got, want = [3]any{k1, e1, ok1}, [3]any{k2, e2, ok2}
				case 7:
					k1, e1, ok1 := table.GetOldest()
					k2, e2, ok2 := oracle.GetOldest()
					got, want = [3]any{k1, e1, ok1}, [3]any{k2, e2, ok2}
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("step %d: got %+v, want %+v", step, got, want)
				}
				if table.Len() != oracle.Len() || !slicesEqual(table.Keys(), oracle.Keys()) {
					t.Fatalf("step %d: keys %v, want %v", step, table.Keys(), oracle.Keys())
				}
			}
			// Freed slots are reused: the slice never held more than the
			// ids that exist.
			if n := slots(); n > 60 {
				t.Fatalf("%d slots for at most 60 users", n)
			}
		})
	}
}

func slicesEqual(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

// The table keeps copies: changing what was added or what was handed out
// does not change what it holds.
func TestUserTableKeepsItsOwnCopy(t *testing.T) {
	table := newUserTable()
	refs := []SessionRef{{SessionID: "s1", ProductID: "p", LastSeenAt: 1}}
	table.Add("u", userEntry{email: "e", refs: refs})
	refs[0].SessionID = "changed"
	got, _ := table.Get("u")
	got.refs[0].LastSeenAt = 99
	again, _ := table.Peek("u")
	if again.refs[0].SessionID != "s1" || again.refs[0].LastSeenAt != 1 {
		t.Fatalf("the table's entry changed: %+v", again)
	}
}

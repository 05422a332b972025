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
		{"", userEntry{refs: []SessionRef{}}},
		{"é✓ user", userEntry{emails: []ProductEmail{{ProductID: "", Email: "a@b.c"}, {ProductID: "p", Email: "p@b.c"}}, refs: []SessionRef{{SessionID: "x", ProductID: "", LastSeenAt: 1741899999.654321}, {SessionID: "", ProductID: "p", LastSeenAt: math.MaxFloat64}}}},
		{strings.Repeat("u", 70_000), userEntry{emails: pe(strings.Repeat("p", 300), strings.Repeat("e", 200)), refs: many}},
	} {
		id, e := decodeUser(encodeUser(tc.id, tc.e))
		if id != tc.id || !reflect.DeepEqual(e.emails, tc.e.emails) || len(e.refs) != len(tc.e.refs) || (len(e.refs) > 0 && !reflect.DeepEqual(e.refs, tc.e.refs)) {
			t.Errorf("round trip of %.20q: got %.20q %+v", tc.id, id, e)
		}
		if blobID(encodeUser(tc.id, tc.e)) != tc.id {
			t.Errorf("blobID of %.20q", tc.id)
		}
	}
}

// The slice-backed LRUs (userTable, the session table, newFlatLRU's) behave
// exactly as simplelru (the oracle: same interface, same order) under a
// random mix of every operation; userTable also with every id forced into
// a handful of hash chains, and into one.
func TestSlotLRUsMatchSimpleLRU(t *testing.T) {
	userID := func(n int) string { return "user_" + strconv.Itoa(n) }
	user := func(step int) userEntry {
		return userEntry{emails: pe("p", "m"+strconv.Itoa(step)), refs: []SessionRef{{SessionID: "s" + strconv.Itoa(step), ProductID: "p", LastSeenAt: float64(step)}}}
	}
	userTableWith := func(collide func(string) uint64) func(t *testing.T) {
		return func(t *testing.T) {
			table := newUserTable().(*userTable)
			table.collide = collide
			matchSimpleLRU(t, table, func() int { return len(table.slots) }, userID, user)
		}
	}
	t.Run("userTable, seeded hash", userTableWith(nil))
	t.Run("userTable, four hash chains", userTableWith(func(id string) uint64 { return uint64(len(id) % 4) }))
	t.Run("userTable, one hash chain", userTableWith(func(string) uint64 { return 7 }))
	t.Run("session table", func(t *testing.T) {
		table := newSessionTable().(*slotLRU[SessionKey, *sessionEntry, *sessionEntry])
		matchSimpleLRU(t, table, func() int { return len(table.slots) },
			func(n int) SessionKey {
				return SessionKey{ProductID: "p" + strconv.Itoa(n%3), SessionID: "s" + strconv.Itoa(n)}
			},
			func(step int) *sessionEntry { return &sessionEntry{summary: strconv.Itoa(step)} })
	})
	t.Run("flatLRU", func(t *testing.T) {
		f := newFlatLRU[[32]byte, claimRec]().(*slotLRU[[32]byte, flatSlot[[32]byte, claimRec], claimRec])
		matchSimpleLRU(t, f, func() int { return len(f.slots) },
			func(n int) [32]byte { return [32]byte{byte(n)} },
			func(step int) claimRec { return claimRec{at: int64(step), pending: step%2 == 0} })
	})
}

// matchSimpleLRU runs 20 000 random operations on lru and on a simplelru,
// over 60 keys, and fails at the first difference in a result, the length
// or the order; at the end the slice behind lru (slots) must not have
// grown beyond the 60 keys (freed slots are reused).
func matchSimpleLRU[K comparable, V any](t *testing.T, lru lruCache[K, V], slots func() int, key func(int) K, val func(step int) V) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	oracle, _ := simplelru.NewLRU[K, V](1<<20, nil)
	for step := range 20_000 {
		k := key(rng.IntN(60))
		var got, want any
		switch rng.IntN(8) {
		case 0, 1:
			v := val(step)
			got, want = lru.Add(k, v), oracle.Add(k, v)
		case 2:
			v1, ok1 := lru.Get(k)
			v2, ok2 := oracle.Get(k)
			got, want = [2]any{v1, ok1}, [2]any{v2, ok2}
		case 3:
			v1, ok1 := lru.Peek(k)
			v2, ok2 := oracle.Peek(k)
			got, want = [2]any{v1, ok1}, [2]any{v2, ok2}
		case 4:
			got, want = lru.Contains(k), oracle.Contains(k)
		case 5:
			got, want = lru.Remove(k), oracle.Remove(k)
		case 6:
			k1, v1, ok1 := lru.RemoveOldest()
			k2, v2, ok2 := oracle.RemoveOldest()
			got, want = [3]any{k1, v1, ok1}, [3]any{k2, v2, ok2}
		case 7:
			k1, v1, ok1 := lru.GetOldest()
			k2, v2, ok2 := oracle.GetOldest()
			got, want = [3]any{k1, v1, ok1}, [3]any{k2, v2, ok2}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d: got %+v, want %+v", step, got, want)
		}
		if gotKeys, wantKeys := lru.Keys(), oracle.Keys(); lru.Len() != oracle.Len() || len(gotKeys) != len(wantKeys) || (len(gotKeys) > 0 && !reflect.DeepEqual(gotKeys, wantKeys)) {
			t.Fatalf("step %d: %d keys %v, want %d %v", step, lru.Len(), gotKeys, oracle.Len(), wantKeys)
		}
	}
	if n := slots(); n > 60 {
		t.Fatalf("%d slots for at most 60 keys", n)
	}
}

// The table keeps copies: changing what was added or what was handed out
// does not change what it holds.
func TestUserTableKeepsItsOwnCopy(t *testing.T) {
	table := newUserTable()
	refs := []SessionRef{{SessionID: "s1", ProductID: "p", LastSeenAt: 1}}
	table.Add("u", userEntry{emails: pe("p", "e"), refs: refs})
	refs[0].SessionID = "changed"
	got, _ := table.Get("u")
	got.refs[0].LastSeenAt = 99
	again, _ := table.Peek("u")
	if again.refs[0].SessionID != "s1" || again.refs[0].LastSeenAt != 1 {
		t.Fatalf("the table's entry changed: %+v", again)
	}
}

package index

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"strings"
)

// userTable is the LRU behind one shard of MemoryUsers, laid out for the
// garbage collector. The users index is the largest structure replayhook
// keeps (a million users is an ordinary configuration), and every cycle of
// the collector marks all of it: with a linked LRU of Go structs that was
// ~10 pointers and 4 objects per user, and at 1 M users the marking alone
// set the tail of lookups under load (BENCHMARKS.md).
//
// Here a user is one slot in a slice and one immutable string (its blob:
// the id, the email and the refs, encoded by encodeUser). The only pointer
// per user is the blob; the LRU order (a slotList) and the hash chains are
// int32 indexes into the slices, and the index from id to slot is a map from the id's
// seeded hash to a slot, which holds no pointer and is never scanned. The
// order is the exact LRU order simplelru keeps, so the shards around it
// and every test of eviction order are unchanged.
//
// Values handed out (Get, Peek, RemoveOldest, GetOldest) are decoded from
// the blob: their strings are substrings of it (immutable, so safe to keep)
// and their refs slice is new, owned by the caller. Add encodes a copy: the
// table never keeps a caller's string or slice. Not safe for concurrent
// use: the shard's lock guards it.
type userTable struct {
	seed  maphash.Seed
	order slotList
	index map[uint64]int32 // hash of a user id → the first slot with that hash
	slots []userSlot
	// collide, when set, replaces the seeded hash (tests use it to force
	// ids into one hash chain).
	collide func(string) uint64
}

type userSlot struct {
	blob  string // encodeUser's layout; "" when the slot is free
	hash  uint64
	chain int32 // next slot whose id has the same hash
}

var _ lruCache[string, userEntry] = (*userTable)(nil)

func newUserTable() lruCache[string, userEntry] {
	return &userTable{seed: maphash.MakeSeed(), order: newSlotList(), index: map[uint64]int32{}}
}

// find returns id's slot (noSlot when absent) and id's hash.
func (t *userTable) find(id string) (int32, uint64) {
	h := maphash.String(t.seed, id)
	if t.collide != nil {
		h = t.collide(id)
	}
	i, ok := t.index[h]
	if !ok {
		return noSlot, h
	}
	for ; i != noSlot; i = t.slots[i].chain {
		if blobID(t.slots[i].blob) == id {
			return i, h
		}
	}
	return noSlot, h
}

// Add stores id → e (a copy) as the most recently used. It never evicts:
// the shards around it keep the bound.
func (t *userTable) Add(id string, e userEntry) bool {
	blob := encodeUser(id, e)
	i, h := t.find(id)
	if i != noSlot {
		t.slots[i].blob = blob
		t.order.touch(i)
		return false
	}
	i, grew := t.order.add()
	if grew {
		t.slots = append(t.slots, userSlot{})
	}
	s := &t.slots[i]
	s.blob, s.hash, s.chain = blob, h, noSlot
	if first, ok := t.index[h]; ok {
		s.chain = first
	}
	t.index[h] = i
	return false
}

// Get returns id's entry and makes it the most recently used.
func (t *userTable) Get(id string) (userEntry, bool) {
	i, _ := t.find(id)
	if i == noSlot {
		return userEntry{}, false
	}
	t.order.touch(i)
	_, e := decodeUser(t.slots[i].blob)
	return e, true
}

// Peek returns id's entry without changing the order.
func (t *userTable) Peek(id string) (userEntry, bool) {
	i, _ := t.find(id)
	if i == noSlot {
		return userEntry{}, false
	}
	_, e := decodeUser(t.slots[i].blob)
	return e, true
}

// Contains reports whether id is held, without changing the order.
func (t *userTable) Contains(id string) bool {
	i, _ := t.find(id)
	return i != noSlot
}

// Remove deletes id, reporting whether it was held.
func (t *userTable) Remove(id string) bool {
	i, _ := t.find(id)
	if i == noSlot {
		return false
	}
	t.remove(i)
	return true
}

// RemoveOldest deletes and returns the least recently used entry.
func (t *userTable) RemoveOldest() (string, userEntry, bool) {
	id, e, ok := t.GetOldest()
	if ok {
		t.remove(t.order.tail)
	}
	return id, e, ok
}

// GetOldest returns the least recently used entry.
func (t *userTable) GetOldest() (string, userEntry, bool) {
	if t.order.tail == noSlot {
		return "", userEntry{}, false
	}
	id, e := decodeUser(t.slots[t.order.tail].blob)
	return id, e, true
}

// Keys returns the ids, least recently used first.
func (t *userTable) Keys() []string {
	idx := t.order.oldestFirst()
	out := make([]string, len(idx))
	for j, i := range idx {
		out[j] = blobID(t.slots[i].blob)
	}
	return out
}

// Len is the number of users held.
func (t *userTable) Len() int { return t.order.n }

// remove takes slot i out of its hash chain and the LRU list and frees it.
func (t *userTable) remove(i int32) {
	s := &t.slots[i]
	if first := t.index[s.hash]; first == i {
		if s.chain == noSlot {
			delete(t.index, s.hash)
		} else {
			t.index[s.hash] = s.chain
		}
	} else {
		j := first
		for t.slots[j].chain != i {
			j = t.slots[j].chain
		}
		t.slots[j].chain = s.chain
	}
	t.slots[i] = userSlot{chain: noSlot}
	t.order.release(i)
}

// encodeUser lays out a user in one string:
//
//	uvarint len(id), id, uvarint len(email), email, uvarint len(refs),
//	then per ref: LastSeenAt as 8 bytes (IEEE 754 bits, little endian),
//	uvarint len(session), session, uvarint len(product), product.
func encodeUser(id string, e userEntry) string {
	n := strLen(id) + strLen(e.email) + uvarintLen(uint64(len(e.refs)))
	for _, r := range e.refs {
		n += 8 + strLen(r.SessionID) + strLen(r.ProductID)
	}
	var b strings.Builder
	b.Grow(n)
	var tmp [binary.MaxVarintLen64]byte
	putStr := func(s string) {
		b.Write(binary.AppendUvarint(tmp[:0], uint64(len(s))))
		b.WriteString(s)
	}
	putStr(id)
	putStr(e.email)
	b.Write(binary.AppendUvarint(tmp[:0], uint64(len(e.refs))))
	for _, r := range e.refs {
		b.Write(binary.LittleEndian.AppendUint64(tmp[:0], math.Float64bits(r.LastSeenAt)))
		putStr(r.SessionID)
		putStr(r.ProductID)
	}
	return b.String()
}

// decodeUser reads what encodeUser wrote. Its strings are substrings of
// blob; the refs slice is new.
func decodeUser(blob string) (string, userEntry) {
	id, rest := readStr(blob)
	var e userEntry
	e.email, rest = readStr(rest)
	n, rest := readUvarint(rest)
	e.refs = make([]SessionRef, n)
	for i := range e.refs {
		var bits uint64
		for j := 7; j >= 0; j-- {
			bits = bits<<8 | uint64(rest[j])
		}
		r := &e.refs[i]
		r.LastSeenAt = math.Float64frombits(bits)
		r.SessionID, rest = readStr(rest[8:])
		r.ProductID, rest = readStr(rest)
	}
	return id, e
}

// blobID is the id at the start of a blob, without decoding the rest.
func blobID(blob string) string {
	id, _ := readStr(blob)
	return id
}

func readStr(s string) (string, string) {
	n, s := readUvarint(s)
	return s[:n], s[n:]
}

// readUvarint reads an unsigned varint that encodeUser wrote (blobs are
// never read from outside).
func readUvarint(s string) (uint64, string) {
	var x uint64
	for i, shift := 0, uint(0); ; i, shift = i+1, shift+7 {
		c := s[i]
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x, s[i+1:]
		}
	}
}

func strLen(s string) int { return uvarintLen(uint64(len(s))) + len(s) }

func uvarintLen(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}

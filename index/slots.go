package index

import "hash/maphash"

// The slice-backed LRUs (slotLRU: the users index, the sessions, the
// dedupe keys) keep their entries in slices and link them by int32 indexes
// instead of pointers: the garbage collector marks a slice of such entries
// as one object, where a linked list of Go structs is one object and
// several pointers per entry, all marked on every cycle. slotList is their
// LRU order over slot indexes, with the list of free slots.

// noSlot is the nil of slot indexes.
const noSlot = -1

// slotList is an exact LRU order over slot indexes, with a free list.
// Indexes fit in int32: every store's bound is below 2^31 (configuration
// caps them at 10^8).
type slotList struct {
	links      []slotLink
	head, tail int32 // most and least recently used; noSlot when empty
	free       int32 // first free slot, linked through next
	n          int
}

type slotLink struct{ prev, next int32 }

func newSlotList() slotList { return slotList{head: noSlot, tail: noSlot, free: noSlot} }

// add takes a slot (a free one, else a new one at index len(links): the
// caller grows its own slices when grew) and makes it the most recently
// used.
func (l *slotList) add() (i int32, grew bool) {
	if l.free != noSlot {
		i, l.free = l.free, l.links[l.free].next
	} else {
		l.links = append(l.links, slotLink{})
		i, grew = int32(len(l.links)-1), true
	}
	l.pushFront(i)
	l.n++
	return i, grew
}

// release takes slot i out of the order and frees it.
func (l *slotList) release(i int32) {
	l.unlink(i)
	l.links[i] = slotLink{prev: noSlot, next: l.free}
	l.free = i
	l.n--
}

// touch makes slot i the most recently used.
func (l *slotList) touch(i int32) {
	if l.head != i {
		l.unlink(i)
		l.pushFront(i)
	}
}

func (l *slotList) unlink(i int32) {
	s := l.links[i]
	if s.prev != noSlot {
		l.links[s.prev].next = s.next
	} else {
		l.head = s.next
	}
	if s.next != noSlot {
		l.links[s.next].prev = s.prev
	} else {
		l.tail = s.prev
	}
}

func (l *slotList) pushFront(i int32) {
	l.links[i] = slotLink{prev: noSlot, next: l.head}
	if l.head != noSlot {
		l.links[l.head].prev = i
	} else {
		l.tail = i
	}
	l.head = i
}

// newFlatLRU is an LRU for keys and values without pointers (the dedupe
// store's SHA-256 keys and claim records): a slotLRU whose slots hold the
// key and value themselves, so that its map, its slots and its order are
// pointer-free objects the collector never scans, whatever their size.
func newFlatLRU[K comparable, V any]() lruCache[K, V] {
	return &slotLRU[K, flatSlot[K, V], V]{
		hashedSlots: newHashedSlots(func(s flatSlot[K, V]) K { return s.key }),
		wrap:        func(k K, v V) flatSlot[K, V] { return flatSlot[K, V]{key: k, val: v} },
		view:        func(s flatSlot[K, V]) V { return s.val },
	}
}

type flatSlot[K comparable, V any] struct {
	key K
	val V
}

// hashedSlots is an LRU of slots of type S found by a key of type K that
// each slot carries (keyOf). The index from key to slot is a map from the
// key's seeded hash to the first slot with that hash, slots sharing a hash
// are chained, and neither the map nor the chains hold a pointer, even
// when the keys do (strings). The slots are the only part the
// collector scans (and not even those when S holds no pointer). Not safe
// for concurrent use.
type hashedSlots[K comparable, S any] struct {
	seed   maphash.Seed
	keyOf  func(S) K
	order  slotList
	first  map[uint64]int32 // key hash → the first slot with that hash
	slots  []S
	hashes []uint64 // by slot: its key's hash
	chain  []int32  // by slot: the next slot with the same hash
	// collide, when set, replaces the seeded hash (tests use it to force
	// keys into one hash chain).
	collide func(K) uint64
}

func newHashedSlots[K comparable, S any](keyOf func(S) K) hashedSlots[K, S] {
	return hashedSlots[K, S]{seed: maphash.MakeSeed(), keyOf: keyOf, order: newSlotList(), first: map[uint64]int32{}}
}

func (h *hashedSlots[K, S]) hash(k K) uint64 {
	if h.collide != nil {
		return h.collide(k)
	}
	return maphash.Comparable(h.seed, k)
}

// find returns k's slot, noSlot when absent.
func (h *hashedSlots[K, S]) find(k K) int32 {
	i, _ := h.findHashed(k, h.hash(k))
	return i
}

// findHashed is find for a key whose hash is hk; it also reports whether
// any slot has that hash.
func (h *hashedSlots[K, S]) findHashed(k K, hk uint64) (int32, bool) {
	i, ok := h.first[hk]
	if !ok {
		return noSlot, false
	}
	for ; i != noSlot; i = h.chain[i] {
		if h.keyOf(h.slots[i]) == k {
			return i, true
		}
	}
	return noSlot, true
}

// put stores s (whose key is k) as the most recently used: in k's slot if
// k is held, else in a new one.
func (h *hashedSlots[K, S]) put(k K, s S) {
	hk := h.hash(k)
	i, chained := h.findHashed(k, hk)
	if i != noSlot {
		h.slots[i] = s
		h.order.touch(i)
		return
	}
	i, grew := h.order.add()
	if grew {
		var zero S
		h.slots, h.hashes, h.chain = append(h.slots, zero), append(h.hashes, 0), append(h.chain, 0)
	}
	h.slots[i], h.hashes[i], h.chain[i] = s, hk, noSlot
	if chained {
		h.chain[i] = h.first[hk]
	}
	h.first[hk] = i
}

// remove takes slot i out of its hash chain and the order and frees it.
func (h *hashedSlots[K, S]) remove(i int32) {
	hk := h.hashes[i]
	if j := h.first[hk]; j == i {
		if h.chain[i] == noSlot {
			delete(h.first, hk)
		} else {
			h.first[hk] = h.chain[i]
		}
	} else {
		for h.chain[j] != i {
			j = h.chain[j]
		}
		h.chain[j] = h.chain[i]
	}
	var zero S
	h.slots[i], h.chain[i] = zero, noSlot
	h.order.release(i)
}

// keys returns the keys, least recently used first.
func (h *hashedSlots[K, S]) keys() []K {
	out := make([]K, 0, h.order.n)
	for i := h.order.tail; i != noSlot; i = h.order.links[i].prev {
		out = append(out, h.keyOf(h.slots[i]))
	}
	return out
}

// slotLRU is hashedSlots as an lruCache, with simplelru's semantics and
// order: wrap makes the slot stored for a key and value, view the value
// handed out from a slot.
type slotLRU[K comparable, S, V any] struct {
	hashedSlots[K, S]
	wrap func(K, V) S
	view func(S) V
}

// Add stores k → v as the most recently used. It never evicts: the shards
// around it keep the bound.
func (l *slotLRU[K, S, V]) Add(k K, v V) bool {
	l.put(k, l.wrap(k, v))
	return false
}

func (l *slotLRU[K, S, V]) Get(k K) (V, bool) {
	i := l.find(k)
	if i == noSlot {
		var zero V
		return zero, false
	}
	l.order.touch(i)
	return l.view(l.slots[i]), true
}

func (l *slotLRU[K, S, V]) Peek(k K) (V, bool) {
	i := l.find(k)
	if i == noSlot {
		var zero V
		return zero, false
	}
	return l.view(l.slots[i]), true
}

func (l *slotLRU[K, S, V]) Contains(k K) bool { return l.find(k) != noSlot }

func (l *slotLRU[K, S, V]) Remove(k K) bool {
	i := l.find(k)
	if i != noSlot {
		l.remove(i)
	}
	return i != noSlot
}

func (l *slotLRU[K, S, V]) RemoveOldest() (K, V, bool) {
	k, v, ok := l.GetOldest()
	if ok {
		l.remove(l.order.tail)
	}
	return k, v, ok
}

func (l *slotLRU[K, S, V]) GetOldest() (K, V, bool) {
	if l.order.tail == noSlot {
		var k K
		var v V
		return k, v, false
	}
	s := l.slots[l.order.tail]
	return l.keyOf(s), l.view(s), true
}

func (l *slotLRU[K, S, V]) Keys() []K { return l.keys() }

func (l *slotLRU[K, S, V]) Len() int { return l.order.n }

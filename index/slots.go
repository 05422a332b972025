package index

// The pointer-light LRUs (userTable, flatLRU) keep their entries in slices
// and link them by int32 indexes instead of pointers: the garbage collector
// marks a slice of such entries as one object, where a linked list of Go
// structs is one object and several pointers per entry, all marked on
// every cycle. slotList is the part they share: the LRU order over slot
// indexes and the list of free slots.

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

// oldestFirst returns the used slots, least recently used first.
func (l *slotList) oldestFirst() []int32 {
	out := make([]int32, 0, l.n)
	for i := l.tail; i != noSlot; i = l.links[i].prev {
		out = append(out, i)
	}
	return out
}

// flatLRU is an LRU for keys and values without pointers (the dedupe
// store's SHA-256 keys and claim records): the map, the slots and the
// order are then three pointer-free objects the collector never scans,
// whatever the number of entries. It has simplelru's semantics and order
// (TestSlotLRUsMatchSimpleLRU). Not safe for concurrent use.
type flatLRU[K comparable, V any] struct {
	order slotList
	index map[K]int32
	slots []flatSlot[K, V]
}

type flatSlot[K comparable, V any] struct {
	key K
	val V
}

func newFlatLRU[K comparable, V any]() lruCache[K, V] {
	return &flatLRU[K, V]{order: newSlotList(), index: map[K]int32{}}
}

// Add stores k → v as the most recently used. It never evicts: the shards
// around it keep the bound.
func (f *flatLRU[K, V]) Add(k K, v V) bool {
	if i, ok := f.index[k]; ok {
		f.slots[i].val = v
		f.order.touch(i)
		return false
	}
	i, grew := f.order.add()
	if grew {
		f.slots = append(f.slots, flatSlot[K, V]{})
	}
	f.slots[i] = flatSlot[K, V]{key: k, val: v}
	f.index[k] = i
	return false
}

func (f *flatLRU[K, V]) Get(k K) (V, bool) {
	i, ok := f.index[k]
	if !ok {
		var zero V
		return zero, false
	}
	f.order.touch(i)
	return f.slots[i].val, true
}

func (f *flatLRU[K, V]) Peek(k K) (V, bool) {
	i, ok := f.index[k]
	if !ok {
		var zero V
		return zero, false
	}
	return f.slots[i].val, true
}

func (f *flatLRU[K, V]) Contains(k K) bool {
	_, ok := f.index[k]
	return ok
}

func (f *flatLRU[K, V]) Remove(k K) bool {
	i, ok := f.index[k]
	if ok {
		f.remove(i)
	}
	return ok
}

func (f *flatLRU[K, V]) RemoveOldest() (K, V, bool) {
	k, v, ok := f.GetOldest()
	if ok {
		f.remove(f.order.tail)
	}
	return k, v, ok
}

func (f *flatLRU[K, V]) GetOldest() (K, V, bool) {
	if f.order.tail == noSlot {
		var k K
		var v V
		return k, v, false
	}
	s := f.slots[f.order.tail]
	return s.key, s.val, true
}

func (f *flatLRU[K, V]) Keys() []K {
	idx := f.order.oldestFirst()
	out := make([]K, len(idx))
	for j, i := range idx {
		out[j] = f.slots[i].key
	}
	return out
}

func (f *flatLRU[K, V]) Len() int { return f.order.n }

func (f *flatLRU[K, V]) remove(i int32) {
	delete(f.index, f.slots[i].key)
	f.slots[i] = flatSlot[K, V]{}
	f.order.release(i)
}

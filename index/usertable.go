package index

import (
	"encoding/binary"
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
// Here a user is one slot (hashedSlots) holding one immutable string, its
// blob: the id, the emails and the refs, encoded by encodeUser. The only
// pointer per user is the blob. The order is the exact LRU order simplelru
// keeps, so the shards around it and every test of eviction order are
// unchanged.
//
// Values handed out (Get, Peek, RemoveOldest, GetOldest) are decoded from
// the blob: their strings are substrings of it (immutable, so safe to keep)
// and their refs slice is new, owned by the caller. Add encodes a copy: the
// table never keeps a caller's string or slice. Not safe for concurrent
// use: the shard's lock guards it.
type userTable = slotLRU[string, string, userEntry]

func newUserTable() lruCache[string, userEntry] {
	return &userTable{
		hashedSlots: newHashedSlots[string, string](blobID),
		wrap:        encodeUser,
		view:        func(blob string) userEntry { _, e := decodeUser(blob); return e },
	}
}

// encodeUser lays out a user in one string:
//
//	uvarint len(id), id, uvarint len(emails), then per email: uvarint
//	len(product), product, uvarint len(email), email; uvarint len(refs),
//	then per ref: LastSeenAt as 8 bytes (IEEE 754 bits, little endian),
//	uvarint len(session), session, uvarint len(product), product.
func encodeUser(id string, e userEntry) string {
	n := strLen(id) + uvarintLen(uint64(len(e.emails))) + uvarintLen(uint64(len(e.refs)))
	for _, pe := range e.emails {
		n += strLen(pe.ProductID) + strLen(pe.Email)
	}
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
	b.Write(binary.AppendUvarint(tmp[:0], uint64(len(e.emails))))
	for _, pe := range e.emails {
		putStr(pe.ProductID)
		putStr(pe.Email)
	}
	b.Write(binary.AppendUvarint(tmp[:0], uint64(len(e.refs))))
	for _, r := range e.refs {
		b.Write(binary.LittleEndian.AppendUint64(tmp[:0], math.Float64bits(r.LastSeenAt)))
		putStr(r.SessionID)
		putStr(r.ProductID)
	}
	return b.String()
}

// decodeUser reads what encodeUser wrote. Its strings are substrings of
// blob; the slices are new (nil emails when there are none).
func decodeUser(blob string) (string, userEntry) {
	id, rest := readStr(blob)
	var e userEntry
	ne, rest := readUvarint(rest)
	if ne > 0 {
		e.emails = make([]ProductEmail, ne)
		for i := range e.emails {
			e.emails[i].ProductID, rest = readStr(rest)
			e.emails[i].Email, rest = readStr(rest)
		}
	}
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

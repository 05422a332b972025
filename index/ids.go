package index

import "strings"

// How ids are compared and kept.

// cleanID trims surrounding white space, the way ids are compared
// everywhere in replayhook (case is kept).
func cleanID(s string) string { return strings.TrimSpace(s) }

// ownID returns a copy of id that shares no memory with the caller's
// string, so a stored id never keeps a larger buffer (a request body) alive.
func ownID(id string) string { return strings.Clone(id) }

// ownPair is ownID of two ids kept together, in one allocation: one heap
// object for the garbage collector to find instead of two.
func ownPair(a, b string) (string, string) {
	var sb strings.Builder
	sb.Grow(len(a) + len(b))
	sb.WriteString(a)
	sb.WriteString(b)
	ab := sb.String()
	return ab[:len(a)], ab[len(a):]
}

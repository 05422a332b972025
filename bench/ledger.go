package main

import (
	"strconv"
	"sync/atomic"
)

// ledger records what was accepted: one bit per (user, session) and one
// per anonymous session, set atomically. The load generator shares the
// CPUs with the server it measures, and the baseline phase records
// nothing, so the bookkeeping must cost next to nothing: no lock, no
// allocation, no growing heap for the generator's collector to scan (it
// was a mutex-guarded map of maps).
type ledger struct {
	sessions     int
	ident, anons []atomic.Uint64
}

func newLedger(users, sessions int) *ledger {
	words := (users*sessions + 63) / 64
	return &ledger{sessions: sessions, ident: make([]atomic.Uint64, words), anons: make([]atomic.Uint64, words)}
}

// add records session s of user u (anonymous: the anonymous session s of
// u's device).
func (l *ledger) add(anonymous bool, u, s int) {
	word, bit := l.bit(anonymous, u, s)
	word.Or(bit)
}

// has reports whether add was called with these arguments.
func (l *ledger) has(anonymous bool, u, s int) bool {
	word, bit := l.bit(anonymous, u, s)
	return word.Load()&bit != 0
}

// bit is the word and bit that record (anonymous, u, s).
func (l *ledger) bit(anonymous bool, u, s int) (*atomic.Uint64, uint64) {
	bits := l.ident
	if anonymous {
		bits = l.anons
	}
	i := u*l.sessions + s
	return &bits[i/64], 1 << (i % 64)
}

// The ids the load tool sends for user u and its session s.
func userID(u int) string         { return "u_" + strconv.Itoa(u) }
func sessionID(u, s int) string   { return "s_" + strconv.Itoa(u) + "_" + strconv.Itoa(s) }
func anonSession(u, s int) string { return "anon_" + strconv.Itoa(u) + "_" + strconv.Itoa(s) }

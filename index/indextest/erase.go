package indextest

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/normalize"
)

// activityEraseUser checks ActivityStore.EraseUser: the user's own
// sessions are deleted whole, wherever they are (no hint needed: beyond
// the per-user cap or the lookback, the store finds them); their actions
// and email are removed from other users' sessions; nothing else changes.
func activityEraseUser(t *testing.T, newActivity NewActivity) {
	ctx := context.Background()
	a := newActivity(t, 50)
	key := func(p, s string) index.SessionKey { return index.SessionKey{ProductID: p, SessionID: s} }
	// Twelve sessions of alice in two products: more than any per-user cap.
	for i := range 12 {
		must(t, a.AddActions(ctx, key(fmt.Sprint("P", i%2), fmt.Sprint("alice-", i)), payload("alice", "alice@x.io", "a"), 1))
	}
	// An anonymous session that only carries her email.
	must(t, a.AddActions(ctx, key("P0", "anon"), payload("", "alice@x.io", "anon"), 1))
	// Bob's session, into which her actions and email were mixed.
	must(t, a.AddActions(ctx, key("P0", "shared"), payload("bob", "", "bob-1"), 1))
	must(t, a.AddActions(ctx, key("P0", "shared"), payload("alice", "", "alice-in-bob"), 2))
	must(t, a.AddActions(ctx, key("P0", "shared"), payload("", "alice@x.io", "email-in-bob"), 3))
	must(t, a.AddActions(ctx, key("P0", "shared"), payload("bob", "", "bob-2"), 4))
	// An anonymous session without any id of hers, that an identify
	// linked to her (it is among her refs).
	must(t, a.AddActions(ctx, key("P1", "linked"), payload("", "", "before identify"), 1))
	// Bob's own session, untouched, even when named among her sessions.
	must(t, a.AddActions(ctx, key("P1", "bob"), payload("bob", "bob@x.io", "bob"), 1))
	before, _, _ := a.Get(ctx, key("P1", "bob"))

	er := index.UserErasure{UserID: " alice ", Emails: []string{"alice@x.io"},
		Sessions: []index.SessionKey{key("P0", "anon"), key(" P1 ", "linked"), key("P1", "bob")}}
	n, err := a.EraseUser(ctx, er)
	if err != nil || n != 15 {
		t.Fatalf("EraseUser = %d, %v; want 15 sessions (12 hers, the anonymous one, the linked one, bob's shared one)", n, err)
	}
	for i := range 12 {
		if s, ok, _ := a.Get(ctx, key(fmt.Sprint("P", i%2), fmt.Sprint("alice-", i))); ok {
			t.Fatalf("alice's session %d survived: %+v", i, s)
		}
	}
	if s, ok, _ := a.Get(ctx, key("P0", "anon")); ok {
		t.Fatalf("the anonymous session with her email survived: %+v", s)
	}
	if s, ok, _ := a.Get(ctx, key("P1", "linked")); ok {
		t.Fatalf("the anonymous session linked to her survived: %+v", s)
	}
	shared, ok, err := a.Get(ctx, key("P0", "shared"))
	if err != nil || !ok {
		t.Fatalf("bob's shared session is gone: %v, %v", ok, err)
	}
	if got := descs(shared); !reflect.DeepEqual(got, []string{"bob-1", "bob-2"}) {
		t.Fatalf("bob's shared session holds %q, want only bob's actions", got)
	}
	if shared.UserID != "bob" || shared.Email != "" {
		t.Fatalf("bob's shared session: user %q email %q; want bob and no email", shared.UserID, shared.Email)
	}
	for _, act := range shared.Actions {
		if normalize.Str(act.UserID) == "alice" || normalize.Str(act.Email) == "alice@x.io" {
			t.Fatalf("an action of alice survived: %+v", act)
		}
	}
	if after, _, _ := a.Get(ctx, key("P1", "bob")); !reflect.DeepEqual(after, before) {
		t.Fatalf("bob's own session changed: %+v, was %+v", after, before)
	}
	if n, err := a.EraseUser(ctx, er); err != nil || n != 0 {
		t.Fatalf("EraseUser again = %d, %v; want 0", n, err)
	}
	if n := a.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2 (bob's sessions)", n)
	}
}

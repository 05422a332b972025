package drift

import (
	"context"
	"slices"
)

// Forget erases userID (trimmed) from what the tracker remembers, for a
// user's erasure: its lookup miss; its refs in known entries, where an
// entry left with no user id and no anonymous id is dropped (and with it
// the email, normalized id or session it was kept under), as is the entry
// of userID used as an anonymous id; its anonymous id in sessions; and its
// refs in conflicts, where a conflict left with fewer than two users is
// dropped. Counts (rows, totals) name no one and are kept. It scans every
// known entry once, under the lock: erasures are rare.
func (d *Memory) Forget(_ context.Context, userID string) error {
	id, ok := MissID(userID)
	if !ok {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.misses.Remove(id)
	isID := func(r Ref) bool { return r.UserID == id }
	for _, k := range d.known.Keys() {
		e, _ := d.known.Peek(k)
		e.ids = slices.DeleteFunc(e.ids, isID)
		e.anons = slices.DeleteFunc(e.anons, func(a string) bool { return a == id })
		if (k.kind == kindAnon && k.a == id) || (len(e.ids) == 0 && len(e.anons) == 0) {
			d.known.Remove(k)
		}
	}
	for _, k := range d.conflicts.Keys() {
		c, _ := d.conflicts.Peek(k)
		c.ids = slices.DeleteFunc(c.ids, isID)
		if distinctUsers(c.ids) < 2 {
			d.conflicts.Remove(k)
		}
	}
	return nil
}

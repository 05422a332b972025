package drift

import (
	"strings"
	"testing"
)

// FuzzDrift feeds a user id, an email and an anonymous id seen on payloads
// and a missed lookup id, and checks that every candidate reported is
// justified by its reason and that the tables stay within their limits.
func FuzzDrift(f *testing.F) {
	f.Add("usr_48213", "Dana@Example.com", "anon_7f3a", "USR_48213")
	f.Add("auth0|48213", "dana@example.com", "", "mailto:DANA@example.com")
	f.Add("acme\u200b 55", "", "0195-anon", "0195-anon")
	f.Add("user_id:42", "x@y", "id:42", "42")
	f.Fuzz(func(t *testing.T, user, email, anon, lookup string) {
		limits := Limits{MaxLookupMisses: 2, MaxConflicts: 2, MaxKnownIDs: 6, MaxExamples: 1}
		d := newTestDrift(limits)
		feed(d, driftT0,
			seen{session: "s1", user: anon},
			seen{session: "s1", user: user, email: email, anon: anon},
			seen{session: "s2", user: strings.ToUpper(user), email: email},
		)
		d.Lookup(lookup, false, driftT0)
		rep := d.Report(driftT0, 0, nil)
		missed := cleanID(lookup)
		for _, m := range rep.LookupMisses {
			for _, c := range m.Candidates {
				if c.UserID == missed {
					t.Fatalf("the missed id %q is its own candidate", missed)
				}
				ok := false
				switch c.Reason {
				case ReasonWhitespace:
					ok = visibleOnly(c.UserID) == visibleOnly(missed)
				case ReasonCase:
					ok = strings.EqualFold(visibleOnly(c.UserID), visibleOnly(missed))
				case ReasonPrefix:
					ok = normKey(c.UserID) == normKey(missed)
				case ReasonEmail:
					ok = looksLikeEmail(emailKey(missed))
				case ReasonAnonymousID:
					ok = missed == cleanID(anon) || missed == cleanID(user) || missed == strings.ToUpper(cleanID(user))
				}
				if !ok {
					t.Fatalf("candidate %q for %q has an unjustified reason %q", c.UserID, missed, c.Reason)
				}
			}
		}
		sz := d.Sizes()
		if sz.KnownIDs > limits.MaxKnownIDs || sz.LookupMisses > limits.MaxLookupMisses || sz.Conflicts > limits.MaxConflicts {
			t.Fatalf("sizes %+v exceed %+v", sz, limits)
		}
	})
}

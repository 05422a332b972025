package index

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

// usersModel is MemoryUsers written the plainest way (an unbounded map, no
// LRU), to check the real one against in FuzzMemoryUsers.
type usersModel struct {
	lookback time.Duration
	perUser  int
	users    map[string]User
}

func (m *usersModel) link(userID, email string, r SessionRef, now time.Time) {
	userID = strings.TrimSpace(userID)
	r.SessionID, r.ProductID = strings.TrimSpace(r.SessionID), strings.TrimSpace(r.ProductID)
	if userID == "" || r.SessionID == "" {
		return
	}
	cutoff := unixSeconds(now) - m.lookback.Seconds()
	r.LastSeenAt = min(r.LastSeenAt, unixSeconds(now))
	u := m.users[userID]
	// A product's email dies with its last live ref, before this link.
	var live []SessionRef
	for _, o := range u.Sessions {
		if o.LastSeenAt >= cutoff {
			live = append(live, o)
		}
	}
	u.Emails = modelLiveEmails(u.Emails, live)
	var others []SessionRef
	for _, o := range u.Sessions {
		if o.SessionID == r.SessionID && o.ProductID == r.ProductID {
			r.LastSeenAt = max(r.LastSeenAt, o.LastSeenAt)
		} else if o.LastSeenAt >= cutoff {
			others = append(others, o)
		}
	}
	refs := others
	if r.LastSeenAt >= cutoff {
		// before the first ref that is not newer
		i := 0
		for i < len(others) && others[i].LastSeenAt > r.LastSeenAt {
			i++
		}
		refs = append(append(append([]SessionRef{}, others[:i]...), r), others[i:]...)
	}
	perProduct := map[string]int{}
	var capped []SessionRef
	for _, o := range refs {
		if perProduct[o.ProductID] < m.perUser {
			perProduct[o.ProductID]++
			capped = append(capped, o)
		}
	}
	refs = capped
	if len(refs) == 0 {
		delete(m.users, userID)
		return
	}
	if e := strings.TrimSpace(email); e != "" {
		u.Emails = modelSetEmail(u.Emails, r.ProductID, e)
	}
	u.Sessions = refs
	u.Emails = modelLiveEmails(u.Emails, refs)
	m.users[userID] = u
}

func modelSetEmail(emails []ProductEmail, product, email string) []ProductEmail {
	out := []ProductEmail{}
	for _, e := range emails {
		if e.ProductID != product {
			out = append(out, e)
		}
	}
	return append(out, ProductEmail{ProductID: product, Email: email})
}

func modelLiveEmails(emails []ProductEmail, refs []SessionRef) []ProductEmail {
	var out []ProductEmail
	for _, e := range emails {
		for _, r := range refs {
			if r.ProductID == e.ProductID {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// sameUser compares two Users, their emails in any order.
func sameUser(a, b User) bool {
	if !reflect.DeepEqual(a.Sessions, b.Sessions) || len(a.Emails) != len(b.Emails) {
		return false
	}
	for _, e := range a.Emails {
		if b.EmailFor(e.ProductID) != e.Email {
			return false
		}
	}
	return true
}

func (m *usersModel) lookup(userID string, now time.Time) (User, bool) {
	userID = strings.TrimSpace(userID)
	u, ok := m.users[userID]
	if !ok {
		return User{}, false
	}
	cutoff := unixSeconds(now) - m.lookback.Seconds()
	var live []SessionRef
	for _, r := range u.Sessions {
		if r.LastSeenAt >= cutoff {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		delete(m.users, userID)
		return User{}, false
	}
	u.Sessions = live
	u.Emails = modelLiveEmails(u.Emails, live)
	m.users[userID] = u
	return u, true
}

// FuzzMemoryUsers runs a program of Link, Lookup and Forget calls (4 bytes
// per call) on a MemoryUsers and on usersModel, and compares every answer.
// Ids come from small sets with white-space and case variants; times range
// from 200 s in the past to 55 s in the future of a clock that moves forward.
func FuzzMemoryUsers(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\xc8\x01\x00\x00\x00"))
	f.Add([]byte("\x00\x00\x00\x10\x00\x00\x01\x20\x00\x00\x02\x30\x01\x00\x00\x00"))
	f.Add([]byte("\x00\x01\x00\xff\x02\x01\x00\x00\x01\x01\x00\x00"))
	f.Fuzz(func(t *testing.T, prog []byte) {
		ctx := context.Background()
		users := []string{"u0", " u0 ", "u1", "U1", "", "\tu2"}
		sessions := []string{"s0", "s1", " s0", "s2", "  "}
		products := []string{"p", "q", ""}
		emails := []string{"", "a@x.io", " b@x.io ", " "}
		const lookback = 100 * time.Second
		m := NewMemoryUsers(UserLimits{Lookback: lookback, MaxSessionsPerUser: 2, MaxUsers: 10})
		model := &usersModel{lookback: lookback, perUser: 2, users: map[string]User{}}
		now := t0
		for len(prog) >= 4 {
			op, a, b, c := prog[0], int(prog[1]), int(prog[2]), int(prog[3])
			prog = prog[4:]
			now = now.Add(time.Duration(op>>4) * 7 * time.Second)
			user := users[a%len(users)]
			switch op % 3 {
			case 0:
				r := SessionRef{
					SessionID:  sessions[b%len(sessions)],
					ProductID:  products[(b/len(sessions))%len(products)],
					LastSeenAt: unixSeconds(now.Add(time.Duration(c-200) * time.Second)),
				}
				email := emails[(a/len(users))%len(emails)]
				if err := m.Link(ctx, user, email, r, now); err != nil {
					t.Fatal(err)
				}
				model.link(user, email, r, now)
			case 1:
				got, ok, err := m.Lookup(ctx, user, now)
				want, wantOK := model.lookup(user, now)
				if err != nil || ok != wantOK || !sameUser(got, want) {
					t.Fatalf("Lookup(%q) = %+v, %v, %v; model says %+v, %v", user, got, ok, err, want, wantOK)
				}
				if msg := checkUser(got, ok, 2); msg != "" {
					t.Fatal(msg)
				}
			case 2:
				_, got, _ := m.Forget(ctx, user)
				_, want := model.users[strings.TrimSpace(user)]
				delete(model.users, strings.TrimSpace(user))
				if got != want {
					t.Fatalf("Forget(%q) = %v, model says %v", user, got, want)
				}
			}
			if m.Len() != len(model.users) {
				t.Fatalf("Len = %d, model holds %d", m.Len(), len(model.users))
			}
		}
	})
}

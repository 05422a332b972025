package stream

import "encoding/json"

// eraseBatch is how many entries the Redis backend reads (XRANGE) and
// deletes (XDEL) at once when it erases a user.
const eraseBatch = 500

// names reports whether the payload JSON data names the user: its user_id
// is userID or its email one of emails. Only those two fields are decoded;
// a document that does not decode names no one.
type names func(data []byte) bool

func matcher(userID string, emails []string) names {
	set := make(map[string]bool, len(emails))
	for _, e := range emails {
		if e != "" {
			set[e] = true
		}
	}
	return func(data []byte) bool {
		var p struct {
			UserID *string `json:"user_id"`
			Email  *string `json:"email"`
		}
		if json.Unmarshal(data, &p) != nil {
			return false
		}
		return userID != "" && p.UserID != nil && *p.UserID == userID ||
			p.Email != nil && set[*p.Email]
	}
}

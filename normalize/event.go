package normalize

import "time"

// Event is one vendor event mapped to vendor-neutral fields. Providers produce
// Events; Payloads groups them into ActionsPayloads, one per session.
type Event struct {
	// Kind is the action type: pageview, click, submit, type, focus, blur,
	// custom, error, note, session.
	Kind string
	// Label names what was acted on or what happened ("Place order",
	// "Checkout Failed"); Title and Description are derived from it unless set.
	Label       string
	Title       string
	Description string
	URL         string
	// Time is when the event happened according to the vendor; zero means
	// unknown (the receive time is used).
	Time time.Time

	ProductID   string
	SessionID   string
	UserID      string
	Email       string
	AnonymousID string
}

// Identity is a vendor statement that an anonymous id belongs to a user
// (Segment identify, PostHog $identify): later events that carry only the
// anonymous id are linked to UserID.
type Identity struct {
	AnonymousID string
	UserID      string
	Email       string
}

// Package normalize holds replayhook's wire model (the Autoplay SDK's
// ActionsPayload, SlimAction and SummaryPayload), parses it as leniently as the
// SDK's from_dict, validates it, and turns vendor events into payloads.
package normalize

// FlagMissingUserID marks a payload that carries no user_id: its session is
// stored and readable by session id, but no user link is made.
const FlagMissingUserID = "missing_user_id"

// SlimAction is one UI action, with the exact JSON of the SDK's SlimAction.
// Identity fields are nil when absent or empty.
type SlimAction struct {
	Index          int     `json:"index"`
	Type           string  `json:"type" validate:"max=64"`
	Title          string  `json:"title" validate:"max=2048"`
	Description    string  `json:"description" validate:"max=8192"`
	TimestampStart float64 `json:"timestamp_start" validate:"gte=0"`
	TimestampEnd   float64 `json:"timestamp_end" validate:"gte=0"`
	RawURL         string  `json:"raw_url" validate:"max=8192"`
	CanonicalURL   string  `json:"canonical_url" validate:"max=8192"`
	SessionID      *string `json:"session_id" validate:"omitempty,max=256"`
	UserID         *string `json:"user_id" validate:"omitempty,max=256"`
	Email          *string `json:"email" validate:"omitempty,max=320"`
}

// ActionsPayload is a batch of actions for one session, byte-compatible with
// the SDK's ActionsPayload.from_dict. Source, Provider, Flags and AnonymousID
// are replayhook's additions; SDK consumers ignore unknown keys.
type ActionsPayload struct {
	Type           string       `json:"type"`
	ProductID      string       `json:"product_id" validate:"max=256"`
	SessionID      *string      `json:"session_id" validate:"omitempty,max=256"`
	UserID         *string      `json:"user_id" validate:"omitempty,max=256"`
	Email          *string      `json:"email" validate:"omitempty,max=320"`
	Count          int          `json:"count"`
	ForwardedAt    float64      `json:"forwarded_at" validate:"gte=0"`
	ConversationID *string      `json:"conversation_id,omitempty" validate:"omitempty,max=256"`
	Actions        []SlimAction `json:"actions" validate:"max=1000,dive"`

	Source      string   `json:"source,omitempty"`
	Provider    string   `json:"provider,omitempty"`
	AnonymousID string   `json:"anonymous_id,omitempty" validate:"max=256"`
	Flags       []string `json:"flags,omitempty"`
}

// SummaryPayload is the connector's LLM summary of a session, with the exact
// JSON of the SDK's SummaryPayload.
type SummaryPayload struct {
	Type        string  `json:"type"`
	ProductID   string  `json:"product_id" validate:"max=256"`
	SessionID   *string `json:"session_id" validate:"omitempty,max=256"`
	Summary     string  `json:"summary" validate:"max=65536"`
	Replaces    int     `json:"replaces" validate:"gte=0"`
	ForwardedAt float64 `json:"forwarded_at" validate:"gte=0"`

	Source   string `json:"source,omitempty"`
	Provider string `json:"provider,omitempty"`
}

// Str returns the value of an optional id, "" for nil.
func Str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// OptStr returns nil for "" and a pointer to s otherwise, the way the SDK
// turns empty identity strings into None.
func OptStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

package segment

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/vendorjson"
)

// Segment call types (the message's "type").
const (
	TypeTrack    = "track"
	TypePage     = "page"
	TypeScreen   = "screen"
	TypeIdentify = "identify"
	TypeGroup    = "group"
	TypeAlias    = "alias"
	// TypeDelete is a user deletion request Segment forwards to
	// destinations (a privacy regulation): the user is erased.
	TypeDelete = "delete"
)

// AmplitudeActions is the integrations key of Segment's Amplitude
// (Actions) destination, which puts Amplitude's session id (ms since the
// epoch; -1 for none) on every event it has seen.
const AmplitudeActions = "Actions Amplitude"

// message is one Segment message (the Segment Spec's common fields plus the
// per-call ones replayhook reads). Spec fields are strict (an object where
// an id belongs is a 422); properties and traits are the customer's own data
// and are read leniently.
type message struct {
	Type              vendorjson.Text             `json:"type"`
	Event             vendorjson.Text             `json:"event"`
	Name              vendorjson.Text             `json:"name"`
	UserID            vendorjson.Text             `json:"userId"`
	AnonymousID       vendorjson.Text             `json:"anonymousId"`
	PreviousID        vendorjson.Text             `json:"previousId"`
	MessageID         vendorjson.Text             `json:"messageId"`
	Timestamp         vendorjson.Text             `json:"timestamp"`
	OriginalTimestamp vendorjson.Text             `json:"originalTimestamp"`
	Properties        map[string]vendorjson.Loose `json:"properties"`
	Traits            map[string]vendorjson.Loose `json:"traits"`
	Context           *struct {
		Page *struct {
			URL   vendorjson.Text `json:"url"`
			Title vendorjson.Text `json:"title"`
		} `json:"page"`
		Traits     map[string]vendorjson.Loose `json:"traits"`
		SessionID  vendorjson.Loose            `json:"sessionId"`
		SessionID2 vendorjson.Loose            `json:"session_id"`
	} `json:"context"`
	Integrations vendorjson.Object `json:"integrations"`
}

// Parse maps a verified delivery to events. The body is one Segment message,
// a batch {"batch": [messages...]}, or a JSON array of messages. track
// becomes a "custom" action, page and screen a "pageview"; identify and
// alias become Identities (anonymous id → user); group and unknown types
// are skipped. A delivery with neither events nor identities is ignored with
// the reasons. Delivery.ID is the messageId (a batch: its messageIds joined
// in order, or "" when one is missing, so the body hash dedupes). Not JSON,
// or JSON that is neither an object nor an array, is ErrMalformedJSON; JSON
// of the wrong shape is ErrInvalidPayload naming the field.
func (p *Provider) Parse(req *providers.Request) (*providers.Delivery, error) {
	body := bytes.TrimSpace(req.Body)
	if !json.Valid(body) || body[0] != '{' && body[0] != '[' {
		return nil, providers.Reject(providers.ErrMalformedJSON, "body is not a JSON object (a Segment message or batch)")
	}
	var items []json.RawMessage
	prefix := "" // "batch" or "" (a top-level array), with [i] appended
	batch := true
	if body[0] == '[' {
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, vendorjson.ShapeError(err, "")
		}
	} else {
		var top map[string]json.RawMessage
		if err := json.Unmarshal(body, &top); err != nil {
			return nil, vendorjson.ShapeError(err, "")
		}
		if raw, ok := top["batch"]; ok {
			prefix = "batch"
			if err := json.Unmarshal(raw, &items); err != nil || items == nil {
				return nil, vendorjson.FieldError("batch", "must be an array of Segment messages")
			}
		} else {
			items, batch = []json.RawMessage{body}, false
		}
	}
	if len(items) == 0 {
		return &providers.Delivery{Ignored: "empty segment batch"}, nil
	}

	d := &providers.Delivery{}
	var ids, reasons []string
	idsComplete := true
	seen := map[normalize.Identity]bool{}
	addIdentity := func(id normalize.Identity) {
		if !seen[id] {
			seen[id] = true
			d.Identities = append(d.Identities, id)
		}
	}
	for i, raw := range items {
		where := ""
		if batch {
			where = fmt.Sprintf("%s[%d]", prefix, i)
		}
		m, err := decodeMessage(raw, where)
		if err != nil {
			return nil, err
		}
		if id := strings.TrimSpace(string(m.MessageID)); id != "" {
			ids = append(ids, id)
		} else {
			idsComplete = false
		}
		r := mapMessage(m, p.honorDeletions)
		if r.event != nil {
			d.Events = append(d.Events, *r.event)
		}
		if r.identity != nil {
			addIdentity(*r.identity)
		}
		if r.link != nil {
			d.Links = append(d.Links, *r.link)
		}
		if r.erase != "" {
			d.Erase = append(d.Erase, r.erase)
		}
		if r.reason != "" && !contains(reasons, r.reason) {
			reasons = append(reasons, r.reason)
		}
	}
	if idsComplete {
		d.ID = batchID(ids)
	}
	if len(d.Events)+len(d.Identities)+len(d.Links)+len(d.Erase) == 0 {
		d.Ignored = strings.Join(reasons, "; ")
	}
	return d, nil
}

// decodeMessage reads one message; where names it in field errors ("" for
// a single message, "batch[2]" in a batch).
func decodeMessage(raw json.RawMessage, where string) (*message, error) {
	field := func(name string) string {
		if where == "" {
			return name
		}
		return where + "." + name
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, vendorjson.FieldError(orBody(where), "must be an object (a Segment message)")
	}
	var m message
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, vendorjson.ShapeError(err, field(""))
	}
	if strings.TrimSpace(string(m.Type)) == "" {
		return nil, vendorjson.FieldError(field("type"), "must name the Segment call (track, page, screen, identify, group, alias)")
	}
	return &m, nil
}

// mapped is what one message gives: at most one event, one identity (an
// anonymous id linked to a user), one session an identify names, one user
// to erase, and the reason when it gives nothing.
type mapped struct {
	event    *normalize.Event
	identity *normalize.Identity
	link     *providers.Link
	erase    string
	reason   string
}

func mapMessage(m *message, honorDeletions bool) mapped {
	typ := strings.ToLower(strings.TrimSpace(string(m.Type)))
	user := strings.TrimSpace(string(m.UserID))
	anon := strings.TrimSpace(string(m.AnonymousID))
	email := m.email()
	var alias *normalize.Identity
	if anon != "" && user != "" && anon != user {
		alias = &normalize.Identity{AnonymousID: anon, UserID: user, Email: email}
	}
	ev := normalize.Event{
		SessionID:   m.sessionID(),
		UserID:      user,
		Email:       email,
		AnonymousID: anon,
		URL:         m.pageURL(),
		Time:        vendorjson.ParseTime(string(m.Timestamp)),
	}
	if ev.Time.IsZero() {
		ev.Time = vendorjson.ParseTime(string(m.OriginalTimestamp))
	}
	switch typ {
	case TypeTrack:
		ev.Kind = "custom"
		ev.Label = strings.TrimSpace(string(m.Event))
		return mapped{event: &ev, identity: alias}
	case TypePage, TypeScreen:
		ev.Kind = "pageview"
		ev.Label = vendorjson.FirstNonBlank(string(m.Name), string(m.Properties["title"]), m.pageTitle())
		ev.URL = vendorjson.FirstNonBlank(string(m.Properties["url"]), ev.URL)
		return mapped{event: &ev, identity: alias}
	case TypeIdentify:
		// The session the identify happened in is the user's from now on,
		// with the anonymous activity it already holds.
		var link *providers.Link
		if user != "" && ev.SessionID != "" {
			link = &providers.Link{UserID: user, Email: email, SessionID: ev.SessionID, At: ev.Time}
		}
		if alias == nil && link == nil {
			return mapped{reason: "segment identify without a userId and an anonymousId or a session id links nothing"}
		}
		return mapped{identity: alias, link: link}
	case TypeAlias:
		prev := strings.TrimSpace(string(m.PreviousID))
		if prev == "" || user == "" || prev == user {
			return mapped{reason: "segment alias without both previousId and userId links nothing"}
		}
		return mapped{identity: &normalize.Identity{AnonymousID: prev, UserID: user, Email: email}}
	case TypeDelete:
		switch {
		case user == "":
			return mapped{reason: "segment delete without a userId names nobody"}
		case !honorDeletions:
			return mapped{reason: "segment delete not honored: this source has honor_deletions: false"}
		}
		return mapped{erase: user}
	default: // group, and types Segment may add
		return mapped{reason: "segment " + vendorjson.Token(typ) + " is not session activity"}
	}
}

// sessionID is properties.session_id, context.sessionId,
// context.session_id, properties.sessionId or the Amplitude (Actions)
// destination's integrations["Actions Amplitude"].session_id (not -1), the
// first one set.
func (m *message) sessionID() string {
	var ctxID, ctxID2 vendorjson.Loose
	if m.Context != nil {
		ctxID, ctxID2 = m.Context.SessionID, m.Context.SessionID2
	}
	amp := m.Integrations.Path(AmplitudeActions, "session_id")
	if amp == "-1" {
		amp = ""
	}
	return vendorjson.FirstNonBlank(string(m.Properties["session_id"]), string(ctxID), string(ctxID2), string(m.Properties["sessionId"]), amp)
}

// email is context.traits.email, traits.email or properties.email.
func (m *message) email() string {
	var ctx vendorjson.Loose
	if m.Context != nil {
		ctx = m.Context.Traits["email"]
	}
	return vendorjson.FirstNonBlank(string(ctx), string(m.Traits["email"]), string(m.Properties["email"]))
}

func (m *message) pageURL() string {
	if m.Context == nil || m.Context.Page == nil {
		return ""
	}
	return strings.TrimSpace(string(m.Context.Page.URL))
}

func (m *message) pageTitle() string {
	if m.Context == nil || m.Context.Page == nil {
		return ""
	}
	return string(m.Context.Page.Title)
}

// batchID is the delivery id of messages with these ids. One message: its
// id. Several: "batch:" and the hash of their length-prefixed ids in order,
// a namespace no single message id enters (one that starts with "batch:"
// is prefixed "message:"), so a message whose id is "A,B" and the batch
// [A, B] are two deliveries.
func batchID(ids []string) string {
	if len(ids) == 1 {
		id := vendorjson.DedupeID(ids[0])
		if strings.HasPrefix(id, "batch:") || strings.HasPrefix(id, "message:") {
			id = "message:" + id
		}
		return id
	}
	h := sha256.New()
	for _, id := range ids {
		fmt.Fprintf(h, "%d:%s,", len(id), id)
	}
	return "batch:" + hex.EncodeToString(h.Sum(nil))
}

func orBody(where string) string {
	if where == "" {
		return "body"
	}
	return where
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

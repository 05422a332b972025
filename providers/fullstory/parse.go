package fullstory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/vendorjson"
)

// FullStory v1 event types that become actions; every other eventName is
// acknowledged and ignored.
const (
	EventCustom      = "recording.event.custom"
	EventNoteCreated = "note.created"
)

// webhook is the v1 envelope: {"eventName", "version", "data"}.
type webhook struct {
	EventName vendorjson.Text `json:"eventName"`
	Version   json.RawMessage `json:"version"`
	Data      json.RawMessage `json:"data"`
}

// customEvent is the data of recording.event.custom (FS.event / FS('trackEvent')).
type customEvent struct {
	Name       vendorjson.Text `json:"name"`
	Properties json.RawMessage `json:"properties"`
	PageURL    vendorjson.Text `json:"pageUrl"`
	SessionURL vendorjson.Text `json:"sessionUrl"`
	Timestamp  vendorjson.Text `json:"timestamp"`
}

// note is the data of note.created: a FullStory team member's note on a
// recorded session. Author is that team member, not the recorded user.
type note struct {
	ID         vendorjson.Text `json:"id"`
	Created    vendorjson.Text `json:"created"`
	Author     vendorjson.Text `json:"author"`
	Text       vendorjson.Text `json:"text"`
	Body       vendorjson.Text `json:"body"`
	NoteText   vendorjson.Text `json:"noteText"`
	SessionURL vendorjson.Text `json:"sessionUrl"`
	PageURL    vendorjson.Text `json:"pageUrl"`
	PageInfo   *struct {
		PageURL vendorjson.Text `json:"pageUrl"`
	} `json:"pageInfo"`
	NotedTime vendorjson.Text `json:"notedTime"`
}

// streamRow is one Streams delivery mapped with the Autoplay recipe's
// field mapping (see doc.go).
type streamRow struct {
	TargetText       vendorjson.Text `json:"target_text"`
	ElementName      vendorjson.Text `json:"element_name"`
	PageURL          vendorjson.Text `json:"page_url"`
	Timestamp        vendorjson.Text `json:"timestamp"`
	TimestampUnix    vendorjson.Text `json:"timestamp_unix"`
	SessionID        vendorjson.Text `json:"session_id"`
	UserID           vendorjson.Text `json:"user_id"`
	UserEmail        vendorjson.Text `json:"user_email"`
	SessionReplayURL vendorjson.Text `json:"session_replay_url"`
}

// streamKeys are the keys that make an object a Streams row.
var streamKeys = []string{"target_text", "element_name", "page_url", "timestamp", "timestamp_unix",
	"session_id", "user_id", "user_email", "session_replay_url"}

// Parse maps a verified delivery to events. A JSON object with an
// "eventName" key is a v1 webhook: recording.event.custom becomes a custom
// action, note.created a note, other event types are ignored. Any other
// object, or an array of objects, is a Streams delivery: one click per row.
// Not JSON, or JSON that is neither an object nor an array, is
// ErrMalformedJSON; JSON of the wrong shape is ErrInvalidPayload. FullStory
// sends no delivery id: a note is its id ("note:<id>"); anything else is
// its body's hash, which holds the event's own millisecond timestamp, so a
// genuine repeat (another time) is another delivery and a retry is not.
func (p *Provider) Parse(req *providers.Request) (*providers.Delivery, error) {
	body := bytes.TrimSpace(req.Body)
	if !json.Valid(body) {
		return nil, providers.Reject(providers.ErrMalformedJSON, "body is not valid JSON")
	}
	switch body[0] {
	case '{':
		var top map[string]json.RawMessage
		if err := json.Unmarshal(body, &top); err != nil {
			return nil, vendorjson.ShapeError(err, "")
		}
		if _, ok := top["eventName"]; ok {
			return parseV1(body)
		}
		if isV2Event(top) {
			return parseV2Event(vendorjson.Object(top)), nil
		}
		return parseStreams([]json.RawMessage{body}, false)
	case '[':
		var rows []json.RawMessage
		if err := json.Unmarshal(body, &rows); err != nil {
			return nil, vendorjson.ShapeError(err, "")
		}
		if len(rows) == 0 {
			return &providers.Delivery{Ignored: "empty FullStory Streams batch"}, nil
		}
		return parseStreams(rows, true)
	default:
		return nil, providers.Reject(providers.ErrMalformedJSON, "body is not a JSON object (or an array of Streams rows)")
	}
}

func parseV1(body []byte) (*providers.Delivery, error) {
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, vendorjson.ShapeError(err, "")
	}
	switch name := string(w.EventName); name {
	case EventCustom:
		var d customEvent
		if err := decodeData(w.Data, &d); err != nil {
			return nil, err
		}
		ev := normalize.Event{
			Kind:  "custom",
			Label: strings.TrimSpace(string(d.Name)),
			URL:   strings.TrimSpace(string(d.PageURL)),
			Time:  vendorjson.ParseTime(string(d.Timestamp)),
		}
		ev.SessionID, ev.AnonymousID = sessionFromURL(string(d.SessionURL))
		return &providers.Delivery{Events: []normalize.Event{ev}}, nil
	case EventNoteCreated:
		var d note
		if err := decodeData(w.Data, &d); err != nil {
			return nil, err
		}
		ev := normalize.Event{
			Kind:  "note",
			Label: vendorjson.FirstNonBlank(string(d.Text), string(d.Body), string(d.NoteText)),
			URL:   strings.TrimSpace(string(d.PageURL)),
			// notedTime is the moment in the recording the note points at,
			// which is where it belongs in the session's activity; created
			// (when the note was written) is the fallback.
			Time: vendorjson.ParseTime(string(d.NotedTime)),
		}
		if d.PageInfo != nil && strings.TrimSpace(string(d.PageInfo.PageURL)) != "" {
			ev.URL = strings.TrimSpace(string(d.PageInfo.PageURL))
		}
		if ev.Time.IsZero() {
			ev.Time = vendorjson.ParseTime(string(d.Created))
		}
		ev.SessionID, ev.AnonymousID = sessionFromURL(string(d.SessionURL))
		out := &providers.Delivery{Events: []normalize.Event{ev}}
		if id := strings.TrimSpace(string(d.ID)); id != "" {
			out.ID = vendorjson.DedupeID("note:" + id)
		}
		return out, nil
	default:
		return &providers.Delivery{Ignored: "fullstory event type " + vendorjson.QuoteBounded(name) + " is not stored"}, nil
	}
}

// isV2Event reports whether top is a v2 event, as FullStory's Webhooks
// destination sends it: {"name", "timestamp", "user": {"uid", "email",
// "display_name"}, "session": {"id"}, "properties"}.
func isV2Event(top map[string]json.RawMessage) bool {
	_, name := top["name"]
	_, user := top["user"]
	_, session := top["session"]
	return name && (user || session)
}

// parseV2Event maps a v2 event to one custom action: the user is user.uid
// (their email user.email), the session session.id, else the session of
// properties.session_url; the page is properties.page_url or url.
func parseV2Event(top vendorjson.Object) *providers.Delivery {
	user, props := top.Obj("user"), top.Obj("properties")
	ev := normalize.Event{
		Kind:   "custom",
		Label:  top.Str("name"),
		URL:    props.First("page_url", "url", "pageUrl"),
		Time:   vendorjson.ParseTime(top.Str("timestamp")),
		UserID: user.Str("uid"),
		Email:  user.Str("email"),
	}
	ev.SessionID, ev.AnonymousID = splitSessionID(top.Path("session", "id"))
	if ev.SessionID == "" {
		ev.SessionID, ev.AnonymousID = sessionFromURL(props.First("session_url", "session_replay_url"))
	}
	d := &providers.Delivery{Events: []normalize.Event{ev}}
	if ev.AnonymousID != "" && ev.UserID != "" && ev.AnonymousID != ev.UserID {
		d.Identities = []normalize.Identity{{AnonymousID: ev.AnonymousID, UserID: ev.UserID, Email: ev.Email}}
	}
	return d
}

// decodeData unmarshals the v1 "data" object into v.
func decodeData(raw json.RawMessage, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return &providers.FieldsError{Fields: normalize.FieldErrors{{Field: "data", Reason: "must be an object"}}}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return vendorjson.ShapeError(err, "data.")
	}
	return nil
}

func parseStreams(rows []json.RawMessage, batch bool) (*providers.Delivery, error) {
	d := &providers.Delivery{}
	seen := map[normalize.Identity]bool{}
	for i, raw := range rows {
		prefix, where := "", "body"
		if batch {
			prefix = fmt.Sprintf("[%d].", i)
			where = fmt.Sprintf("[%d]", i)
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || raw[0] != '{' {
			return nil, &providers.FieldsError{Fields: normalize.FieldErrors{{Field: where, Reason: "must be an object (a FullStory Streams row)"}}}
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(raw, &keys); err != nil {
			return nil, vendorjson.ShapeError(err, prefix)
		}
		if !hasAnyKey(keys, streamKeys) {
			return nil, &providers.FieldsError{Fields: normalize.FieldErrors{{Field: where,
				Reason: "neither a v1 webhook (eventName) nor a Streams row (target_text, element_name, page_url, session_id, ...)"}}}
		}
		var r streamRow
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, vendorjson.ShapeError(err, prefix)
		}
		ev := normalize.Event{
			Kind:  "click",
			Label: vendorjson.FirstNonBlank(string(r.TargetText), string(r.ElementName)),
			URL:   strings.TrimSpace(string(r.PageURL)),
			Time:  streamTime(string(r.TimestampUnix), string(r.Timestamp)),
			Email: strings.TrimSpace(string(r.UserEmail)),
		}
		ev.SessionID, ev.AnonymousID = splitSessionID(string(r.SessionID))
		if ev.SessionID == "" {
			ev.SessionID, ev.AnonymousID = sessionFromURL(string(r.SessionReplayURL))
		}
		// A user_id equal to the device id is FullStory's own id for the
		// device, not the customer's login id: keep it anonymous.
		if uid := strings.TrimSpace(string(r.UserID)); uid != "" && uid != ev.AnonymousID {
			ev.UserID = uid
		}
		if ev.AnonymousID != "" && ev.UserID != "" {
			id := normalize.Identity{AnonymousID: ev.AnonymousID, UserID: ev.UserID, Email: ev.Email}
			if !seen[id] {
				seen[id] = true
				d.Identities = append(d.Identities, id)
			}
		}
		d.Events = append(d.Events, ev)
	}
	return d, nil
}

// streamTime is timestamp_unix, refined by timestamp when both name the
// same second (toUnixTimestamp gives whole seconds; event_time carries
// milliseconds, which keep clicks of one second in order); timestamp alone
// when timestamp_unix is missing or unusable.
func streamTime(unix, iso string) time.Time {
	u, t := vendorjson.ParseTime(unix), vendorjson.ParseTime(iso)
	switch {
	case u.IsZero():
		return t
	case !t.IsZero() && u.Unix() == t.Unix():
		return t
	default:
		return u
	}
}

// sessionFromURL extracts the session from a FullStory session URL
// ".../session/<device>:<session>" (also "%3A"-encoded, and with a
// "!<position>" suffix as note URLs have). It returns the FullStory session
// id "<device>:<session>" and the device id, or "" for a URL that names no
// session.
func sessionFromURL(u string) (sessionID, device string) {
	const marker = "/session/"
	i := strings.Index(u, marker)
	if i < 0 {
		return "", ""
	}
	rest := u[i+len(marker):]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	return splitSessionID(rest)
}

// splitSessionID normalizes a FullStory session id as Streams or a URL
// carries it: URL-decoded ("%3A" → ":"), without a "!<position>" suffix. A
// "<device>:<session>" pair also yields the device id; anything else is kept
// as the session id with no device. A session URL is accepted too.
func splitSessionID(s string) (sessionID, device string) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/session/") {
		return sessionFromURL(s)
	}
	if dec, err := url.PathUnescape(s); err == nil {
		s = dec
	}
	if j := strings.IndexByte(s, '!'); j >= 0 {
		s = s[:j]
	}
	s = strings.TrimSpace(s)
	dev, sess, ok := strings.Cut(s, ":")
	dev, sess = strings.TrimSpace(dev), strings.TrimSpace(sess)
	if !ok || dev == "" || sess == "" {
		return s, ""
	}
	return dev + ":" + sess, dev
}

func hasAnyKey(m map[string]json.RawMessage, keys []string) bool {
	for k := range m {
		for _, want := range keys {
			if strings.EqualFold(k, want) {
				return true
			}
		}
	}
	return false
}

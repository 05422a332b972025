package highlight

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/vendorjson"
)

// alert is the union of the alert payloads Highlight's webhook sender
// marshals (Go structs without json tags, so the keys are the PascalCase
// field names, with an "Event" key prepended). Field names follow
// highlight/highlight backend/alerts/integrations (v1 alerts) and
// backend/alerts/v2/destinations/webhook (v2 alerts).
type alert struct {
	Event vendorjson.Text

	// Session and user (every session-scoped alert).
	SessionURL      vendorjson.Text
	SessionSecureID vendorjson.Text // v2 error alerts
	SecureID        vendorjson.Text // v2 session alerts
	UserIdentifier  vendorjson.Text
	Identifier      vendorjson.Text // v2 session alerts
	UserProperties  map[string]json.RawMessage
	AvatarURL       vendorjson.Text
	VisitedURL      vendorjson.Text

	// Error alerts.
	ErrorTitle vendorjson.Text
	ErrorCount vendorjson.Text
	ErrorURL   vendorjson.Text

	// Rage click alerts.
	RageClicksCount vendorjson.Text

	// Session (or error) feedback alerts.
	CommentText       vendorjson.Text
	SessionCommentURL vendorjson.Text

	// Track / user properties alerts.
	MatchedProperties []property
	RelatedProperties []property

	// v2 alerts.
	AlertName vendorjson.Text
}

// property is one {Key, Value} pair of a properties alert.
type property struct {
	Key   vendorjson.Text
	Value vendorjson.Text
}

// kind is what an alert is about, told from the fields present.
type kind int

const (
	kindUnknown kind = iota
	kindError
	kindRageClick
	kindFeedback
	kindUserProperties
	kindTrackProperties
	kindNewSession
	kindNewUser
	kindSessionAlert
	kindMetric
)

var kindNames = map[kind]string{
	kindUnknown:         "unrecognised",
	kindError:           "error",
	kindRageClick:       "rage click",
	kindFeedback:        "feedback",
	kindUserProperties:  "user properties",
	kindTrackProperties: "track properties",
	kindNewSession:      "new session",
	kindNewUser:         "new user",
	kindSessionAlert:    "session",
	kindMetric:          "metric/log/trace",
}

// knownKeys are every key of every alert payload: a JSON object with none of
// them is not a Highlight alert.
var knownKeys = []string{"Event", "SessionURL", "SessionSecureID", "SecureID", "UserIdentifier", "Identifier",
	"UserProperties", "AvatarURL", "VisitedURL", "ErrorTitle", "ErrorCount", "ErrorURL", "ErrorResolveURL",
	"ErrorIgnoreURL", "ErrorSnoozeURL", "SessionExcluded", "RageClicksCount", "CommentText", "SessionCommentURL",
	"MatchedProperties", "RelatedProperties", "AlertName", "Query", "MetricToMonitor", "UnitsFormat",
	"DiffOverValue", "Value", "Threshold", "MonitorURL", "Name", "Count", "StartDate", "EndDate",
	"BelowThreshold", "AlertURL", "AlertUrl", "LogsURL", "TracesURL", "DashboardURL", "Function",
	"FunctionColumn", "AdminName"}

// classify tells the alert kind from the keys present. The Event value is
// not trusted: Highlight labels most alert kinds NEW_USER_ALERT.
func classify(keys map[string]bool) kind {
	switch {
	case keys["errortitle"]:
		return kindError
	case keys["rageclickscount"]:
		return kindRageClick
	case keys["commenttext"] || keys["sessioncommenturl"]:
		return kindFeedback
	case keys["matchedproperties"] && keys["relatedproperties"]:
		return kindTrackProperties
	case keys["matchedproperties"]:
		return kindUserProperties
	case keys["visitedurl"] && (keys["sessionurl"] || keys["secureid"]):
		return kindNewSession
	case keys["secureid"] || keys["alertname"] && keys["sessionurl"]:
		return kindSessionAlert
	case keys["sessionurl"]:
		return kindNewUser
	case keys["metrictomonitor"] || keys["monitorurl"] || keys["alerturl"] || keys["logsurl"] ||
		keys["tracesurl"] || keys["dashboardurl"] || keys["adminname"] || keys["query"]:
		return kindMetric
	default:
		return kindUnknown
	}
}

// Parse maps one alert to at most one event, by the fields present (see
// doc.go for the table). Alerts that name no session (metric, log, trace,
// track-properties alerts, alerts about excluded sessions) are ignored with
// the reason. Highlight's body carries no time, so the event time is the
// receive time (req.Now). Delivery.ID: see deliveryID.
func (p *Provider) Parse(req *providers.Request) (*providers.Delivery, error) {
	body := bytes.TrimSpace(req.Body)
	if !json.Valid(body) {
		return nil, providers.Reject(providers.ErrMalformedJSON, "body is not valid JSON")
	}
	if body[0] != '{' {
		return nil, providers.Reject(providers.ErrMalformedJSON, "body is not a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, vendorjson.ShapeError(err, "")
	}
	keys := map[string]bool{}
	for k := range raw {
		keys[strings.ToLower(k)] = true
	}
	known := false
	for _, k := range knownKeys {
		known = known || keys[strings.ToLower(k)]
	}
	if !known {
		return nil, &providers.FieldsError{Fields: normalize.FieldErrors{{Field: "body",
			Reason: "not a Highlight alert: none of Event, SessionURL, UserIdentifier, ErrorTitle, ... is present"}}}
	}
	var a alert
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, vendorjson.ShapeError(err, "")
	}

	k := classify(keys)
	ev := normalize.Event{SessionID: sessionID(a)}
	if !req.Now.IsZero() {
		ev.Time = req.Now.UTC()
	}
	if ev.SessionID == "" {
		return &providers.Delivery{Ignored: "highlight " + kindNames[k] + " alert" + eventSuffix(a) + " names no session"}, nil
	}
	identify(&ev, a, k)

	switch k {
	case kindError:
		ev.Kind, ev.Label, ev.URL = "error", strings.TrimSpace(string(a.ErrorTitle)), strings.TrimSpace(string(a.VisitedURL))
	case kindRageClick:
		// The default description would read "User clicked Rage click (7
		// clicks)"; say what happened instead.
		n := rageCount(string(a.RageClicksCount))
		ev.Kind, ev.Label, ev.Title, ev.Description = "click", "Rage click", "Rage click", "User rage-clicked"
		if n == "1" {
			ev.Label, ev.Description = "Rage click (1 click)", "User rage-clicked once"
		} else if n != "" {
			ev.Label, ev.Description = "Rage click ("+n+" clicks)", "User rage-clicked "+n+" times"
		}
		ev.Title = ev.Label
	case kindFeedback:
		ev.Kind, ev.Label = "note", strings.TrimSpace(string(a.CommentText))
	case kindUserProperties, kindTrackProperties:
		prefix := "User properties matched"
		if k == kindTrackProperties {
			prefix = "Track properties matched"
		}
		ev.Kind, ev.Label = "custom", propertiesLabel(prefix, a.MatchedProperties)
	case kindNewSession:
		ev.Kind, ev.Label, ev.URL = "session", "New session", strings.TrimSpace(string(a.VisitedURL))
	case kindNewUser:
		ev.Kind, ev.Label = "session", "New user"
	case kindSessionAlert:
		ev.Kind, ev.Label = "session", "Session alert"
		if name := strings.TrimSpace(string(a.AlertName)); name != "" {
			ev.Label = "Session alert: " + name
		}
	default:
		return &providers.Delivery{Ignored: "highlight " + kindNames[k] + " alert" + eventSuffix(a) + " is not stored"}, nil
	}
	return &providers.Delivery{ID: deliveryID(a, body, req.Now), Events: []normalize.Event{ev}}, nil
}

// RepeatWindow is how long identical Highlight alert bodies count as one
// delivery. Highlight sends neither a delivery id nor a time, so a retry
// and a genuine repeat look alike: its client retries within seconds, and
// an alert that fires again after this window is stored again.
const RepeatWindow = 5 * time.Minute

// deliveryID is the error instance (ErrorURL .../instances/<n>) of an error
// alert, which is one occurrence; otherwise the body's hash within the
// RepeatWindow the delivery arrived in.
func deliveryID(a alert, body []byte, now time.Time) string {
	if u := strings.TrimSpace(string(a.ErrorURL)); strings.Contains(u, "/instances/") {
		return vendorjson.DedupeID("instance:" + u)
	}
	sum := sha256.Sum256(body)
	return "body:" + hex.EncodeToString(sum[:16]) + "@" + strconv.FormatInt(now.Unix()/int64(RepeatWindow/time.Second), 10)
}

// identify fills the user fields. UserIdentifier (v2 session alerts:
// Identifier) is the id given to H.identify, often an email; an email-like
// identifier is also the email, and UserProperties.email wins as the email.
// In feedback alerts UserIdentifier is the commenter's name, else email,
// else "Someone": only an email there says who the user is.
func identify(ev *normalize.Event, a alert, k kind) {
	id := strings.TrimSpace(string(a.UserIdentifier))
	if id == "" {
		id = strings.TrimSpace(string(a.Identifier))
	}
	if k == kindFeedback && !looksLikeEmail(id) {
		id = ""
	}
	ev.UserID = id
	if looksLikeEmail(id) {
		ev.Email = id
	}
	for key, v := range a.UserProperties {
		if !strings.EqualFold(key, "email") {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) == nil && strings.TrimSpace(s) != "" {
			ev.Email = strings.TrimSpace(s)
		}
	}
}

// sessionID returns the alert's session secure id: SecureID or
// SessionSecureID when the body names it, else the path segment after
// "/sessions/" in SessionURL or SessionCommentURL.
func sessionID(a alert) string {
	for _, v := range []vendorjson.Text{a.SecureID, a.SessionSecureID} {
		if s := strings.TrimSpace(string(v)); s != "" {
			return s
		}
	}
	for _, u := range []vendorjson.Text{a.SessionURL, a.SessionCommentURL} {
		if s := sessionFromURL(string(u)); s != "" {
			return s
		}
	}
	return ""
}

// sessionFromURL extracts <secure id> from ".../sessions/<secure id>[/...][?...]".
func sessionFromURL(u string) string {
	const marker = "/sessions/"
	i := strings.Index(u, marker)
	if i < 0 {
		return ""
	}
	rest := u[i+len(marker):]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	if dec, err := url.PathUnescape(rest); err == nil {
		rest = dec
	}
	return strings.TrimSpace(rest)
}

// rageCount returns RageClicksCount as a positive whole number, or "".
func rageCount(count string) string {
	f, err := strconv.ParseFloat(strings.TrimSpace(count), 64)
	if err != nil || f < 1 || f != math.Trunc(f) || f > 1e15 {
		return ""
	}
	return strconv.FormatFloat(f, 'f', 0, 64)
}

func propertiesLabel(prefix string, props []property) string {
	parts := make([]string, 0, len(props))
	for _, p := range props {
		k, v := strings.TrimSpace(string(p.Key)), strings.TrimSpace(string(p.Value))
		if k == "" && v == "" {
			continue
		}
		parts = append(parts, k+"="+v)
	}
	if len(parts) == 0 {
		return prefix
	}
	return prefix + ": " + strings.Join(parts, ", ")
}

func eventSuffix(a alert) string {
	e := string(a.Event)
	if e == "" {
		return ""
	}
	if len(e) > 64 {
		e = e[:64] + "…"
	}
	return " (" + strconv.Quote(strings.ToValidUTF8(e, "?")) + ")"
}

// looksLikeEmail is a plain shape check: one "@", something before it, a
// dot in the domain, no spaces.
func looksLikeEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(domain, "@") &&
		!strings.ContainsAny(s, " \t\r\n") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

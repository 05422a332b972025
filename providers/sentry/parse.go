package sentry

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/vendorjson"
)

// Sentry-Hook-Resource values. Only ResourceError and ResourceEventAlert
// become actions; every other resource is acknowledged and ignored.
const (
	ResourceError        = "error"
	ResourceEventAlert   = "event_alert"
	ResourceIssue        = "issue"
	ResourceMetricAlert  = "metric_alert"
	ResourceComment      = "comment"
	ResourceInstallation = "installation"
)

// envelope is every integration-platform webhook:
// {"action", "installation", "data": {...}, "actor"}.
type envelope struct {
	Action vendorjson.Text `json:"action"`
	Data   json.RawMessage `json:"data"`
}

// event is a Sentry event as data.error (resource error) and data.event
// (resource event_alert) carry it. Only the fields replayhook reads are
// declared; the rest of the (large) event is skipped.
type event struct {
	EventID   vendorjson.Text `json:"event_id"`
	ID        vendorjson.Text `json:"id"`
	Title     vendorjson.Text `json:"title"`
	Culprit   vendorjson.Text `json:"culprit"`
	Message   vendorjson.Text `json:"message"`
	Datetime  vendorjson.Text `json:"datetime"`
	Timestamp vendorjson.Text `json:"timestamp"`
	Metadata  *struct {
		Type  vendorjson.Loose `json:"type"`
		Value vendorjson.Loose `json:"value"`
	} `json:"metadata"`
	Request *struct {
		URL vendorjson.Text `json:"url"`
	} `json:"request"`
	User *struct {
		ID    vendorjson.Text `json:"id"`
		Email vendorjson.Text `json:"email"`
	} `json:"user"`
	Contexts *struct {
		Replay *struct {
			ReplayID vendorjson.Text `json:"replay_id"`
		} `json:"replay"`
	} `json:"contexts"`
	// Tags are [[key, value], ...] in webhooks; read leniently (see tag).
	Tags json.RawMessage `json:"tags"`
}

// Parse maps a verified delivery to events. The resource comes from the
// Sentry-Hook-Resource header, or, when that is missing, from the body
// (data.error → error, data.event → event_alert, data.issue → issue, ...).
// Resources error (action created) and event_alert (action triggered) each
// become one "error" event; every other resource is ignored. Delivery.ID is
// the Sentry event id for both, so the same event sent as error.created and
// as an alert is stored once; Request-ID is never used (it changes per
// retry). Not JSON or not an object is ErrMalformedJSON; JSON of the wrong
// shape is ErrInvalidPayload naming the field.
func (p *Provider) Parse(req *providers.Request) (*providers.Delivery, error) {
	body := bytes.TrimSpace(req.Body)
	if !json.Valid(body) || body[0] != '{' {
		return nil, providers.Reject(providers.ErrMalformedJSON, "body is not a JSON object")
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, vendorjson.ShapeError(err, "")
	}
	resource := ""
	if req.Header != nil {
		resource = strings.ToLower(strings.TrimSpace(req.Header.Get(ResourceHeader)))
	}
	if resource == "" {
		resource = inferResource(env.Data)
		if resource == "" {
			return nil, vendorjson.FieldError("data", "names no Sentry resource (error, event, issue, ...) and the "+ResourceHeader+" header is missing")
		}
	}
	action := strings.TrimSpace(string(env.Action))
	switch resource {
	case ResourceError:
		return parseEvent(env.Data, "error", action, "created", resource)
	case ResourceEventAlert:
		return parseEvent(env.Data, "event", action, "triggered", resource)
	case ResourceIssue:
		d := &providers.Delivery{Ignored: "sentry resource issue is not session activity"}
		var data struct {
			Issue struct {
				ID vendorjson.Loose `json:"id"`
			} `json:"issue"`
		}
		if json.Unmarshal(env.Data, &data) == nil {
			d.ID = vendorjson.DedupeID(string(data.Issue.ID))
		}
		return d, nil
	default:
		return &providers.Delivery{Ignored: "sentry resource " + vendorjson.Token(resource) + " is not session activity"}, nil
	}
}

// parseEvent maps data.<key> (a Sentry event) to one "error" event.
func parseEvent(data json.RawMessage, key, action, wantAction, resource string) (*providers.Delivery, error) {
	if action != "" && action != wantAction {
		return &providers.Delivery{Ignored: "sentry " + resource + " action " + vendorjson.Token(action) + " is not stored"}, nil
	}
	var fields map[string]json.RawMessage
	if err := decodeObject(data, &fields, "data"); err != nil {
		return nil, err
	}
	prefix := "data." + key
	var e event
	if err := decodeObject(fields[key], &e, prefix); err != nil {
		return nil, err
	}
	tags := readTags(e.Tags)
	ev := normalize.Event{
		Kind:      "error",
		Label:     errorLabel(e),
		SessionID: vendorjson.FirstNonBlank(replayID(e), tags["replayId"]),
		Time:      vendorjson.ParseTime(string(e.Datetime)),
	}
	if ev.Time.IsZero() {
		ev.Time = vendorjson.ParseTime(string(e.Timestamp))
	}
	if e.Request != nil {
		ev.URL = strings.TrimSpace(string(e.Request.URL))
	}
	if ev.URL == "" {
		ev.URL = tags["url"]
	}
	if e.User != nil {
		ev.UserID = strings.TrimSpace(string(e.User.ID))
		ev.Email = strings.TrimSpace(string(e.User.Email))
	}
	if culprit := strings.TrimSpace(string(e.Culprit)); culprit != "" {
		label := ev.Label
		if label == "" {
			label = "Error"
		}
		ev.Description = label + " in " + culprit
	}
	return &providers.Delivery{
		ID:     vendorjson.DedupeID(vendorjson.FirstNonBlank(string(e.EventID), string(e.ID))),
		Events: []normalize.Event{ev},
	}, nil
}

// errorLabel is the event's title; without one, "<type>: <value>" from its
// metadata, then its message.
func errorLabel(e event) string {
	if t := strings.TrimSpace(string(e.Title)); t != "" {
		return t
	}
	if e.Metadata != nil {
		typ, val := strings.TrimSpace(string(e.Metadata.Type)), strings.TrimSpace(string(e.Metadata.Value))
		switch {
		case typ != "" && val != "":
			return typ + ": " + val
		case typ != "" || val != "":
			return typ + val
		}
	}
	return strings.TrimSpace(string(e.Message))
}

func replayID(e event) string {
	if e.Contexts == nil || e.Contexts.Replay == nil {
		return ""
	}
	return strings.TrimSpace(string(e.Contexts.Replay.ReplayID))
}

// inferResource names the resource a webhook's data object carries, or ""
// when it is not an object naming a known one.
func inferResource(data json.RawMessage) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return ""
	}
	for _, k := range []struct{ key, resource string }{
		{"error", ResourceError},
		{"event", ResourceEventAlert},
		{"issue", ResourceIssue},
		{"metric_alert", ResourceMetricAlert},
		{"comment", ResourceComment},
		{"installation", ResourceInstallation},
	} {
		if v, ok := m[k.key]; ok && string(bytes.TrimSpace(v)) != "null" {
			return k.resource
		}
	}
	return ""
}

// readTags reads Sentry tags leniently: [[key, value], ...] as webhooks send
// them, [{"key", "value"}, ...] as the API sends them, or {key: value}.
// Entries of any other shape are skipped; the first value of a key wins.
func readTags(raw json.RawMessage) map[string]string {
	out := map[string]string{}
	add := func(k, v vendorjson.Loose) {
		key, val := strings.TrimSpace(string(k)), strings.TrimSpace(string(v))
		if _, dup := out[key]; key != "" && val != "" && !dup {
			out[key] = val
		}
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		for _, item := range list {
			var pair []vendorjson.Loose
			if json.Unmarshal(item, &pair) == nil && len(pair) == 2 {
				add(pair[0], pair[1])
				continue
			}
			var kv struct {
				Key   vendorjson.Loose `json:"key"`
				Value vendorjson.Loose `json:"value"`
			}
			if json.Unmarshal(item, &kv) == nil {
				add(kv.Key, kv.Value)
			}
		}
		return out
	}
	var m map[string]vendorjson.Loose
	if json.Unmarshal(raw, &m) == nil {
		for k, v := range m {
			add(vendorjson.Loose(k), v)
		}
	}
	return out
}

// decodeObject unmarshals raw, which must be a JSON object, into v; field
// names errors after prefix.
func decodeObject(raw json.RawMessage, v any, field string) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return vendorjson.FieldError(field, "must be an object")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return vendorjson.ShapeError(err, field+".")
	}
	return nil
}

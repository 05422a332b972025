// Package fullstory is the provider for FullStory. One source accepts both
// kinds of delivery FullStory can push, told apart by their headers and
// shape:
//
//  1. v1 webhooks (Settings → Integrations → Webhooks; "system interaction
//     webhooks"): a JSON envelope {"eventName", "version": 1, "data": {...}}
//     signed with
//
//     Fullstory-Signature: o:<org id>,t:<unix seconds>,v:<base64 HMAC-SHA256(secret, body + ":" + org + ":" + t)>
//
//     The recipe is the one several independent receivers implement (e.g.
//     PipedreamHQ/pipedream components/fullstory); FullStory's own page on
//     it was not retrieved. The timestamp is signed and must lie within the
//     source's tolerance_seconds of the server clock in either direction
//     (default 5 minutes), else the delivery is refused as stale_timestamp.
//     The signature is checked before the timestamp, so a stale answer
//     always means an authentic but late delivery. The org id is covered by
//     the signature but not compared with anything: the secret is what binds
//     the source. Several v: entries are accepted (any may match), as are
//     unpadded base64 and unknown extra keys.
//
//  2. Streams (Anywhere: Activation → Streams, destination "HTTP Endpoint"):
//     a flat JSON body whose fields the customer maps, authenticated by a
//     static token, Authorization: Bearer <secret> (or the header named by
//     the source's secret_header). A JSON array of such rows is accepted
//     too. The token authenticates the sender but does not cover the body
//     and there is no timestamp: keep the endpoint on HTTPS.
//
// Verify picks the scheme from the headers: when a Fullstory-Signature
// header is present (even empty) only the signature is accepted; otherwise
// the static token is required. Every secret of the source is tried
// (rotation), each in constant time. A source with no secret does not start
// unless it is explicitly unsigned (local development).
//
// A source's secrets serve both schemes: the v1 signing secret is also
// accepted as a Streams bearer secret. Give v1 webhooks and Streams separate
// sources when the v1 secret must not authenticate an unsigned request.
//
// The Webhooks destination's v2 events ({"name", "timestamp", "user":
// {"uid", "email", "display_name"}, "session": {"id"}, "properties"}) are
// read too: one custom action named name, the user user.uid, the email
// user.email, the session session.id (else properties.session_url), the
// page properties.page_url.
//
// FullStory sends no delivery id. A note.created is its note id
// ("note:<id>"); everything else dedupes on a hash of the raw body, which
// holds the event's own millisecond timestamp, so a retry counts once and a
// genuine repeat (another time) is stored. Times follow the one timestamp
// rule (vendorjson.ParseTime). Streams retries 5xx and timeouts
// (up to 30 times over about 5 hours, per the Autoplay recipe), so events
// can arrive very late; their own timestamps are kept.
//
// # Setting it up
//
// The endpoint is https://<host>/webhooks/<source> for both kinds, with a
// source of provider "fullstory".
//
// v1 webhooks: in FullStory, Settings → Integrations → Webhooks, add the
// endpoint, select "Custom Event" (recording.event.custom) and/or "Note
// Created" (note.created), and put the signing secret FullStory shows into
// the source's secrets.
//
// Streams: Settings → Anywhere → Activation → Create Stream; trigger
// "Element Clicked", on every event; destination HTTP Endpoint, method POST,
// authentication Bearer token = one of the source's secrets. In the Field
// Mapping's JSON view, map (the Autoplay FullStory recipe):
//
//	{
//	  "target_text":        ["var", "event.0.target_text"],
//	  "element_name":       ["var", "event.0.element_name"],
//	  "page_url":           ["var", "event.0.url"],
//	  "timestamp":          ["var", "event.0.event_time"],
//	  "timestamp_unix":     ["toUnixTimestamp", ["var", "event.0.event_time"]],
//	  "session_replay_url": ["var", "event.0.app_url_event"],
//	  "user_id":            ["var", "event.0.user_id"],
//	  "user_email":         ["var", "event.0.user_email"],
//	  "session_id": ["concat", ["var", "event.0.device_id"], "%3A", ["var", "event.0.session_id"]]
//	}
//
// user_id is your application's user id (set with FS('setIdentity')): the
// chat layer asks with that id, so sessions without it are stored but not
// linked to a user.
//
// # Field mapping
//
//	v1 recording.event.custom        → one "custom" action
//	  data.name                      → Label (trimmed)
//	  data.pageUrl                   → URL
//	  data.timestamp                 → Time (RFC 3339; unix s/ms also read)
//	  data.sessionUrl …/session/<device>:<session>
//	                                 → SessionID "<device>:<session>", AnonymousID "<device>"
//	  data.properties                → not stored
//	v1 note.created                  → one "note" action
//	  data.text (else data.body, data.noteText) → Label
//	  data.pageInfo.pageUrl (else data.pageUrl) → URL
//	  data.notedTime (else data.created)        → Time
//	  data.sessionUrl                → SessionID, AnonymousID as above
//	  data.author                    → not used: a FullStory team member, not the recorded user
//	v1 any other eventName           → ignored (200 "ignored" with the reason)
//	Streams row                      → one "click" action per row
//	  target_text (else element_name) → Label
//	  page_url                       → URL
//	  timestamp_unix                 → Time; seconds, ms, µs or ns told apart by magnitude;
//	                                   refined to the millisecond by timestamp when both
//	                                   name the same second; timestamp alone if it is missing
//	  session_id "<device>%3A<session>" (URL-decoded; else from session_replay_url
//	  when that is a …/session/<device>:<session> URL; the recipe's app_url_event
//	  "client-session" link names no session and is not parsed)
//	                                 → SessionID "<device>:<session>", AnonymousID "<device>"
//	  user_id                        → UserID (unless it equals the device id: then it is
//	                                   FullStory's own id and stays anonymous)
//	  user_email                     → Email
//	  user_id + device               → an Identity (device → user), so v1 events of the
//	                                   same device, which carry no user, link to the user
//
// The v1 and Streams paths write a session id in the same form,
// "<device>:<session>" — FullStory's own full session id — so both kinds of
// delivery about one session land in one replayhook session. The FullStory
// "user" in a session URL is a device (cookie) id, not the customer's login
// id, so it goes to AnonymousID, never UserID; a v1 payload carries no email
// or uid.
//
// Choices where neither FullStory's documents nor replayhook's vendor notes
// decide: the note.created sample that the tests use follows the example
// payload of FullStory's "Note Created" page
// (developer.fullstory.com/anywhere/v1/webhooks/list-event-types/note-created),
// whose sessionUrl ends "!<number>" (dropped from the session id); the
// fallbacks data.body, data.noteText and data.pageUrl are guesses kept for
// robustness. A Streams body that has none of the mapped keys is refused
// (422) rather than ignored, because it means the field mapping is wrong.
package fullstory

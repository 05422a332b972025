// Package amplitude is the provider for Amplitude's Webhook streaming
// destination (event streaming to a custom webhook).
//
// # What Amplitude sends
//
// Events are forwarded as they are ingested, one per POST, in Amplitude's
// JSON export event format unless the sync's FreeMarker template reshapes
// them. The fields replayhook reads:
//
//	event_type, user_id, device_id, session_id (ms since epoch, -1 = none),
//	event_time ("2025-03-14 09:41:07.412000", UTC), event_properties,
//	user_properties, insert_id / $insert_id, uuid
//
// Also accepted: a JSON array of such events, and {"events": [...]} (the
// HTTP API's batch shape, which a template may produce). A single object
// that has an "event_type" is one event even if it also has an "events"
// property. With "Send Users" enabled, Amplitude also forwards user records
// (user_id, device_id, user_properties, no event_type): they are
// acknowledged and only link the device to the user. A batch holds at most
// 1000 events.
//
// Every sync sends Content-Type: application/json and User-Agent:
// Amplitude/Webhook/1.0. Cohort webhooks, a different destination, expect
// an answer within about 1–2 s; replayhook answers event deliveries without
// waiting on anything slow.
//
// # Authentication
//
// Amplitude does not sign. The sync can carry up to five custom headers;
// the source is authenticated by one of them holding a static secret,
// compared in constant time against each of the source's secrets
// (rotation): Authorization: Bearer <secret> by default, or the plain
// secret in the header named by the source's secret_header. Values over
// 4 KiB are refused. The secret authenticates the sender but does not
// cover the body: keep the endpoint on HTTPS. A source with no secret does
// not start unless it is marked unsigned (local development only).
//
// # Setting it up
//
// Create a source of provider "amplitude" with a secret. In Amplitude Data:
// Catalog → Destinations → Event Streaming → Webhook → create a sync. URL:
// https://<host>/webhooks/<source>. Headers: add Authorization = Bearer
// <secret> (or the header named in secret_header, with the plain secret).
// Payload: forward the original event format as is (or a FreeMarker
// template that keeps the field names above). Under Send Events, select the
// events to stream, e.g. [Amplitude] Page Viewed, [Amplitude] Element
// Clicked, [Amplitude] Form Submitted, your custom events, and $identify if
// you want anonymous devices linked to users.
//
// # Field mapping
//
//	event_type                                   kind      label
//	[Amplitude] Page Viewed, Page Viewed         pageview  [Amplitude] Page Title
//	[Amplitude] Element Clicked                  click     element label
//	[Amplitude] Element Changed                  type      element label
//	[Amplitude] Rage Click                       click     "(rage click) " + element label
//	[Amplitude] Dead Click                       click     "(dead click) " + element label
//	[Amplitude] Form Started                     focus     form label
//	[Amplitude] Form Submitted                   submit    form label
//	session_start, [Amplitude] Start Session     session   "Session started"
//	session_end, [Amplitude] End Session         session   "Session ended"
//	$identify, $groupidentify                    —         ignored (identity only)
//	[Amplitude] <Name> (any other)               custom    <Name>
//	any other name                               custom    the event type
//
//	element label  [Amplitude] Element Text, else [Amplitude] Element Aria Label
//	form label     [Amplitude] Form Name, else [Amplitude] Form ID
//	session id     session_id as a decimal integer string ("1741944978000",
//	               never "1.741944978e+12"; a float or string form is
//	               accepted) when > 0; else the part after the last "/" of
//	               the event property [Amplitude] Session Replay ID
//	               ("<device_id>/<session_id>"); a non-numeric string is
//	               kept as is
//	user id        user_id (none when null or empty)
//	anonymous id   device_id, always (also on identified events)
//	email          user_properties.email
//	url            event property [Amplitude] Page Location (the full
//	               href), else [Amplitude] Page URL (no query), else
//	               page_url, else url
//	time           event_time, else client_event_time, else time, by
//	               the one timestamp rule (vendorjson.ParseTime: ISO 8601, or s/ms/µs/ns
//	               since the epoch by magnitude; outside 2000-2100 or
//	               unreadable = unknown, the receive time is used)
//	delivery id    see below
//
// # Identity
//
// An event that carries both user_id and device_id is Amplitude's own
// statement that the device belongs to the user (Amplitude merges them), so
// the delivery also carries the Identity {device_id → user_id, email}, one
// per distinct pair. Later events of that device with no user_id are then
// linked to the user. After logout the Amplitude SDK starts a new device
// id, so the next visitor of the same browser is not linked.
//
// # Delivery id (dedupe)
//
// One event: its insert_id (or $insert_id), else its uuid. A batch:
// "batch:" + hex SHA-256 of the JSON array of the events' keys, sorted, so
// that a batch resent in another order is still a duplicate while a batch
// of other events is not, and the id stays short whatever the batch size.
// When any event of the delivery has no key (or one over 256 bytes), the id
// is empty and the pipeline hashes the raw body. A batch overlapping an
// earlier one only in part is not a duplicate: its events are stored again.
//
// Choices where neither Amplitude nor replayhook's vendor notes decide:
// session start and end markers are kept as "session" actions, so the
// activity text shows when the user came and left; for autocaptured events
// not listed above the "[Amplitude] " prefix is dropped from the label
// ("File Downloaded"); a form started is a "focus". session_id is only
// unique per device: two devices starting a session in the same
// millisecond share an id (rare; the replay id would tell them apart, but
// the session id is session_id, as docs/providers.md says, which the chat
// layer can also see in Amplitude). Event, user and group properties other than those above are
// not stored.
package amplitude

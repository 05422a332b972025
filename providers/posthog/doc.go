// Package posthog is the provider for PostHog: the "HTTP Webhook" data
// pipeline destination, and the flat body of the Autoplay quickstart's Hog
// function. One source accepts both; the body's shape tells them apart.
//
// # What PostHog sends
//
// One event per POST, Content-Type application/json. PostHog retries up to
// 3 times on 408, 429 and 5xx with a 10 s timeout; any status ≥ 300 counts
// as a failure.
//
//  1. HTTP Webhook destination, default body {"event": "{event}", "person":
//     "{person}"}, which PostHog expands to
//
//     {"event": {"uuid", "event", "distinct_id", "properties", "elements_chain", "timestamp", "url"},
//     "person": {"id", "name", "properties", "url"}}
//
//     (event.url is PostHog's own page for the event, not the visited page).
//
//  2. The Autoplay quickstart's Hog function posts a flat object: event,
//     referrer, timestamp, element_id, event_type, session_id, current_url,
//     distinct_id, elements_chain, input_field_name, link_destination,
//     button_or_link_text (missing values are ""). Variants that also send
//     uuid, email, user_id, device_id, is_identified, anon_distinct_id, or a
//     properties object (a template that posts the event global alone) are
//     read too.
//
// A body whose "event" is an object is shape 1; one whose "event" is a
// string (the event name) is shape 2. In shape 2 a flat key wins over the
// $-property it stands for (session_id over properties.$session_id, ...).
//
// # Authentication
//
// PostHog does not sign. The customer adds a secret header to the
// destination, and Verify accepts the delivery when any one of these
// carries one of the source's secrets (each compared in constant time,
// every secret tried for rotation):
//
//	X-PostHog-Secret: <secret>                        (what the Autoplay quickstart sets)
//	X-PostHog-Secret: sha256=<hex HMAC-SHA256(secret, raw body)>
//	Authorization: Bearer <secret>
//	<secret_header>: <secret>                         (when the source names another header)
//
// None of them present is rejected as "missing"; values over 4 KiB are
// refused. Only the sha256= form covers the body; the plain forms
// authenticate the sender but not the content, so keep the endpoint on
// HTTPS. The Signer (replayhook send) sends what PostHog sends: the literal
// X-PostHog-Secret value the customer typed, never an HMAC.
// A source with no secret does not start unless it is marked unsigned
// (local development only).
//
// # Setting it up
//
// Create a source of provider "posthog" with a secret; the endpoint is
// https://<host>/webhooks/<source>.
//
// HTTP Webhook destination: in PostHog, Data pipeline → Destinations → New
// → HTTP Webhook. Webhook URL: the endpoint. Method POST, JSON body left at
// its default {"event": "{event}", "person": "{person}"}. Headers: add
// X-PostHog-Secret = the secret (or Authorization = Bearer <secret>).
// Optionally add X-PostHog-Event-UUID = {event.uuid}: it is the delivery id
// when a body carries no uuid. Filter the events to the ones you want
// stored ($pageview, $autocapture, $rageclick, $dead_click, $exception,
// "survey sent", your custom events) and, if you want anonymous sessions
// linked at login, $identify.
//
// Hog function (Autoplay quickstart): paste the quickstart's source, put the
// endpoint in url and the secret in the 'x-posthog-secret' header.
//
// # Field mapping
//
//	event name          kind      label
//	$pageview           pageview  properties.title (the document title)
//	$screen             pageview  $screen_name
//	$autocapture        by $event_type: click (also when absent or unknown),
//	                    submit, change → type; focus, blur as such
//	                              element label, see below
//	$rageclick          click     "(rage click) " + element label
//	$dead_click         click     "(dead click) " + element label
//	$exception          error     "<type>: <message>" from $exception_list[0]
//	                              (type, value), else $exception_type /
//	                              $exception_message, else "Exception"
//	survey sent         custom    Survey "<$survey_name>" answered: <$survey_response>
//	$identify           —         ignored; links $anon_distinct_id to the
//	                              user (Delivery.Identities), see below
//	$pageleave, $set, $set_once, $groupidentify, $create_alias,
//	$merge_dangerously, $feature_flag_called, $web_vitals, $$heatmap,
//	$snapshot, $opt_in, survey shown, survey dismissed, and any other
//	name starting with "$"
//	                    —         ignored with the reason (no user action)
//	any other name      custom    the event name
//
//	element label  $el_text, else the first text="..." in elements_chain,
//	               else button_or_link_text (flat body), else an
//	               aria-label in the chain, else the acted-on element's
//	               name or id attribute
//	session id     properties.$session_id (flat: session_id)
//	user id        see below
//	email          person.properties.email, else properties.email (flat:
//	               email), else properties.$set.email
//	url            properties.$current_url (flat: current_url), else
//	               https:// + $host + $pathname (mobile and server SDKs),
//	               else $pathname
//	time           timestamp, else properties.$time, by the one timestamp rule (vendorjson.ParseTime: ISO 8601, or s/ms/µs/ns
//	               since the epoch by magnitude; outside 2000-2100 or
//	               unreadable = unknown, the receive time is used)
//	delivery id    event.uuid (flat: uuid), else the X-PostHog-Event-UUID
//	               header, else none (the pipeline hashes the raw body);
//	               ids over 256 bytes are not used
//
// $identify names the session it happened in ($session_id): besides the
// Identity {$anon_distinct_id → distinct_id}, it links that session to the
// user at once (Delivery.Links), so the session's earlier anonymous events
// are found by GET /v1/users/{id} without waiting for the next event.
//
// # Users and anonymous visitors
//
// PostHog's distinct_id is the user id after posthog.identify(), but before
// that it is a random id of the browser: with posthog-js, a UUIDv7 equal to
// $device_id. Storing it as a user id would make the chat layer's lookups
// by login id miss (identity drift), so distinct_id is taken as a user id
// only when the event does not say otherwise. In order, first match wins:
//
//  1. properties.$user_id (flat: user_id) present → that is the user.
//  2. $is_identified true (flat: is_identified) → distinct_id is the user.
//  3. $is_identified false, or $process_person_profile false → distinct_id
//     is an anonymous id.
//  4. distinct_id equal to $device_id → anonymous id.
//  5. no $device_id and distinct_id shaped like a UUIDv7 → anonymous id.
//     This covers the quickstart's flat body, which carries no flag; if
//     your own user ids are UUIDv7, send user_id or is_identified in the
//     body.
//  6. otherwise distinct_id is the user.
//
// Booleans are read from true/false or "true"/"false". When the event has
// a user and a $device_id that differs from it, the device id is the
// event's AnonymousID, and the delivery also carries the Identity
// {$device_id → user}: posthog-js's first anonymous distinct_id is the
// device id, so this links the visitor's pre-login session even when the
// destination does not forward $identify. An $identify event whose
// $anon_distinct_id differs from its user yields the Identity
// {$anon_distinct_id → user, email} and no action.
//
// Choices where neither PostHog nor replayhook's vendor notes decide: the
// pageview label is the document title; rage and dead clicks are clicks
// whose label says so, because the chat layer should know a button did
// nothing; a survey answer is a custom action carrying the first answer
// (the user chose to send it); for the flat body the chain is parsed before
// button_or_link_text is used, because the Hog function's extraction stops
// at an escaped quote and can match inside attributes such as
// attr__data-text. Properties other than those above are not stored.
package posthog

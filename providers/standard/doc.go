// Package standard is the provider for any sender that follows Standard
// Webhooks (https://www.standardwebhooks.com) or Svix, and for self-hosted
// capture such as an rrweb recorder posting batches of events. replayhook
// defines the event types it reads; EVENTS.md beside this file documents
// them with JSON examples for people writing a sender.
//
// # Authentication
//
// Every delivery carries three headers:
//
//	webhook-id:        msg_2mQ1vWbqk7TzHn4cX9aLrE0sDfY
//	webhook-timestamp: 1741945452                        (unix seconds)
//	webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + raw body)>
//
// Svix (not white-labelled) sends the same values as svix-id,
// svix-timestamp and svix-signature; the webhook-* set is used whenever any
// of its headers is present. webhook-signature is a space-separated list
// (several during a key rotation on the sender's side): the delivery is
// authentic if any "v1" entry matches any configured secret; entries of
// other versions (such as "v1a", asymmetric signatures) are skipped. A
// missing, malformed or oversized (over 4 KiB) header, or no match, is 401
// invalid_signature. Only a correctly signed delivery can be 401
// stale_timestamp: its timestamp is more than the source's
// tolerance_seconds (default 300) before or after the server clock.
//
// The key is derived from each configured secret (see Key):
//
//   - "whsec_<base64>" (what Svix and the Standard Webhooks libraries show):
//     the base64-decoded remainder. A remainder that is not base64 stops
//     the server at start.
//   - a bare secret that is valid base64 is decoded as well, as those
//     libraries do;
//   - any other bare secret is used as raw bytes. A bare secret that happens
//     to be valid base64 (e.g. "devsecret123") is therefore decoded: write
//     secrets with the whsec_ prefix to leave no doubt.
//
// Several secrets (rotation on replayhook's side) are all tried.
//
// # Set up
//
// Add a source with provider "standard" and the endpoint's signing secret:
//
//	sources:
//	  - name: recorder                 # → POST https://<host>/webhooks/recorder
//	    provider: standard
//	    product_id: prod_shop
//	    secrets: ["${RECORDER_WEBHOOK_SECRET}"]   # whsec_...
//	    tolerance_seconds: 300
//
// In Svix (or your Standard Webhooks sender), add the endpoint
// https://<host>/webhooks/<source> and subscribe it to the event types
// below; copy the endpoint's signing secret into the source. A self-hosted
// recorder signs with any Standard Webhooks library (npm "standardwebhooks"
// and the others of the specification's repository) using the same secret,
// and sets a fresh webhook-id per batch that it keeps when it retries.
// `replayhook send --source recorder FILE` signs FILE as such a sender
// would, with webhook-id "msg_" + hex of the first 12 bytes of SHA-256(FILE).
//
// # Deduplication
//
// Delivery.ID is webhook-id (svix-id): senders keep it across retries. An id
// over 256 bytes is not used (the pipeline hashes the body instead).
//
// # Event types and field mapping
//
// The body is the envelope {"type": "...", "timestamp": RFC 3339, "data":
// {...}}. A body that is not a JSON object is 400 malformed_json; a "data"
// that does not fit its type is 422 invalid_payload naming the fields
// ("data.events[3].data.source: must be a number"). Unknown types and a
// missing type are answered 200 ignored.
//
//	type           data                                     result
//	actions        an ActionsPayload (Autoplay SDK v1)      stored as is (lenient like from_dict)
//	summary        a SummaryPayload                         stored as the session's summary
//	rrweb.batch    {session_id, user_id, email, product_id,  one action per mapped rrweb event
//	(or rrweb)      anonymous_id, url, events: [rrweb]}
//	session.ended  {session_id, user:{id,email}, replay_url, one "session" action "Session ended"
//	                started_at, ended_at}
//
// Ids (session_id, user_id, email, product_id, anonymous_id) may be strings
// or numbers (a number is taken as its literal text); null or absent means
// none. rrweb.batch and session.ended require a session_id.
//
// rrweb events (type / data.source / data.type as rrweb numbers them):
//
//	rrweb event                              action  label                          url
//	4 Meta                                   pageview (none: the page path)         data.href; later events use it too
//	3 Incremental, source 2 Mouse, type 2    click   data.text, else data.label,    current page
//	  Click                                          else "element #<data.id>"
//	3 Incremental, source 5 Input            type    "input #<data.id>"             current page
//	5 Custom                                 custom  data.tag                       current page
//	anything else (full snapshot, mutation,  skipped
//	mouse move, scroll, viewport, focus,
//	blur, media, plugin, ...)
//
// The current page starts as data.url. Time is the event's "timestamp"
// (unix milliseconds, fractions dropped; absent or 0 = receive time).
// Input events never store what was typed (data.text is not read), and
// consecutive inputs into the same field (one per keystroke in rrweb)
// become one action. At most MaxRRWebEvents (10,000) events of a batch are
// read and at most MaxBatchActions (1,000) actions kept, the first ones;
// a recorder should post smaller batches. A batch with no mapped event is
// ignored. A batch with both anonymous_id and user_id (and at least one
// mapped event) also records that the anonymous id belongs to the user, so
// that later anonymous batches are linked.
//
// session.ended gives one "session" action labelled "Session ended" at
// ended_at (else the envelope's timestamp, else the receive time), with
// the description "Session ended (replay: <replay_url>)" when replay_url is
// an http(s) URL. It links the user to the session even when no action
// was recorded. user.id and user.email win over flat data.user_id and
// data.email, which are read too.
//
// Where the sender ecosystem says nothing (rrweb has no user or session
// fields, Standard Webhooks defines no event types), these choices are
// replayhook's own.
package standard

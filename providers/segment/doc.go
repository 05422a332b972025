// Package segment is the provider for Segment's Webhooks destination. Segment
// posts one Segment message per request, the same JSON the Segment Spec
// describes (type track, page, screen, identify, group or alias, with
// userId, anonymousId, messageId, properties, traits, context.page,
// context.traits and timestamp). A batch {"batch": [messages...]}, and a
// JSON array of messages, are read too.
//
// # Authentication
//
//	X-Signature: <hex HMAC-SHA1(shared secret, raw body)>
//
// Webhooks (Actions) with "Use X-Segment-Signature Header" sends
// X-Segment-Signature, a signature over the whole body (its X-Signature
// covers only the first event of a batch). When X-Segment-Signature is
// present, even empty, it is the only header checked; otherwise X-Signature
// is required. Segment documents HMAC-SHA1 for both; because the Actions
// variant's algorithm could not be confirmed, a 64-digit value is checked as
// HMAC-SHA256 and a 40-digit one as HMAC-SHA1, on either header. Every
// secret of the source is tried (rotation), each compared in constant time;
// header values over 4 KiB or repeated are refused. Segment signs no
// timestamp and sends no delivery-id header: replays are absorbed by the
// messageId dedupe key. A source with no secret does not start unless it is
// explicitly unsigned (local development only).
//
// # Setting it up
//
// In Segment, add the Webhooks destination to the source that carries your
// site's or app's events. Set its webhook URL to
// https://<host>/webhooks/<source> (a source with provider "segment") and
// its Shared Secret to one of the source's secrets. With Webhooks (Actions),
// point the mapping at the same URL (method POST) with the whole event as
// its data, set the shared secret, and turn on "Use X-Segment-Signature
// Header" if you enable batching. Segment retries 5xx answers for up to 4 hours, so events
// may arrive late; their own timestamps are kept.
//
// Sessions: Segment has no session id of its own. Send one in
// properties.session_id (or context.sessionId) — e.g. the session id of your
// replay vendor — or events are acknowledged but not stored, because
// replayhook never stores session-less activity.
//
// # Field mapping
//
//	track                 → one "custom" action, Label = event
//	page, screen          → one "pageview", Label = name, else properties.title, else context.page.title
//	identify              → no action; Identity {anonymousId → userId, email}, and the session it
//	                        names (context.sessionId, ...) linked to userId at once
//	delete                → the user erased everywhere, as DELETE /v1/users/{id} does
//	                        (honor_deletions: false on the source: ignored)
//	alias                 → no action; Identity {previousId → userId, email}
//	group, other types    → skipped: "segment <type> is not session activity"
//
//	properties.session_id, context.sessionId, context.session_id, properties.sessionId,
//	integrations["Actions Amplitude"].session_id (not -1; added by the Amplitude (Actions) destination)
//	                      → SessionID (the first set; a number reads as its digits, 1.741944978e12 → "1741944978000")
//	userId                → UserID (none without it: anonymousId is not a user)
//	anonymousId           → AnonymousID
//	context.traits.email, traits.email, properties.email
//	                      → Email
//	context.page.url      → URL (page and screen: properties.url first)
//	timestamp             → Time (else originalTimestamp), by the one timestamp rule
//	                        (vendorjson.ParseTime; unusable → receive time)
//	messageId             → Delivery.ID
//
// # Choices where the documentation is silent
//
// A batch's Delivery.ID is "batch:" and the hash of its length-prefixed
// messageIds in order, a namespace no single message's id enters, so a
// message whose messageId is "A,B" and the batch [A, B] are two deliveries;
// when one message has no messageId the ID is empty and the pipeline
// dedupes on the body hash. A
// track, page or screen that carries both anonymousId and userId also yields
// the Identity anonymousId → userId, as an identify would (Segment stamps
// both after identify); group does not. identify or alias without both ids
// links nothing and is ignored with a reason. A delivery with neither actions
// nor identities is ignored with the reasons of its messages. Numbers are
// accepted where strings are expected; properties and traits are the
// customer's own data, so a non-scalar value there is skipped rather than
// refused, while a wrong type in a Spec field (type, userId, context.page.url,
// ...) is a 422 naming the field. The type is matched case-insensitively.
package segment

// Package sentry is the provider for Sentry integration-platform webhooks
// (a Sentry "internal integration"). Sentry posts one JSON envelope per
// delivery,
//
//	{"action": "...", "installation": {"uuid": "..."}, "data": {...}, "actor": {...}}
//
// with the headers Sentry-Hook-Resource (error, event_alert, issue,
// metric_alert, comment, installation, ...), Sentry-Hook-Timestamp (unix
// seconds), Request-ID (a uuid that changes on every attempt) and
//
//	Sentry-Hook-Signature: <hex HMAC-SHA256(client secret, raw body)>
//
// # Authentication
//
// Verify recomputes the HMAC over the raw body with every secret of the
// source (rotation) and compares in constant time; header values over 4 KiB
// and repeated signature headers are refused. Sentry does not sign the
// timestamp, so it is not checked at all (checking an unsigned value adds no
// protection): a replayed delivery is absorbed by the dedupe key instead. A
// source with no secret does not start unless it is explicitly unsigned
// (local development only).
//
// # Setting it up
//
// In Sentry: Settings → Developer Settings → Custom Integrations → Create
// New Integration → Internal Integration. Set Webhook URL to
// https://<host>/webhooks/<source> (a source with provider "sentry"), give
// the integration read access to "Issue & Event", and under Webhooks tick
// "error" (error.created). Optionally turn on "Alert Rule Action" and add the
// integration as an action of an issue alert rule: those deliveries arrive
// as event_alert. Copy the integration's Client Secret into the source's
// secrets. Sentry gives the endpoint about one second to answer by
// default, so keep replayhook close to it.
//
// Events carry a session only when Sentry Session Replay recorded one
// (contexts.replay.replay_id): errors without a replay are acknowledged but
// not stored, because replayhook never stores session-less activity.
//
// # Field mapping
//
//	resource error, action created   → one "error" action from data.error
//	resource event_alert, triggered  → one "error" action from data.event (same event shape)
//	any other resource or action     → ignored: "sentry resource <r> is not session activity"
//
//	title                            → Label (trimmed); without one "<metadata.type>: <metadata.value>", then message
//	title + culprit                  → Description "<title> in <culprit>" (when culprit is set)
//	contexts.replay.replay_id        → SessionID (else tag replayId)
//	user.id                          → UserID
//	user.email                       → Email
//	request.url                      → URL (else tag url)
//	datetime                         → Time (RFC 3339 with microseconds; else the float timestamp)
//	event_id (else id)               → Delivery.ID (an error.created and an alert of
//	                                   the same event are one delivery)
//
// Tags are read as [[key, value], ...] (webhooks), [{"key","value"}, ...] or
// {key: value}; unreadable entries are skipped. Numbers are accepted where
// strings are expected (an integer reads as its digits). When
// Sentry-Hook-Resource is missing the resource is inferred from the body:
// data.error → error, data.event → event_alert, data.issue → issue, then
// metric_alert, comment, installation; a body naming none is a 422.
//
// # Choices where Sentry's documentation is silent
//
// The dedupe key is the Sentry event id for both error and event_alert, so
// one Sentry event delivered both as error.created and by an alert rule (or
// by two rules) is stored once: the first delivery wins and the others
// answer "duplicate". Request-ID is never used: Sentry changes it per retry.
// An issue delivery's id is the issue id (it is ignored anyway). An error
// action other than "created", or an alert action other than "triggered",
// is ignored; a missing action is read as the expected one.
package sentry

// Package highlight is the provider for Highlight (highlight.io) alert
// webhooks.
//
// # What Highlight sends
//
// One alert per POST, Content-Type application/json, retried by
// go-retryablehttp (4 retries). The body is a Go struct marshalled without
// json tags, so the keys are PascalCase field names, with an "Event" key
// prepended (highlight/highlight backend/alerts/integrations/webhook/webhook.go
// and, for the newer alerts, backend/alerts/v2/destinations/webhook). The
// sender labels most kinds NEW_USER_ALERT — new session, rage click,
// feedback, track/user properties, even metric monitors — so the kind is
// told from the fields present, never from Event.
//
// Highlight does not sign its webhooks and sends no delivery id. Delivery.ID
// is the error instance of an error alert (ErrorURL .../instances/<n>, one
// occurrence); for other alerts, the body's hash within the 5-minute
// RepeatWindow the delivery arrived in, so Highlight's quick retries count
// once and an alert that fires again later is stored again. The body
// carries no time either, so every event is stamped with the receive time.
//
// # Authentication
//
// Besides the URL token (below), a source accepts a static secret header, compared in constant
// time against each of the source's secrets (rotation): Authorization:
// Bearer <secret> by default, or the plain secret in the header named by the
// source's secret_header. Values over 4 KiB are refused. A source with no
// secret does not start unless it is marked unsigned (local development
// only). The secret authenticates the sender but does not cover the body:
// keep the endpoint on HTTPS.
//
// Highlight's sender sets no header at all: its webhook request is a plain
// retryablehttp.Post(url, "application/json", body), custom auth headers are
// not supported, and a 401 is not retried. So a Highlight source takes its
// secret in the URL: set url_token: true and paste
//
//	https://<host>/webhooks/<source>?token=<secret>
//
// into Highlight. The token is compared in constant time and never logged
// (nor kept in the rejected list or metrics); serve it over HTTPS only
// (check-config warns about plain http off loopback). A proxy that adds
// "Authorization: Bearer <secret>" works too, without url_token.
//
// # Setting it up
//
// In Highlight, open Alerts, create or edit an alert (new session, new
// user, error, rage click, session feedback, user properties, ...) and add
// a Webhook destination with the URL https://<host>/webhooks/<source>, where
// <source> is a source of provider "highlight". Put the same secret in the
// source's secrets and make sure each request carries it (see the caveat).
//
// # Field mapping
//
//	fields present                        kind     label
//	ErrorTitle                            error    ErrorTitle (URL: VisitedURL)
//	RageClicksCount                       click    "Rage click (N clicks)", also the title;
//	                                               description "User rage-clicked N times"
//	CommentText / SessionCommentURL       note     CommentText
//	MatchedProperties (no Related...)     custom   "User properties matched: k=v, ..."
//	MatchedProperties + RelatedProperties custom   "Track properties matched: k=v, ..."
//	SessionURL + VisitedURL (new session) session  "New session" (URL: VisitedURL)
//	SecureID, or AlertName + SessionURL   session  "Session alert: <AlertName>" (v2 session alerts)
//	SessionURL only (new user)            session  "New user"
//	metric monitor, log, trace, alert created/updated
//	                                      —        ignored (no session)
//
//	session id  SecureID / SessionSecureID (v2), else the segment after
//	            "/sessions/" in SessionURL or SessionCommentURL (query,
//	            fragment and a trailing "/commentId=N" dropped)
//	user id     UserIdentifier (v2 session alerts: Identifier) — the id given
//	            to H.identify; in feedback alerts only when it is an email,
//	            because there it is the commenter's name, email or "Someone"
//	email       UserProperties.email, else UserIdentifier when it looks
//	            like an email
//	time        receive time
//
// An alert that names no session (track properties, metric/log/trace, an
// error alert about an excluded session) is acknowledged and ignored with
// the reason, because replayhook never stores session-less activity under a
// shared key.
//
// Choices where neither Highlight nor replayhook's vendor notes decide: a
// new-session alert becomes a "session" action labelled "New session" on its
// VisitedURL rather than a pageview, so the activity text says both that a
// session started and where ("New session on /checkout"); a new-user alert
// (same fields minus VisitedURL) is labelled "New user". ErrorCount (the
// count in the alert's window), the avatar and the error links are not
// stored. The v2 Event values in the tests' samples are not verified and
// play no part in parsing.
package highlight

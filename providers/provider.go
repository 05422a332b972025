// Package providers defines the vendor adapter contract: a Provider verifies
// a delivery's raw bytes and headers against a source's secrets, then parses
// those same bytes into normalized events. Each vendor lives in its own
// sub-package; providers/all registers them.
package providers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/replayhook/replayhook/normalize"
)

// Errors a Provider returns, wrapped with a reason that is safe to show to
// the sender (it never contains a secret or an expected signature). The HTTP
// layer maps each to the contract's status and error code.
var (
	// ErrInvalidSignature: the signature or token is missing, malformed or wrong. → 401 invalid_signature
	ErrInvalidSignature = errors.New("invalid signature")
	// ErrStaleTimestamp: a signed timestamp is outside the tolerance. → 401 stale_timestamp
	ErrStaleTimestamp = errors.New("stale timestamp")
	// ErrMalformedJSON: the body is not JSON or not a JSON object. → 400 malformed_json
	ErrMalformedJSON = errors.New("malformed json")
	// ErrInvalidPayload: well-formed JSON that does not fit the vendor's format. → 422 invalid_payload
	ErrInvalidPayload = errors.New("invalid payload")
)

// Reject wraps a sentinel error with a public reason.
func Reject(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))
}

// Request is one delivery as received: headers and the exact raw body.
type Request struct {
	Header http.Header
	Body   []byte
	// Query is the URL's query string (for URL-token authentication);
	// nil when there is none.
	Query url.Values
	// Now is the server time at receipt; timestamp checks use it.
	Now time.Time
}

// Delivery is what a Provider makes of a verified request.
type Delivery struct {
	// ID is the vendor's idempotency key for this delivery (event uuid,
	// message id, webhook-id); empty means "use a hash of the raw body".
	ID string
	// Payloads are ready-made ActionsPayloads (Autoplay push, Standard
	// Webhooks "actions"); Events are grouped into more of them by normalize.
	Payloads  []normalize.ActionsPayload
	Events    []normalize.Event
	Summaries []normalize.SummaryPayload
	// Identities link anonymous ids to users (Segment identify).
	Identities []normalize.Identity
	// Links attach a session to a user at once: an identify call that names
	// the session it happened in (PostHog $identify with $session_id,
	// Segment identify with context.sessionId), so the sessions's earlier
	// anonymous activity is found under the user without waiting for the
	// next event.
	Links []Link
	// Erase lists users the vendor asks to delete (Segment "delete"): they
	// are erased everywhere, as DELETE /v1/users/{id} does.
	Erase []string
	// Ignored, when set, says why a verified delivery has nothing to store
	// (answered 200 {"status":"ignored","reason":Ignored}).
	Ignored string
}

// Link is one session named by an identify call.
type Link struct {
	UserID    string
	Email     string
	SessionID string
	ProductID string
	// At is the identify call's time.
	At time.Time
}

// Provider is one vendor adapter bound to one source's settings.
//
// Verify returns nil for an authentic request, or an error wrapping
// ErrInvalidSignature or ErrStaleTimestamp. It must compare secrets in
// constant time and look only at req.Header and req.Body.
//
// Parse is called only after Verify succeeded, with the same bytes. It returns
// an error wrapping ErrMalformedJSON or ErrInvalidPayload for input it cannot
// use, and must never panic whatever the bytes.
type Provider interface {
	Verify(req *Request) error
	Parse(req *Request) (*Delivery, error)
}

// Settings are the per-source knobs a Factory receives.
type Settings struct {
	// Secrets are the accepted secrets; several allow rotation.
	Secrets []string
	// Tolerance bounds |now - signed timestamp| for schemes that sign one.
	Tolerance time.Duration
	// SecretHeader names the header carrying a static secret for vendors
	// that do not sign ("" means Authorization: Bearer).
	SecretHeader string
	// Unsigned accepts deliveries without checking anything. For local
	// development only; the config must say so explicitly.
	Unsigned bool
	// URLToken also accepts a secret as the URL's ?token= parameter, for
	// senders that cannot set a header.
	URLToken bool
	// IgnoreDeletions makes a vendor's user deletion requests (Segment
	// "delete") ignored instead of erasing the user (config honor_deletions: false).
	IgnoreDeletions bool
	// Custom is the source's custom: block (a *custom.Spec) for provider
	// custom, nil for every other provider.
	Custom any
}

// Factory builds a Provider for one source. It returns an error when the
// settings cannot work (e.g. a signing vendor with no secret).
type Factory func(Settings) (Provider, error)

// Signer produces the headers a vendor would send for body, so `replayhook
// send` and the tests can simulate any vendor. Providers whose vendor signs
// or authenticates implement it.
type Signer interface {
	Sign(body []byte, secret string, now time.Time) http.Header
}

// QuerySigner is implemented by providers whose sender may put its secret
// in the URL: SignQuery is the query string to add (nil for none).
type QuerySigner interface {
	SignQuery(secret string) url.Values
}

// IdentifyFixer is implemented by providers that know how their vendor's
// events come to carry a user id: IdentifyFix is one sentence of Markdown
// the drift page shows to the operator of a source whose deliveries lack
// one ("PostHog: call `posthog.identify(userId)` at login...").
type IdentifyFixer interface {
	IdentifyFix() string
}

// Registry maps provider names to factories.
type Registry struct {
	factories map[string]Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{factories: map[string]Factory{}} }

// Register adds a provider; registering a name twice panics (a programming error).
func (r *Registry) Register(name string, f Factory) {
	if _, dup := r.factories[name]; dup {
		panic("providers: duplicate provider " + name)
	}
	r.factories[name] = f
}

// New builds the named provider.
func (r *Registry) New(name string, s Settings) (Provider, error) {
	f, ok := r.factories[name]
	if !ok {
		return nil, fmt.Errorf("unknown provider %q (known: %v)", name, r.Names())
	}
	return f(s)
}

// Names lists the registered providers, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.factories))
	for n := range r.factories {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// FieldsError is an ErrInvalidPayload that names the fields at fault; the
// HTTP layer returns them in the 422 body's "fields".
type FieldsError struct {
	Fields normalize.FieldErrors
}

func (e *FieldsError) Error() string { return "invalid payload: " + e.Fields.Error() }

// Unwrap makes errors.Is(err, ErrInvalidPayload) true.
func (e *FieldsError) Unwrap() error { return ErrInvalidPayload }

package webhooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/journal"
	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
)

// IngestResult is the 200 body of POST /webhooks/{source}.
type IngestResult struct {
	Status string `json:"status"` // accepted | duplicate | ignored
	Source string `json:"source"`
	// Payloads counts what was stored (payloads and summaries with a
	// session); Identities what was only used for identity (aliases from an
	// identify, sessions an identify named); Erased the users a deletion
	// request erased.
	Payloads      int    `json:"payloads"`
	Identities    int    `json:"identities"`
	Erased        int    `json:"erased,omitempty"`
	MissingUserID int    `json:"missing_user_id"`
	Reason        string `json:"reason,omitempty"`
	// warning is for the access log only.
	warning string
}

// handleIngest reads the raw body within the limit and runs the pipeline.
func (s *Server) handleIngest(c echo.Context) error {
	name := c.Param("source")
	c.Set(ctxSource, name)
	src, ok := s.deps.Sources[name]
	if !ok {
		c.Set(ctxSource, "(unknown)") // never log an attacker-chosen path as a source
		// The body is never read: close after the answer rather than drain it.
		c.Response().Header().Set(echo.HeaderConnection, "close")
		err := apiErr(http.StatusNotFound, CodeUnknownSource, "no source is configured under this name")
		// The rejected log's reason names what was posted to (quoted, cut
		// to 64 bytes), so that the drift page shows the wrong URL; the
		// answer and the access log do not echo it.
		s.rejected(c, nil, 0, apiErr(http.StatusNotFound, CodeUnknownSource,
			fmt.Sprintf("no source is configured under the name %q", shorten(name, 64))))
		return err
	}
	body, done, err := s.admitDelivery(c, src)
	if err != nil {
		return err
	}
	defer done()
	// The query is read only for URL-token sources' ?token=, and never
	// logged: the access log has the route template, not the URL.
	res, err := s.ingest(c.Request().Context(), src, &providers.Request{Header: c.Request().Header, Query: c.QueryParams(), Body: body})
	if err != nil {
		s.rejected(c, src, int64(len(body)), err)
		return err
	}
	setOutcome(c, res.Status, res.Reason)
	if res.warning != "" {
		c.Set(ctxWarning, res.warning)
	}
	if res.MissingUserID > 0 {
		c.Set(ctxMissingUser, res.MissingUserID)
	}
	return c.JSON(http.StatusOK, res)
}

// rejected reports a rejected delivery to the observers and the rejected
// log. Only metadata is kept: never the body or a header value that could
// carry a secret.
func (s *Server) rejected(c echo.Context, src *Source, size int64, err error) {
	code := codeOf(err)
	name, provider := "(unknown)", ""
	if src != nil {
		name, provider = src.Name, src.ProviderName
	}
	s.observe(func(o Observer) { o.Delivery(name, provider, code) })
	if code == CodeUnavailable {
		return
	}
	if !s.limits.rejected.allow(c.RealIP()) {
		s.deps.Metrics.DropRejection()
		return
	}
	var reason string
	var ae *APIError
	if errors.As(err, &ae) {
		reason = ae.Message
	}
	id, _ := c.Get(ctxRequestID).(string)
	r := index.Rejection{
		At: s.deps.Now(), Source: name, Code: code, Reason: reason, DeliveryID: deliveryIDHeader(c.Request().Header),
		ClientIP: c.RealIP(), BodyBytes: max(size, 0), RequestID: id,
	}
	dst := s.deps.Rejected
	if src == nil {
		dst = s.limits.rejected.unknown // never evicts a real source's entries
	}
	_ = dst.Add(context.WithoutCancel(c.Request().Context()), r)
}

// deliveryIDHeader returns a vendor delivery id header, if a sane one is present.
func deliveryIDHeader(h http.Header) string {
	for _, k := range []string{"Webhook-Id", "Svix-Id", "Request-Id", "X-Posthog-Event-Uuid"} {
		if v := h.Get(k); saneID(v) {
			return v
		}
	}
	return ""
}

func codeOf(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return CodeInternal
}

// readBody enforces the body limit from Content-Length before reading and
// again while reading, so a lying or absent Content-Length cannot make the
// server buffer more than limit bytes.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	tooLarge := &APIError{Status: http.StatusRequestEntityTooLarge, Code: CodePayloadTooLarge,
		Message: fmt.Sprintf("body exceeds %d bytes", limit)}
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	buf, err := readAll(r.Body, r.ContentLength, limit+1)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, &APIError{Status: http.StatusBadRequest, Code: CodeMalformedJSON,
			Message: "could not read the request body", Internal: err}
	}
	if int64(len(buf)) > limit {
		return nil, tooLarge
	}
	return buf, nil
}

// readAll reads at most limit bytes of body. A Content-Length below limit
// sizes the buffer in one allocation (io.ReadAll grows it from 512 bytes);
// the body is still read to EOF, so one longer than announced is read (up
// to limit) and caught by the caller's length check.
func readAll(body io.Reader, contentLength, limit int64) ([]byte, error) {
	if contentLength <= 0 || contentLength >= limit {
		return io.ReadAll(io.LimitReader(body, limit))
	}
	buf := make([]byte, contentLength, contentLength+1)
	if _, err := io.ReadFull(body, buf); err != nil {
		return nil, err
	}
	var probe [1]byte
	switch n, err := io.ReadFull(body, probe[:]); {
	case n == 1: // more than announced (net/http refuses that; other callers may not)
		rest, err := io.ReadAll(io.LimitReader(body, limit-contentLength-1))
		return append(append(buf, probe[0]), rest...), err
	case errors.Is(err, io.EOF):
		return buf, nil
	default:
		return nil, err
	}
}

// Ingest runs the pipeline for one delivery: verify → parse → normalize →
// validate → dedupe → store. It returns an *APIError for every rejection.
// A delivery it acknowledges (nil error) has been stored; one it cannot
// store is a 503 and its dedupe claim is released so the vendor's retry is
// processed again.
func (s *Server) Ingest(ctx context.Context, src *Source, header http.Header, body []byte) (*IngestResult, error) {
	return s.ingest(ctx, src, &providers.Request{Header: header, Body: body})
}

// ingest is Ingest for a request that may carry a query (URL token).
func (s *Server) ingest(ctx context.Context, src *Source, req *providers.Request) (*IngestResult, error) {
	if err := s.deps.Journal.Admit(); err != nil {
		return nil, notAdmitted(err)
	}
	now := s.deps.Now()
	req.Now = now
	body := req.Body
	if err := src.Provider.Verify(req); err != nil {
		return nil, providerError(err)
	}
	d, err := src.Provider.Parse(req)
	if err != nil {
		return nil, providerError(err)
	}
	res := &IngestResult{Source: src.Name}

	payloads := d.Payloads
	if len(d.Events) > 0 {
		payloads = append(payloads, normalize.Payloads(d.Events, now)...)
	}
	if err := s.prepare(ctx, src, payloads, d.Summaries, now); err != nil {
		return nil, err
	}
	links, err := stampLinks(src, d.Links)
	if err != nil {
		return nil, err
	}
	storable := 0
	for i := range payloads {
		if payloads[i].SessionID != nil {
			storable++
		}
		if payloads[i].UserID == nil {
			res.MissingUserID++
		}
	}
	for i := range d.Summaries {
		if d.Summaries[i].SessionID != nil {
			storable++
		}
	}
	res.Payloads = storable
	res.Identities = len(d.Identities) + len(links)
	if storable == 0 && res.Identities == 0 && len(d.Erase) == 0 {
		res.Status = "ignored"
		switch {
		case d.Ignored != "":
			res.Reason = d.Ignored
		case len(payloads)+len(d.Summaries) > 0:
			res.Reason = "no payload carries a session_id; replayhook never stores session-less activity under a shared key"
		default:
			res.Reason = "delivery carries no events"
		}
		s.observe(func(o Observer) { o.Delivery(src.Name, src.ProviderName, "ignored") })
		return res, nil
	}

	key := dedupeKey(src.Name, d.ID, body)
	claim, err := s.deps.Dedupe.Claim(ctx, src.Name, key, now)
	if err != nil {
		return nil, unavailable(err)
	}
	switch claim {
	case index.Seen:
		res.Status = "duplicate"
		s.observe(func(o Observer) { o.Delivery(src.Name, src.ProviderName, "duplicate") })
		return res, nil
	case index.InFlight:
		// The same delivery is being stored by another request, which may
		// still fail: "duplicate" now could acknowledge a delivery never
		// stored. The vendor retries, and then gets the real answer.
		return nil, &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
			Message: "the same delivery is being processed; retry later", RetryAfter: 1}
	}
	applied, err := s.deps.Journal.Append(ctx, &journal.Entry{
		Source: src.Name, ProductID: src.ProductID, Key: key, At: now, Payloads: payloads, Summaries: d.Summaries, Identities: d.Identities, Links: links,
	})
	if err != nil {
		if rerr := s.deps.Dedupe.Release(context.WithoutCancel(ctx), src.Name, key); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, notAdmitted(err)
	}
	defer applied()
	lates, err := s.store(ctx, src, payloads, d.Summaries, d.Identities, now)
	if err == nil {
		err = s.link(ctx, links, now)
	}
	if err == nil {
		// After storing, so a deletion request erases what the same
		// delivery stored before it too.
		res.Erased, err = s.erase(ctx, d.Erase)
	}
	if err == nil {
		err = s.publish(ctx, payloads, now)
	}
	if err != nil {
		if rerr := s.deps.Dedupe.Release(context.WithoutCancel(ctx), src.Name, key); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, unavailable(err)
	}
	// Stored: acknowledge it whatever Confirm says. If Confirm fails the
	// claim lapses after index.ClaimLease, and a retry after that would be
	// stored twice (at least once, never lost).
	if err := s.deps.Dedupe.Confirm(context.WithoutCancel(ctx), src.Name, key, now); err != nil {
		res.warning = "stored, but the dedupe record was not confirmed (a retry after the claim lease would be stored again): " + err.Error()
	}
	res.Status = "accepted"
	s.observe(func(o Observer) {
		o.Delivery(src.Name, src.ProviderName, "accepted")
		for i := range payloads {
			o.Payload(src.Name, src.ProviderName, &payloads[i], lates[i], now)
		}
	})
	return res, nil
}

// prepare stamps source and product, trims ids, links anonymous ids to known
// users, flags payloads without a user and validates everything.
func (s *Server) prepare(ctx context.Context, src *Source, payloads []normalize.ActionsPayload, summaries []normalize.SummaryPayload, now time.Time) error {
	for i := range payloads {
		p := &payloads[i]
		if err := stampProduct(src, &p.ProductID); err != nil {
			return err
		}
		p.Source, p.Provider = src.Name, src.ProviderName
		p.SessionID = cleanOpt(p.SessionID)
		p.UserID = cleanOpt(p.UserID)
		p.Email = cleanOpt(p.Email)
		p.AnonymousID = normalize.CleanID(p.AnonymousID)
		if p.UserID == nil && p.AnonymousID != "" {
			id, ok, err := s.deps.Aliases.Resolve(ctx, src.ProductID, p.AnonymousID, now)
			if err != nil {
				return unavailable(err)
			}
			if ok {
				p.UserID = normalize.OptStr(id.UserID)
				if p.Email == nil {
					p.Email = normalize.OptStr(id.Email)
				}
			}
		}
		p.Flags = nil
		if p.UserID == nil {
			p.Flags = []string{normalize.FlagMissingUserID}
		}
		if err := s.deps.Validator.Actions(p); err != nil {
			return invalidPayload(err, i, len(payloads))
		}
	}
	for i := range summaries {
		sm := &summaries[i]
		if err := stampProduct(src, &sm.ProductID); err != nil {
			return err
		}
		sm.Source, sm.Provider = src.Name, src.ProviderName
		sm.SessionID = cleanOpt(sm.SessionID)
		if err := s.deps.Validator.Summary(sm); err != nil {
			return invalidPayload(err, i, len(summaries))
		}
	}
	return nil
}

func stampProduct(src *Source, product *string) error {
	*product = normalize.CleanID(*product)
	if src.ProductID == "" {
		return nil
	}
	if *product != "" && *product != src.ProductID {
		return apiErr(http.StatusUnprocessableEntity, CodeProductMismatch,
			fmt.Sprintf("payload product_id %q differs from %q, the product configured for source %q", clip(*product, 64), src.ProductID, src.Name))
	}
	*product = src.ProductID
	return nil
}

func cleanOpt(p *string) *string { return normalize.OptStr(normalize.CleanID(normalize.Str(p))) }

// store writes payloads, summaries and identities. It returns, per payload,
// whether it was late (event time older than the lookback on arrival): late
// activity is stored for the session path but not linked to its user, since
// the link would be outside the lookback already.
func (s *Server) store(ctx context.Context, src *Source, payloads []normalize.ActionsPayload, summaries []normalize.SummaryPayload, ids []normalize.Identity, now time.Time) ([]bool, error) {
	lookback := s.cfg.Index.Lookback()
	lates := make([]bool, len(payloads))
	for i := range payloads {
		p := &payloads[i]
		if p.SessionID == nil {
			continue
		}
		at := eventTime(p, now)
		lates[i] = now.Sub(normalize.FromUnixSeconds(at)) > lookback
		key := index.SessionKey{ProductID: p.ProductID, SessionID: *p.SessionID}
		if err := s.deps.Activity.AddActions(ctx, key, p, at); err != nil {
			return nil, err
		}
		if p.UserID != nil && !lates[i] {
			ref := index.SessionRef{SessionID: key.SessionID, ProductID: key.ProductID, LastSeenAt: at}
			if err := s.deps.Users.Link(ctx, *p.UserID, normalize.Str(p.Email), ref, now); err != nil {
				return nil, err
			}
		}
	}
	for i := range summaries {
		sm := &summaries[i]
		if sm.SessionID == nil {
			continue
		}
		at := clampTime(sm.ForwardedAt, now)
		if err := s.deps.Activity.SetSummary(ctx, index.SessionKey{ProductID: sm.ProductID, SessionID: *sm.SessionID}, sm.Summary, at); err != nil {
			return nil, err
		}
	}
	for _, id := range ids {
		// Aliases are scoped by the source's product: an identify of
		// one product never re-assigns another's anonymous ids.
		if err := s.deps.Aliases.Remember(ctx, src.ProductID, id, now); err != nil {
			return nil, err
		}
	}
	return lates, nil
}

// stampLinks cleans the sessions identify calls named and stamps the
// source's product on them; links missing a user or a session are dropped.
func stampLinks(src *Source, links []providers.Link) ([]providers.Link, error) {
	out := links[:0:0]
	for _, l := range links {
		l.UserID, l.SessionID, l.Email = normalize.CleanID(l.UserID), normalize.CleanID(l.SessionID), normalize.CleanID(l.Email)
		if l.UserID == "" || l.SessionID == "" {
			continue
		}
		if err := stampProduct(src, &l.ProductID); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// link lists the sessions identify calls named under their users at once,
// so the session's earlier anonymous activity is found by the user lookup.
func (s *Server) link(ctx context.Context, links []providers.Link, now time.Time) error {
	for _, l := range links {
		at := clampTime(normalize.UnixSeconds(l.At), now)
		if l.At.IsZero() {
			at = normalize.UnixSeconds(now)
		}
		if now.Sub(normalize.FromUnixSeconds(at)) > s.cfg.Index.Lookback() {
			continue // as for late activity: outside the lookback already
		}
		ref := index.SessionRef{SessionID: l.SessionID, ProductID: l.ProductID, LastSeenAt: at}
		if err := s.deps.Users.Link(ctx, l.UserID, l.Email, ref, now); err != nil {
			return err
		}
	}
	return nil
}

// erase erases the users a vendor's deletion request names, through the
// one erase path DELETE /v1/users/{id} uses.
func (s *Server) erase(ctx context.Context, users []string) (int, error) {
	n := 0
	for _, u := range users {
		if u = normalize.CleanID(u); u == "" {
			continue
		}
		if err := s.EraseUser(ctx, u); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// publish hands the stored payloads (those with a session_id) to every
// Outbound, in order.
func (s *Server) publish(ctx context.Context, payloads []normalize.ActionsPayload, now time.Time) error {
	if len(s.deps.Outbound) == 0 {
		return nil
	}
	stored := make([]normalize.ActionsPayload, 0, len(payloads))
	for i := range payloads {
		if payloads[i].SessionID != nil {
			stored = append(stored, payloads[i])
		}
	}
	if len(stored) == 0 {
		return nil
	}
	for _, o := range s.deps.Outbound {
		if err := o.Publish(ctx, stored, now); err != nil {
			return err
		}
	}
	return nil
}

// eventTime is the payload's newest action time (else its forwarded_at),
// clamped to the server clock: a sender's clock never puts activity in the
// future, and a missing time means "now".
func eventTime(p *normalize.ActionsPayload, now time.Time) float64 {
	var t float64
	for i := range p.Actions {
		t = max(t, p.Actions[i].TimestampStart, p.Actions[i].TimestampEnd)
	}
	if t == 0 {
		t = p.ForwardedAt
	}
	return clampTime(t, now)
}

func clampTime(t float64, now time.Time) float64 {
	n := normalize.UnixSeconds(now)
	if t <= 0 || t > n {
		return n
	}
	return t
}

func dedupeKey(source, id string, body []byte) string {
	if id != "" {
		return source + "\x00id\x00" + id
	}
	sum := sha256.Sum256(body)
	return source + "\x00body\x00" + hex.EncodeToString(sum[:])
}

func providerError(err error) error {
	msg := err.Error()
	var fe *providers.FieldsError
	switch {
	case errors.Is(err, providers.ErrStaleTimestamp):
		return apiErr(http.StatusUnauthorized, CodeStaleTimestamp, msg)
	case errors.Is(err, providers.ErrInvalidSignature):
		return apiErr(http.StatusUnauthorized, CodeInvalidSignature, msg)
	case errors.Is(err, providers.ErrMalformedJSON):
		return apiErr(http.StatusBadRequest, CodeMalformedJSON, msg)
	case errors.As(err, &fe):
		return &APIError{Status: http.StatusUnprocessableEntity, Code: CodeInvalidPayload, Message: "payload fails validation", Fields: fe.Fields}
	case errors.Is(err, providers.ErrInvalidPayload):
		return apiErr(http.StatusUnprocessableEntity, CodeInvalidPayload, msg)
	default:
		// A provider that cannot tell what is wrong: treat as unusable input,
		// never as a server error, and keep the detail out of the response.
		return &APIError{Status: http.StatusUnprocessableEntity, Code: CodeInvalidPayload, Message: "payload could not be processed", Internal: err}
	}
}

func invalidPayload(err error, i, n int) error {
	var fe normalize.FieldErrors
	if !errors.As(err, &fe) {
		return &APIError{Status: http.StatusUnprocessableEntity, Code: CodeInvalidPayload, Message: "payload fails validation", Internal: err}
	}
	if n > 1 {
		prefixed := make(normalize.FieldErrors, len(fe))
		for j, f := range fe {
			prefixed[j] = normalize.FieldError{Field: fmt.Sprintf("payloads[%d].%s", i, f.Field), Reason: f.Reason}
		}
		fe = prefixed
	}
	return &APIError{Status: http.StatusUnprocessableEntity, Code: CodeInvalidPayload, Message: "payload fails validation", Fields: fe}
}

func unavailable(err error) error {
	return &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
		Message: "the store is unavailable; retry later", RetryAfter: 5, Internal: err}
}

func (s *Server) observe(f func(Observer)) {
	for _, o := range s.observers {
		f(o)
	}
}

// shorten cuts s to at most n bytes, on a rune boundary, marking a cut
// with "...".
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

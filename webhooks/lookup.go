package webhooks

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/normalize"
)

// UserResponse is GET /v1/users/{user_id}.
type UserResponse struct {
	UserID   string             `json:"user_id"`
	Email    *string            `json:"email"`
	Sessions []index.SessionRef `json:"sessions"`
}

// SessionActivity is one session in an activity response.
type SessionActivity struct {
	index.SessionRef
	Actions []normalize.SlimAction `json:"actions"`
}

// UserActivityResponse is GET /v1/users/{user_id}/activity.
type UserActivityResponse struct {
	UserID   string            `json:"user_id"`
	Email    *string           `json:"email"`
	Activity string            `json:"activity"`
	Sessions []SessionActivity `json:"sessions"`
}

// SessionResponse is GET /v1/sessions/{session_id}.
type SessionResponse struct {
	SessionID string                 `json:"session_id"`
	ProductID string                 `json:"product_id"`
	UserID    *string                `json:"user_id"`
	Email     *string                `json:"email"`
	Activity  string                 `json:"activity"`
	Actions   []normalize.SlimAction `json:"actions"`
}

// pathID returns a path parameter decoded exactly once and trimmed (ids
// are trimmed on read as on write), or a 400 when it is empty or absurdly
// long. Echo routes on the request's RawPath when it has one (the path
// holds an escape, such as %2F, that its decoded form cannot show), and
// then its parameters are still escaped; otherwise it routes on the
// decoded Path and they are not. So /v1/users/a%2541-x is user "a%41-x",
// never "aA-x".
func pathID(c echo.Context, name string) (string, error) {
	v := c.Param(name)
	if c.Request().URL.RawPath != "" {
		var err error
		if v, err = url.PathUnescape(v); err != nil {
			return "", apiErr(http.StatusBadRequest, CodeInvalidParameter, name+" is not a valid URL path segment")
		}
	}
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 256 {
		return "", apiErr(http.StatusBadRequest, CodeInvalidParameter, name+" must be 1 to 256 bytes")
	}
	return v, nil
}

// userView reads the user's refs visible to the token (and the optional
// product filter), newest first. Everything is keyed by product: a token
// limited to some products never learns about the sessions or the email of
// others, and without product_id the view merges the products the token
// may read (see viewEmail).
func (s *Server) userView(c echo.Context) (userID string, email *string, refs []index.SessionRef, now time.Time, err error) {
	userID, err = pathID(c, "user_id")
	if err != nil {
		return
	}
	tk := tokenOf(c)
	product, filter := c.QueryParams()["product_id"]
	if filter && !tk.allows(product[0]) {
		err = apiErr(http.StatusForbidden, CodeForbidden, "this token may not read that product")
		return
	}
	now = s.deps.Now()
	u, ok, lerr := s.deps.Users.Lookup(c.Request().Context(), userID, now)
	if lerr != nil {
		err = unavailable(lerr)
		return
	}
	refs = make([]index.SessionRef, 0, len(u.Sessions))
	if ok {
		for _, r := range u.Sessions {
			if (filter && r.ProductID != product[0]) || !tk.allows(r.ProductID) {
				continue
			}
			refs = append(refs, r)
		}
	}
	email = viewEmail(u, refs)
	hit := len(refs) > 0
	s.observe(func(o Observer) { o.Lookup(userID, hit, now) })
	return
}

// viewEmail is the email of the visible products: the email of the product
// of the newest visible ref that has one, nil when none does. Products
// keep their own emails (a product's deliveries never change another's),
// so merging several products shows the most recently active one's.
func viewEmail(u index.User, visible []index.SessionRef) *string {
	for _, r := range visible {
		if e := u.EmailFor(r.ProductID); e != "" {
			return &e
		}
	}
	return nil
}

func (s *Server) handleUser(c echo.Context) error {
	userID, email, refs, _, err := s.userView(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, UserResponse{UserID: userID, Email: email, Sessions: refs})
}

// activityParams reads max_actions and lookback_seconds (both optional,
// positive integers).
func activityParams(c echo.Context) (maxActions int, lookback time.Duration, err error) {
	if v := c.QueryParam("max_actions"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > 100000 {
			return 0, 0, apiErr(http.StatusBadRequest, CodeInvalidParameter, "max_actions must be an integer from 1 to 100000")
		}
		maxActions = n
	}
	if v := c.QueryParam("lookback_seconds"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > 31536000 {
			return 0, 0, apiErr(http.StatusBadRequest, CodeInvalidParameter, "lookback_seconds must be an integer from 1 to 31536000")
		}
		lookback = time.Duration(n) * time.Second
	}
	return maxActions, lookback, nil
}

// handleUserActivity answers with the SDK's UserSessionIndex.get_user_activity
// text: one block per recent session (newest first) that has activity.
// lookback_seconds narrows both the sessions and the actions to that window.
func (s *Server) handleUserActivity(c echo.Context) error {
	maxActions, lookback, err := activityParams(c)
	if err != nil {
		return err
	}
	userID, email, refs, now, err := s.userView(c)
	if err != nil {
		return err
	}
	resp := UserActivityResponse{UserID: userID, Email: email, Sessions: make([]SessionActivity, 0, len(refs))}
	blocks := make([]string, 0, len(refs))
	cutoff := normalize.UnixSeconds(now.Add(-lookback))
	for _, ref := range refs {
		if lookback > 0 && ref.LastSeenAt < cutoff {
			continue
		}
		sess, ok, err := s.deps.Activity.Get(c.Request().Context(), index.SessionKey{ProductID: ref.ProductID, SessionID: ref.SessionID})
		if err != nil {
			return unavailable(err)
		}
		var kept []index.StoredAction
		var summary string
		if ok {
			kept = index.SelectActions(sess.Actions, now, lookback, maxActions)
			summary = sess.Summary
		}
		if text := index.SessionText(summary, kept); text != "" {
			blocks = append(blocks, index.UserBlock(ref.SessionID, ref.ProductID, text))
		}
		resp.Sessions = append(resp.Sessions, SessionActivity{SessionRef: ref, Actions: slim(kept)})
	}
	resp.Activity = index.JoinBlocks(blocks)
	return c.JSON(http.StatusOK, resp)
}

func slim(as []index.StoredAction) []normalize.SlimAction {
	out := make([]normalize.SlimAction, len(as))
	for i := range as {
		out[i] = as[i].SlimAction
	}
	return out
}

// handleForgetUser drops a user's session refs and email. Forgetting is
// global, so it needs a token allowed for every product.
func (s *Server) handleForgetUser(c echo.Context) error {
	userID, err := pathID(c, "user_id")
	if err != nil {
		return err
	}
	if !tokenOf(c).all {
		return apiErr(http.StatusForbidden, CodeForbidden, "forgetting a user needs a token allowed for all products (\"*\")")
	}
	if err := s.EraseUser(c.Request().Context(), userID); err != nil {
		return unavailable(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// handleSession answers the session-scoped path, which works without any
// user id. product_id is required unless the token is limited to exactly one
// product.
func (s *Server) handleSession(c echo.Context) error {
	sessionID, err := pathID(c, "session_id")
	if err != nil {
		return err
	}
	maxActions, lookback, err := activityParams(c)
	if err != nil {
		return err
	}
	tk := tokenOf(c)
	product, given := c.QueryParams()["product_id"]
	var productID string
	switch {
	case given:
		productID = strings.TrimSpace(product[0])
	case !tk.all && len(tk.products) == 1:
		for p := range tk.products {
			productID = p
		}
	default:
		return apiErr(http.StatusBadRequest, CodeInvalidParameter, "product_id is required")
	}
	if !tk.allows(productID) {
		return apiErr(http.StatusForbidden, CodeForbidden, "this token may not read that product")
	}
	now := s.deps.Now()
	sess, ok, err := s.deps.Activity.Get(c.Request().Context(), index.SessionKey{ProductID: productID, SessionID: sessionID})
	if err != nil {
		return unavailable(err)
	}
	if !ok {
		return apiErr(http.StatusNotFound, CodeNotFound, "no activity is stored for this session and product")
	}
	kept := index.SelectActions(sess.Actions, now, lookback, maxActions)
	return c.JSON(http.StatusOK, SessionResponse{
		SessionID: sess.SessionID, ProductID: sess.ProductID,
		UserID: normalize.OptStr(sess.UserID), Email: normalize.OptStr(sess.Email),
		Activity: index.SessionText(sess.Summary, kept), Actions: slim(kept),
	})
}

// handleLivez answers while the process runs, with the build running.
func (s *Server) handleLivez(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok", "version": s.build.Version, "revision": s.build.Revision})
}

// handleReadyz fails while draining or while the stores cannot serve.
func (s *Server) handleReadyz(c echo.Context) error {
	if s.draining.Load() {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "draining"})
	}
	if err := s.deps.Ready(c.Request().Context()); err != nil {
		c.Set(ctxInternalErr, err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "store unavailable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// handleRejected lists recent rejected deliveries, newest first (?limit=, default 50).
// Rejections carry no product, so only tokens allowed for every product see them.
func (s *Server) handleRejected(c echo.Context) error {
	if !tokenOf(c).all {
		return apiErr(http.StatusForbidden, CodeForbidden, "rejected deliveries are visible to tokens allowed for all products (\"*\")")
	}
	limit := 50
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return apiErr(http.StatusBadRequest, CodeInvalidParameter, "limit must be an integer from 1 to 10000")
		}
		limit = n
	}
	r, err := s.deps.Rejected.Recent(c.Request().Context(), limit)
	if err != nil {
		return unavailable(err)
	}
	out := s.limits.rejected.recent(c.Request().Context(), r, limit)
	return c.JSON(http.StatusOK, map[string]any{"rejected": out})
}

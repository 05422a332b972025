package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/replayhook/replayhook/forward"
)

// Forwards is push forwarding as the API sees it (forward.Forwarder
// implements it): the targets' queues and health, and their dead letters.
type Forwards interface {
	Status(ctx context.Context) ([]forward.TargetStatus, error)
	Has(target string) bool
	Dead(ctx context.Context, target, cursor string, limit int) ([]forward.DeadLetter, string, error)
	Redeliver(ctx context.Context, target string, ids []string) (int, error)
	DropDead(ctx context.Context, target string) (int, error)
}

// noForwards is the Forwards of a server without forwarding targets.
type noForwards struct{}

func (noForwards) Status(context.Context) ([]forward.TargetStatus, error) { return nil, nil }
func (noForwards) Has(string) bool                                        { return false }
func (noForwards) Dead(context.Context, string, string, int) ([]forward.DeadLetter, string, error) {
	return nil, "", forward.ErrUnknownTarget
}
func (noForwards) Redeliver(context.Context, string, []string) (int, error) {
	return 0, forward.ErrUnknownTarget
}
func (noForwards) DropDead(context.Context, string) (int, error) { return 0, forward.ErrUnknownTarget }

// maxRedeliverBody bounds POST .../dead/redeliver's body.
const maxRedeliverBody = 256 << 10

// forwardsAdmin refuses tokens not allowed for every product: targets and
// dead letters span products.
func forwardsAdmin(c echo.Context) error {
	if !tokenOf(c).all {
		return apiErr(http.StatusForbidden, CodeForbidden, "forwarding is visible to tokens allowed for all products (\"*\")")
	}
	return nil
}

// forwardTarget is the {target} path parameter, 404 when not configured.
func (s *Server) forwardTarget(c echo.Context) (string, error) {
	if err := forwardsAdmin(c); err != nil {
		return "", err
	}
	name, err := pathID(c, "target")
	if err != nil {
		return "", err
	}
	if !s.deps.Forwards.Has(name) {
		return "", apiErr(http.StatusNotFound, CodeNotFound, "no forwarding target of that name")
	}
	return name, nil
}

// forwardErr maps a forwarding error to its answer.
func forwardErr(err error) error {
	switch {
	case errors.Is(err, forward.ErrUnknownTarget):
		return apiErr(http.StatusNotFound, CodeNotFound, "no forwarding target of that name")
	case errors.Is(err, forward.ErrBadCursor):
		return apiErr(http.StatusBadRequest, CodeInvalidParameter, "cursor must be a next_cursor this endpoint returned")
	default:
		return unavailable(err)
	}
}

// handleForwards lists the targets: queued, in flight, oldest age, dead
// letters, last success and failure.
func (s *Server) handleForwards(c echo.Context) error {
	if err := forwardsAdmin(c); err != nil {
		return err
	}
	ts, err := s.deps.Forwards.Status(c.Request().Context())
	if err != nil {
		return forwardErr(err)
	}
	if ts == nil {
		ts = []forward.TargetStatus{}
	}
	return c.JSON(http.StatusOK, map[string]any{"targets": ts})
}

// handleForwardDead pages a target's dead letters, oldest first
// (?limit=, default 50; ?cursor= from the previous page's next_cursor).
func (s *Server) handleForwardDead(c echo.Context) error {
	name, err := s.forwardTarget(c)
	if err != nil {
		return err
	}
	limit := 50
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return apiErr(http.StatusBadRequest, CodeInvalidParameter, "limit must be an integer from 1 to 1000")
		}
		limit = n
	}
	cursor := c.QueryParam("cursor")
	if len(cursor) > 64 {
		return apiErr(http.StatusBadRequest, CodeInvalidParameter, "cursor must be a next_cursor this endpoint returned")
	}
	page, next, err := s.deps.Forwards.Dead(c.Request().Context(), name, cursor, limit)
	if err != nil {
		return forwardErr(err)
	}
	if page == nil {
		page = []forward.DeadLetter{}
	}
	var nextCursor *string
	if next != "" {
		nextCursor = &next
	}
	return c.JSON(http.StatusOK, map[string]any{"dead_letters": page, "next_cursor": nextCursor})
}

// handleForwardRedeliver queues dead letters again: those of {"ids": [...]},
// or all of them with no body, {} or an empty list.
func (s *Server) handleForwardRedeliver(c echo.Context) error {
	name, err := s.forwardTarget(c)
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(io.LimitReader(c.Request().Body, maxRedeliverBody+1))
	if err != nil {
		return apiErr(http.StatusBadRequest, CodeMalformedJSON, "the body could not be read")
	}
	if len(raw) > maxRedeliverBody {
		return apiErr(http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "the body is too large")
	}
	var req struct {
		IDs []string `json:"ids"`
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &req); err != nil {
			return apiErr(http.StatusBadRequest, CodeMalformedJSON, "the body must be {\"ids\": [\"<delivery id>\", ...]}")
		}
	}
	if len(req.IDs) > 10000 {
		return apiErr(http.StatusBadRequest, CodeInvalidParameter, "at most 10000 ids at once")
	}
	for _, id := range req.IDs {
		if id == "" || len(id) > 64 {
			return apiErr(http.StatusBadRequest, CodeInvalidParameter, "each id must be a delivery id (1 to 64 bytes)")
		}
	}
	n, err := s.deps.Forwards.Redeliver(c.Request().Context(), name, req.IDs)
	if err != nil {
		return forwardErr(err)
	}
	return c.JSON(http.StatusOK, map[string]int{"redelivered": n})
}

// handleForwardDropDead forgets a target's dead letters.
func (s *Server) handleForwardDropDead(c echo.Context) error {
	name, err := s.forwardTarget(c)
	if err != nil {
		return err
	}
	n, err := s.deps.Forwards.DropDead(c.Request().Context(), name)
	if err != nil {
		return forwardErr(err)
	}
	return c.JSON(http.StatusOK, map[string]int{"dropped": n})
}

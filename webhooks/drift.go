package webhooks

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/replayhook/replayhook/drift"
)

// DriftTracker records identity drift and reports it: drift.Memory, or
// redisdrift.Tracker for replicas sharing Redis; drift.Disabled when the
// server tracks none. The server observes with it too, so it sees every
// delivery, payload and lookup.
type DriftTracker interface {
	Observer
	// ReportErr is the current window's report at now, each list cut to
	// limit entries (0 = all). products is the reader's scope: nil for a
	// token allowed every product (lookup misses included), else a
	// predicate (only rows and conflicts of allowed products; no lookup
	// misses, which carry no product). An error wrapping
	// index.ErrUnavailable means the shared store cannot answer (503);
	// drift.ErrDisabled that the server tracks no drift (404).
	ReportErr(ctx context.Context, now time.Time, limit int, products func(string) bool) (drift.Report, error)
	// ResetErr starts a fresh window at now (for every replica sharing the
	// store), with the same errors as ReportErr.
	ResetErr(ctx context.Context, now time.Time) error
	// Forget erases a user id from what the tracker remembers (see
	// Server.EraseUser).
	Forget(ctx context.Context, userID string) error
	// Totals are this process's lifetime counts, never reset (for
	// Prometheus counters, which are summed across replicas).
	Totals() drift.Totals
}

var (
	_ DriftTracker = (*drift.Memory)(nil)
	_ DriftTracker = drift.Disabled{}
)

// Default and largest ?limit= of the drift report (entries per list).
const (
	driftDefaultLimit = 100
	driftMaxLimit     = 10000
)

// driftScope is the product predicate Report expects for the request's
// token: nil when it may read every product.
func driftScope(c echo.Context) func(string) bool {
	tk := tokenOf(c)
	if tk == nil || tk.all {
		return nil
	}
	return tk.allows
}

// driftLimitParam reads ?limit= (1 to 10000), def when absent.
func driftLimitParam(c echo.Context, def int) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > driftMaxLimit {
		return 0, apiErr(http.StatusBadRequest, CodeInvalidParameter, "limit must be an integer from 1 to 10000")
	}
	return n, nil
}

// driftErr is the answer to a tracker's error: 404 when the server tracks
// no drift, else 503.
func driftErr(err error) error {
	if errors.Is(err, drift.ErrDisabled) {
		return apiErr(http.StatusNotFound, CodeNotFound, drift.ErrDisabled.Error())
	}
	return unavailable(err)
}

// handleDriftJSON is GET /v1/drift: the identity-drift report of the
// current window, scoped to the token's products, each list sorted by
// impact and cut to ?limit= entries (default 100).
func (s *Server) handleDriftJSON(c echo.Context) error {
	limit, err := driftLimitParam(c, driftDefaultLimit)
	if err != nil {
		return err
	}
	rep, err := s.deps.Drift.ReportErr(c.Request().Context(), s.deps.Now(), limit, driftScope(c))
	if err != nil {
		return driftErr(err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, rep)
}

// handleDriftReset is DELETE /v1/drift: a fresh window. The window is
// global, so it needs a token allowed for every product.
func (s *Server) handleDriftReset(c echo.Context) error {
	if tk := tokenOf(c); tk == nil || !tk.all {
		return apiErr(http.StatusForbidden, CodeForbidden, "resetting the drift report needs a token allowed for all products (\"*\")")
	}
	if err := s.deps.Drift.ResetErr(c.Request().Context(), s.deps.Now()); err != nil {
		return driftErr(err)
	}
	return c.NoContent(http.StatusNoContent)
}

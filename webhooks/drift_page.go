package webhooks

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/replayhook/replayhook/drift/driftpage"
)

// driftPageRows is how many rows each section shows unless ?limit= says
// otherwise.
const driftPageRows = 20

// driftPageMisses is how many lookup misses (and entries of every other
// list) the page reads from the report to build its verdict and sections.
const driftPageMisses = 1000

// driftPageRejections is how many recent rejected deliveries the page lists.
const driftPageRejections = 10

// handleDriftPage is GET /drift: the drift report as a page a person can act
// on (package driftpage builds it). Same scope as GET /v1/drift. Emails are
// masked (d***@example.com) unless ?show_emails=1: masking guards screens and
// screenshots, not access, since the same token reads them unmasked from
// /v1/drift.
func (s *Server) handleDriftPage(c echo.Context) error {
	limit, err := driftLimitParam(c, driftPageRows)
	if err != nil {
		return err
	}
	ctx, now, scope := c.Request().Context(), s.deps.Now(), driftScope(c)
	// The verdict and the sections group misses by reason over the
	// driftPageMisses most frequent ones (all of them with the default
	// drift.max_lookup_misses).
	rep, err := s.deps.Drift.ReportErr(ctx, now, max(limit, driftPageMisses), scope)
	if err != nil {
		return driftErr(err)
	}
	in := driftpage.Input{
		Report: rep, Now: now, Limit: limit, All: scope == nil,
		ShowEmails: c.QueryParam("show_emails") == "1",
		Scope:      scopeLabel(tokenOf(c)),
	}
	// Rejections carry no product: only tokens allowed for every product
	// see them (as on GET /v1/deliveries/rejected).
	if in.All {
		if known, err := s.deps.Rejected.Recent(ctx, driftPageRejections); err == nil {
			// As on GET /v1/deliveries/rejected: the log merged with the
			// rejections to unknown source names, kept apart.
			for _, r := range s.limits.rejected.recent(ctx, known, driftPageRejections) {
				in.Rejections = append(in.Rejections, driftpage.Rejection{
					At: r.At, Source: r.Source, Code: r.Code, Reason: r.Reason, RequestID: r.RequestID,
				})
			}
		}
	}
	body, err := driftpage.Render(in)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", driftpage.CSP())
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	return c.HTMLBlob(http.StatusOK, body)
}

// scopeLabel names the products tk may read.
func scopeLabel(tk *token) string {
	if tk == nil || tk.all {
		return "all products"
	}
	ps := make([]string, 0, len(tk.products))
	for p := range tk.products {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return "products " + strings.Join(ps, ", ")
}

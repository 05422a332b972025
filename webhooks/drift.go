package webhooks

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// DriftTracker records identity drift and reports it. (Owned by the drift
// work, issue 4; this file is its entry point in the HTTP layer.)
type DriftTracker interface {
	Observer
}

func (s *Server) handleDriftJSON(c echo.Context) error {
	return apiErr(http.StatusNotImplemented, "not_implemented", "the drift report is being built")
}

func (s *Server) handleDriftReset(c echo.Context) error {
	return apiErr(http.StatusNotImplemented, "not_implemented", "the drift report is being built")
}

func (s *Server) handleDriftPage(c echo.Context) error {
	return apiErr(http.StatusNotImplemented, "not_implemented", "the drift report is being built")
}

package webhooks

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Metrics exposes Prometheus metrics. (Owned by the operability work, issue 6.)
type Metrics struct{}

func (s *Server) handleMetrics(c echo.Context) error {
	return apiErr(http.StatusNotImplemented, "not_implemented", "metrics are being built")
}

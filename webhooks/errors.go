package webhooks

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/replayhook/replayhook/normalize"
)

// APIError is an error with its public face: status, the contract's error
// code and a message safe to show. Handlers return it; HandleError writes it.
// Internal holds the cause for the log only.
type APIError struct {
	Status     int
	Code       string
	Message    string
	Fields     normalize.FieldErrors
	RetryAfter int // seconds; sets Retry-After when > 0
	Internal   error
}

func (e *APIError) Error() string {
	if e.Internal != nil {
		return e.Code + ": " + e.Message + ": " + e.Internal.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *APIError) Unwrap() error { return e.Internal }

// The API's error codes (docs/openapi.yaml lists them).
const (
	CodeUnknownSource    = "unknown_source"
	CodeInvalidSignature = "invalid_signature"
	CodeStaleTimestamp   = "stale_timestamp"
	CodePayloadTooLarge  = "payload_too_large"
	CodeMalformedJSON    = "malformed_json"
	CodeInvalidPayload   = "invalid_payload"
	CodeProductMismatch  = "product_mismatch"
	CodeUnavailable      = "unavailable"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeInvalidParameter = "invalid_parameter"
	CodeInternal         = "internal"
	// CodeBodyTooSlow (408): the body arrived slower than server.min_body_rate.
	CodeBodyTooSlow = "body_too_slow"
)

func apiErr(status int, code, msg string) *APIError {
	return &APIError{Status: status, Code: code, Message: msg}
}

type errorBody struct {
	Error   string                `json:"error"`
	Message string                `json:"message,omitempty"`
	Fields  normalize.FieldErrors `json:"fields,omitempty"`
}

// HandleError is Echo's central error handler: every error a handler or
// middleware returns becomes the contract's JSON error. Only *APIError
// messages reach the client; anything else is a 500 whose cause is logged,
// never shown.
func (s *Server) HandleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var ae *APIError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &he):
		ae = fromEchoError(he)
	default:
		ae = &APIError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error", Internal: err}
	}
	setOutcome(c, ae.Code, ae.Message)
	if ae.Internal != nil || ae.Status >= 500 {
		c.Set(ctxInternalErr, ae.Internal)
	}
	if ae.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
	}
	if ae.Status == http.StatusUnauthorized && ae.Code == CodeUnauthorized {
		c.Response().Header().Add("WWW-Authenticate", `Bearer realm="replayhook"`)
		c.Response().Header().Add("WWW-Authenticate", `Basic realm="replayhook", charset="UTF-8"`)
	}
	body := errorBody{Error: ae.Code, Message: ae.Message, Fields: ae.Fields}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(ae.Status)
		return
	}
	_ = c.JSON(ae.Status, body)
}

func fromEchoError(he *echo.HTTPError) *APIError {
	switch he.Code {
	case http.StatusNotFound:
		return apiErr(http.StatusNotFound, CodeNotFound, "no such route")
	case http.StatusMethodNotAllowed:
		return apiErr(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method not allowed on this route")
	case http.StatusRequestEntityTooLarge:
		return apiErr(he.Code, CodePayloadTooLarge, "request body too large")
	case http.StatusUnauthorized:
		return apiErr(he.Code, CodeUnauthorized, "missing or invalid credentials")
	case http.StatusServiceUnavailable:
		return &APIError{Status: he.Code, Code: CodeUnavailable, Message: "temporarily unavailable, retry later", RetryAfter: 1}
	}
	if he.Code >= 400 && he.Code < 500 {
		return &APIError{Status: he.Code, Code: "bad_request", Message: http.StatusText(he.Code), Internal: he.Internal}
	}
	return &APIError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error", Internal: he}
}

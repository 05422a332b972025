package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"
)

// Context keys set by handlers and read by the access log.
const (
	ctxRequestID   = "request_id"
	ctxOutcome     = "outcome"
	ctxReason      = "reason"
	ctxSource      = "source"
	ctxMissingUser = "missing_user_id"
	ctxInternalErr = "internal_error"
	ctxTokenName   = "token"
	ctxWarning     = "warning"
)

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-Id"

func setOutcome(c echo.Context, outcome, reason string) {
	c.Set(ctxOutcome, outcome)
	if reason != "" {
		c.Set(ctxReason, reason)
	}
}

// requestID accepts a sane incoming X-Request-Id (1–64 of [A-Za-z0-9._-])
// or makes one, and echoes it on the response.
func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(RequestIDHeader)
		if !saneID(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(ctxRequestID, id)
		c.Response().Header().Set(RequestIDHeader, id)
		return next(c)
	}
}

func saneID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if (ch < 'a' || ch > 'z') && (ch < 'A' || ch > 'Z') && (ch < '0' || ch > '9') && ch != '.' && ch != '_' && ch != '-' {
			return false
		}
	}
	return true
}

// accessLog writes exactly one structured line per request. Rejected
// deliveries and deliveries without a user id are logged at warning level
// with their source and reason; 5xx at error level with the internal cause.
// Bodies, secrets and raw paths (which hold user ids) are never logged: the
// route template is.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		req, res := c.Request(), c.Response()
		took := time.Since(start)
		s.deps.Metrics.ObserveRequest(req.Method, c.Path(), res.Status, took)
		if c.Path() == "/webhooks/:source" {
			s.deps.Metrics.ObserveIngest(c.Param("source"), took)
		}
		level := logrus.InfoLevel
		switch {
		case res.Status >= 500:
			level = logrus.ErrorLevel
		case c.Get(ctxSource) != nil && (res.Status >= 400 || c.Get(ctxMissingUser) != nil || c.Get(ctxWarning) != nil):
			level = logrus.WarnLevel
		}
		if s.deps.Log == nil || !s.deps.Log.IsLevelEnabled(level) {
			return nil
		}
		// A map from the pool: logrus copies it into the entry it formats,
		// so it is free again once Log returns.
		f := s.logFields.Get().(logrus.Fields)
		defer func() { clear(f); s.logFields.Put(f) }()
		f["method"], f["route"], f["status"] = req.Method, c.Path(), res.Status
		f["duration_ms"], f["bytes_in"], f["bytes_out"] = float64(took.Microseconds())/1000, req.ContentLength, res.Size
		f["request_id"], f["remote_ip"] = c.Get(ctxRequestID), c.RealIP()
		for _, k := range []string{ctxSource, ctxOutcome, ctxReason, ctxMissingUser, ctxTokenName, ctxWarning, ctxEventsSent} {
			if v := c.Get(k); v != nil {
				f[k] = v
			}
		}
		if ie, ok := c.Get(ctxInternalErr).(error); ok && ie != nil && res.Status >= 500 {
			f["error"] = ie.Error()
		}
		// The entry owns f (no WithFields copy); logrus copies it once more.
		(&logrus.Entry{Logger: s.deps.Log, Data: f}).Log(level, "request")
		return nil
	}
}

// recoverPanics turns a handler panic into a 500 (logged with its value)
// instead of a dropped connection. A panic is always a bug: the fuzz and
// hostile-input tests exist to keep this path cold.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if e, ok := r.(error); ok && errors.Is(e, http.ErrAbortHandler) {
					panic(r)
				}
				err = &APIError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error",
					Internal: fmt.Errorf("panic: %v", r)}
			}
		}()
		return next(c)
	}
}

// limitIngest is the first step of ingest admission (see admission.go):
// at most max_concurrent_ingests webhook requests in progress, at most
// max_ingests_per_ip of them from one client address and at most
// max_ingests_per_source for one source (unknown names share one count).
// Beyond any of them: 503 with Retry-After at once, never a queue. The body
// is read and a worker taken later, in admitDelivery.
func (s *Server) limitIngest(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		select {
		case s.ingestSem <- struct{}{}:
			defer func() { <-s.ingestSem }()
		default:
			return s.refuse(c, RefusedInProgress, "too many deliveries in progress, retry later")
		}
		ip := c.RealIP()
		if !s.limits.perIP.acquire(ip) {
			return s.refuse(c, RefusedClient, "too many deliveries in progress from this address, retry later")
		}
		defer s.limits.perIP.release(ip)
		source := c.Param("source")
		if _, ok := s.deps.Sources[source]; !ok {
			source = "" // every unknown name counts as one source
		}
		if !s.limits.perSource.acquire(source) {
			return s.refuse(c, RefusedSource, "too many deliveries in progress for this source, retry later")
		}
		defer s.limits.perSource.release(source)
		return next(c)
	}
}

// refuse answers a webhook request whose body will not be read: 503 with
// Retry-After, counted by reason, and the connection closed after the
// answer, so net/http neither waits to drain the body first (up to
// read_timeout for a slow sender) nor keeps the connection.
func (s *Server) refuse(c echo.Context, reason, msg string) error {
	s.deps.Metrics.RefuseIngest(reason)
	c.Response().Header().Set(echo.HeaderConnection, "close")
	return overloaded(msg)
}

// securityHeaders marks every answer as not to be cached (lookups carry
// user data) and not to be content-sniffed.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set(echo.HeaderCacheControl, "no-store")
		h.Set(echo.HeaderXContentTypeOptions, "nosniff")
		return next(c)
	}
}

// waitForWorker waits for a free worker for at most ingest_queue_timeout.
func (s *Server) waitForWorker(ctx context.Context) error {
	t := time.NewTimer(s.cfg.Server.IngestQueueTimeout)
	defer t.Stop()
	select {
	case s.workers <- struct{}{}:
		return nil
	case <-t.C:
		return &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
			Message: "deliveries are queued beyond " + s.cfg.Server.IngestQueueTimeout.String() + ", retry later", RetryAfter: 1}
	case <-ctx.Done():
		return &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
			Message: "request ended while queued", RetryAfter: 1, Internal: ctx.Err()}
	}
}

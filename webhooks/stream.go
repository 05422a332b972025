package webhooks

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/stream"
)

// ctxEventsSent is the access-log field of a stream's closing line.
const ctxEventsSent = "events_sent"

// subscribeTimeout bounds opening a stream (the backend's first round trip).
const subscribeTimeout = 5 * time.Second

// The SSE messages besides events. A heartbeat's empty data is skipped by
// EventSource and by the Autoplay SDK's client alike.
var (
	heartbeatMsg = []byte("event: heartbeat\ndata:\n\n")
	resetMsg     = `event: reset` + "\n" + `data: {"type":"reset","reason":"last_event_id_not_in_buffer","last_event_id":"`
)

// streams is the server's side of GET /stream/{product_id}.
type streams struct {
	st      *stream.Stream
	metrics *streamMetrics
	// named are the products a source is bound to: always streamable.
	named     map[string]bool
	heartbeat time.Duration
}

// NewMemoryStream is the single-replica stream with cfg's bounds.
func NewMemoryStream(cfg config.Stream, now func() time.Time) (*stream.Stream, *stream.Memory) {
	m := stream.NewMemory(stream.MemoryLimits{
		Events: cfg.ReplayEvents, Age: cfg.ReplayAge(), MaxBytes: cfg.ReplayMaxBytes, Products: cfg.MaxProducts,
	}, now)
	return NewStream(cfg, m, nil), m
}

// NewStream is a stream over b with cfg's subscriber bounds; follower
// errors (a backend that cannot be read) are logged to log when not nil.
func NewStream(cfg config.Stream, b stream.Backend, log *logrus.Logger) *stream.Stream {
	o := stream.Options{MaxSubscribers: cfg.MaxSubscribers, MaxPerOwner: cfg.MaxSubscribersPerToken, SendQueue: cfg.SendQueue}
	if log != nil {
		o.OnError = func(product string, err error) {
			log.WithError(err).WithField("product", product).Warn("stream: cannot read the replay buffer; retrying")
		}
	}
	return stream.New(b, o)
}

// newStreams builds the stream side; without d.Stream it makes a memory
// stream and feeds it from this server's ingest.
func newStreams(d *Deps) *streams {
	if d.Stream == nil {
		d.Stream, _ = NewMemoryStream(d.Config.Stream, d.Now)
		d.Outbound = append(d.Outbound, d.Stream)
	}
	named := map[string]bool{}
	for _, src := range d.Sources {
		if src.ProductID != "" {
			named[src.ProductID] = true
		}
	}
	return &streams{st: d.Stream, metrics: newStreamMetrics(d.Metrics, d.Stream), named: named, heartbeat: d.Config.Stream.Heartbeat}
}

// CloseStreams ends every open stream cleanly and refuses new ones (503):
// http.Server.Shutdown neither waits for nor ends long-lived responses, so
// HTTPServer registers it to run when the shutdown starts.
func (s *Server) CloseStreams() { s.streams.st.Close() }

// handleStream is GET /stream/{product_id}: the Server-Sent Events stream
// of every payload stored for the product, as the Autoplay SDK's
// ConnectorClient reads it. With Last-Event-ID (or ?last_event_id=) it
// first replays what the client missed, or sends one reset event when the
// id is no longer in the replay buffer.
func (s *Server) handleStream(c echo.Context) error {
	product, err := pathID(c, "product_id")
	if err != nil {
		return err
	}
	if !tokenOf(c).allows(product) {
		return apiErr(http.StatusForbidden, CodeForbidden, "this token may not read that product")
	}
	last, resumed, err := lastEventID(c.Request())
	if err != nil {
		return err
	}
	req := c.Request()
	ctx := req.Context()
	if !s.streams.named[product] {
		known, err := s.streams.st.Known(ctx, product)
		if err != nil {
			return unavailable(err)
		}
		if !known {
			return apiErr(http.StatusNotFound, CodeNotFound, "no source names this product and no stored delivery has carried it")
		}
	}
	sctx, cancel := context.WithTimeout(ctx, subscribeTimeout)
	sub, err := s.streams.st.Subscribe(sctx, product, tokenOf(c).name)
	cancel()
	switch {
	case errors.Is(err, stream.ErrTooMany):
		return &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "too many streams are open; retry later", RetryAfter: 5}
	case errors.Is(err, stream.ErrClosed):
		return &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the server is shutting down; reconnect", RetryAfter: 1}
	case err != nil:
		return unavailable(err)
	}
	defer sub.Close()
	var backlog []stream.Event
	reset := false
	if resumed {
		s.streams.metrics.resumes.Inc()
		evs, found, err := s.streams.st.Since(ctx, product, last)
		if err != nil {
			return unavailable(err)
		}
		backlog, reset = evs, !found
	}
	if s.deps.Log != nil {
		s.deps.Log.WithFields(logrus.Fields{
			"route": c.Path(), "product": product, "token": tokenOf(c).name, "request_id": c.Get(ctxRequestID),
			"remote_ip": c.RealIP(), "resumed": resumed, "reset": reset, "replayed": len(backlog),
		}).Info("stream opened")
	}
	sent, reason := s.serveStream(c, sub, last, backlog, reset)
	c.Set(ctxOutcome, "stream_closed")
	c.Set(ctxReason, reason)
	c.Set(ctxEventsSent, sent)
	if reason == string(stream.ReasonSlow) {
		s.streams.metrics.slow.Inc()
	}
	return nil
}

// lastEventID reads the id to resume after: the Last-Event-ID header (what
// EventSource sends when it reconnects), else ?last_event_id= (for clients
// that cannot set headers; the header wins, as a reconnecting EventSource
// keeps the first URL).
func lastEventID(r *http.Request) (stream.ID, bool, error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("last_event_id")
	}
	if v = strings.TrimSpace(v); v == "" {
		return stream.ID{}, false, nil
	}
	id, err := stream.ParseID(v)
	if err != nil {
		return stream.ID{}, false, apiErr(http.StatusBadRequest, CodeInvalidParameter,
			"Last-Event-ID must be an event id of this stream, <milliseconds>-<sequence>")
	}
	return id, true, nil
}

// serveStream writes the stream until the client leaves, the subscriber is
// ended (slow, shutdown) or a write fails. Each message is flushed at once.
// It returns the events written and why it ended.
func (s *Server) serveStream(c echo.Context, sub *stream.Subscriber, last stream.ID, backlog []stream.Event, reset bool) (sent int, reason string) {
	w := c.Response()
	h := w.Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	// The server's read timeout would end the request (its context) while
	// the stream is open, and its write timeout the response: the stream
	// has no read deadline and a write deadline per message instead, so a
	// client that stops reading is dropped after write_timeout.
	_ = rc.SetReadDeadline(time.Time{})
	writeTimeout := s.cfg.Server.WriteTimeout
	write := func(b []byte, flush bool) error {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write(b); err != nil {
			return err
		}
		if !flush {
			return nil
		}
		return rc.Flush()
	}
	// A subscriber ended (slow, shutdown) while a write is blocked on a
	// client that stopped reading: end that write now, not at its deadline.
	finished, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-sub.Done():
			_ = rc.SetWriteDeadline(time.Now())
		case <-finished:
		}
	}()
	defer func() {
		close(finished)
		<-watched
		// A stream ended by the server (shutdown) or the client ends with
		// the response's terminator, so the client sees a clean end and
		// reconnects; a slow one keeps its expired deadline.
		if reason == string(stream.ReasonShutdown) || reason == "client_gone" {
			_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		}
	}()
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return 0, writeFailed(sub)
	}
	m := s.streams.metrics
	buf := make([]byte, 0, 4096)
	// event writes one message; flush is false while more are already
	// queued, so that a burst goes out in one flush, each message still
	// sent as soon as the burst is written.
	event := func(ev stream.Event, flush bool) error {
		buf = append(append(append(append(append(buf[:0], "id: "...), ev.ID.String()...), "\ndata: "...), ev.Data...), "\n\n"...)
		if err := write(buf, flush); err != nil {
			return err
		}
		sent++
		m.sent.Inc()
		last = ev.ID
		return nil
	}
	if reset {
		m.resets.Inc()
		if err := write([]byte(resetMsg+last.String()+`","missed":null}`+"\n\n"), len(backlog) == 0); err != nil {
			return sent, writeFailed(sub)
		}
		last = stream.ID{} // continue live from here
	}
	for i, ev := range backlog {
		if err := event(ev, i == len(backlog)-1); err != nil {
			return sent, writeFailed(sub)
		}
	}
	var burst []time.Time // append times of the events written, not yet flushed
	hb := time.NewTicker(s.streams.heartbeat)
	defer hb.Stop()
	ctx := c.Request().Context()
	for {
		select {
		case ev := <-sub.Events():
			if last.Less(ev.ID) { // else already replayed from the buffer
				if err := event(ev, false); err != nil {
					return sent, writeFailed(sub)
				}
				burst = append(burst, ev.At)
			}
			if len(sub.Events()) > 0 || len(burst) == 0 {
				continue // the rest of the burst goes in the same flush
			}
			if err := rc.Flush(); err != nil {
				return sent, writeFailed(sub)
			}
			for _, at := range burst {
				m.lag.Observe(time.Since(at).Seconds())
			}
			burst = burst[:0]
		case <-hb.C:
			if err := write(heartbeatMsg, true); err != nil {
				return sent, writeFailed(sub)
			}
			m.heartbeats.Inc()
		case <-sub.Done():
			return sent, string(sub.Reason())
		case <-ctx.Done():
			return sent, "client_gone"
		}
	}
}

// compile-time guard: the stream is an Outbound.
var _ Outbound = (*stream.Stream)(nil)

// writeFailed is why a stream whose write failed ended: the subscriber's
// end when it had ended (a slow subscriber's blocked write is cut short),
// else the client is gone or stopped reading for write_timeout.
func writeFailed(sub *stream.Subscriber) string {
	select {
	case <-sub.Done():
		return string(sub.Reason())
	default:
		return "write_failed"
	}
}

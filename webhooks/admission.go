package webhooks

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/replayhook/replayhook/config"
)

// Ingest admission, in the order a webhook request meets it:
//
//  1. limitIngest (route middleware): a slot among max_concurrent_ingests,
//     then one of its client address's max_ingests_per_ip and one of its
//     source's max_ingests_per_source. Each is refused at once (503 +
//     Retry-After): nothing waits here.
//  2. admitDelivery (handler): a body slot among max_body_reads (503 at
//     once when none), then the body is read at min_body_rate or better
//     after body_read_grace (408 body_too_slow otherwise), then a worker
//     within ingest_queue_timeout. The body slot is given back once a
//     worker has the delivery.
//
// So a slow sender holds a body slot, never a worker, and only for
// body_read_grace plus what it sends at the minimum rate; and one address
// or one source name cannot take every body slot or worker.

// limits is the state of the abuse bounds besides the worker pool.
type limits struct {
	bodies    chan struct{} // bodies being read or waiting for a worker
	perIP     *keyedCaps    // ingests in progress per client address
	perSource *keyedCaps    // ingests in progress per source
	conns     *keyedCaps    // connections held per client address
	idle      *idleConns    // connections without a request in progress
	rejected  *rejectGate   // the rejected log's per-client rate
}

func newLimits(cfg *config.Config, now func() time.Time) limits {
	l := cfg.Server.Limits
	return limits{
		bodies:    make(chan struct{}, l.MaxBodyReads),
		perIP:     newKeyedCaps(l.MaxIngestsPerIP),
		perSource: newKeyedCaps(l.MaxIngestsPerSource),
		conns:     newKeyedCaps(l.MaxConnectionsPerIP),
		idle:      newIdleConns(),
		rejected:  newRejectGate(cfg.Rejected.MaxEntries, now),
	}
}

// keyedCaps counts the slots each key (a client address, a source) holds
// and refuses beyond max; max 0 means no cap. A key is forgotten when it
// holds nothing, so the map never holds more keys than there are requests
// in progress.
type keyedCaps struct {
	mu  sync.Mutex
	n   map[string]int
	max int
}

func newKeyedCaps(limit int) *keyedCaps { return &keyedCaps{n: map[string]int{}, max: limit} }

// acquire takes a slot for key, or reports false when key holds max.
func (k *keyedCaps) acquire(key string) bool {
	if k.max <= 0 {
		return true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.n[key] >= k.max {
		return false
	}
	k.n[key]++
	return true
}

// release gives back a slot acquire took.
func (k *keyedCaps) release(key string) {
	if k.max <= 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.n[key] <= 1 {
		delete(k.n, key)
		return
	}
	k.n[key]--
}

func overloaded(msg string) *APIError {
	return &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: msg, RetryAfter: 1}
}

// admitDelivery reads src's delivery body under a body slot and the
// minimum transfer rate, then waits for a worker. On success done gives the
// worker back; on failure the error is the answer (a bad body is also
// reported as a rejected delivery).
func (s *Server) admitDelivery(c echo.Context, src *Source) (body []byte, done func(), err error) {
	select {
	case s.limits.bodies <- struct{}{}:
	default:
		return nil, nil, s.refuse(c, RefusedBodyReads, "too many delivery bodies being read, retry later")
	}
	defer func() { <-s.limits.bodies }()
	body, err = s.readPaced(c)
	if err != nil {
		if codeOf(err) == CodeBodyTooSlow {
			s.deps.Metrics.RefuseIngest(RefusedSlowBody)
		}
		s.rejected(c, src, c.Request().ContentLength, err)
		return nil, nil, err
	}
	select {
	case s.workers <- struct{}{}:
	default:
		if err := s.waitForWorker(c.Request().Context()); err != nil {
			s.deps.Metrics.RefuseIngest(RefusedQueue)
			return nil, nil, err
		}
	}
	return body, func() { <-s.workers }, nil
}

// readPaced reads the request body within max_body_bytes (readBody) while
// a pacedReader holds the sender to min_body_rate after body_read_grace.
// Deadlines are set on the connection (http.ResponseController); where
// that is not supported (a test recorder) the body is read unpaced.
func (s *Server) readPaced(c echo.Context) ([]byte, error) {
	req, lim := c.Request(), s.cfg.Server.Limits
	start := time.Now() // the network's clock, not the configurable one
	p := &pacedReader{
		body: req.Body, rc: http.NewResponseController(c.Response()), start: start,
		grace: lim.BodyReadGrace, rate: float64(lim.MinBodyRate), want: req.ContentLength,
		limit: start.Add(s.cfg.Server.ReadTimeout),
	}
	paced := *req
	paced.Body = io.NopCloser(p)
	body, err := readBody(&paced, s.cfg.Server.MaxBodyBytes)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection cannot carry another request: close it after the answer.
		c.Response().Header().Set(echo.HeaderConnection, "close")
		return nil, &APIError{Status: http.StatusRequestTimeout, Code: CodeBodyTooSlow,
			Message: fmt.Sprintf("the body arrived slower than %d bytes/s after %s", lim.MinBodyRate, lim.BodyReadGrace), Internal: err}
	}
	if err == nil {
		// Back to the request's own read_timeout deadline while the delivery runs.
		_ = p.rc.SetReadDeadline(p.limit)
	}
	return body, err
}

// pacedReader sets, before each read, the connection deadline by which the
// next bytes must arrive: start + grace + bytes so far / rate, so the body
// must average rate bytes per second once grace has passed (never later
// than limit, the request's read_timeout). Once the announced length is
// read the deadline is limit, so the read that finds the end of the body
// never races a pacing deadline.
type pacedReader struct {
	body  io.Reader
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	rate  float64 // bytes per second
	want  int64   // Content-Length, or -1
	limit time.Time
	n     int64
}

func (p *pacedReader) Read(b []byte) (int, error) {
	d := p.limit
	if p.want < 0 || p.n < p.want {
		if paced := p.start.Add(p.grace + time.Duration(float64(p.n)/p.rate*float64(time.Second))); paced.Before(d) {
			d = paced
		}
	}
	_ = p.rc.SetReadDeadline(d) // http.ErrNotSupported: read unpaced
	n, err := p.body.Read(b)
	p.n += int64(n)
	return n, err
}

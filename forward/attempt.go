package forward

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// result is one attempt's outcome.
type result struct {
	ok, permanent, aborted bool
	status                 int
	// class is the metrics outcome: 2xx, 3xx, 4xx, 5xx, timeout, connection.
	class      string
	err        string
	retryAfter time.Duration
}

// attempt POSTs e once: the body as stored, its signature, the delivery id
// and attempt number, the static headers, and the secret as a bearer token
// only when the target asks for it.
func (f *Forwarder) attempt(ctx context.Context, t *target, e Entry, n int) result {
	actx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, t.URL, bytes.NewReader(e.Body))
	if err != nil {
		return result{permanent: true, class: "connection", err: "bad request: " + err.Error()}
	}
	for k, v := range t.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "replayhook-forward")
	req.Header.Set(SignatureHeader, Sign(t.Secret, e.Body))
	req.Header.Set(DeliveryHeader, e.ID)
	req.Header.Set(AttemptHeader, strconv.Itoa(n))
	if t.Bearer {
		req.Header.Set("Authorization", "Bearer "+t.Secret)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return result{aborted: true}
		}
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return result{class: "timeout", err: "no answer within " + t.Timeout.String()}
		}
		return result{class: "connection", err: errorText(err)}
	}
	// Read a little so the connection can be reused; never keep or log it.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return classify(resp, f.o.Now())
}

// errorText is a transport error without the URL (which may carry a
// token in its query).
func errorText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// classify maps an answer: 2xx done; 408, 429 and 5xx retried (honouring
// Retry-After); 3xx retried too (never followed: a redirect is a failure);
// any other 4xx is final.
func classify(resp *http.Response, now time.Time) result {
	s := resp.StatusCode
	r := result{status: s, class: strconv.Itoa(s/100) + "xx"}
	switch {
	case s >= 200 && s < 300:
		r.ok = true
		return r
	case s >= 300 && s < 400:
		r.err = "HTTP " + strconv.Itoa(s) + ": redirect not followed"
	default:
		r.err = "HTTP " + strconv.Itoa(s)
		if t := http.StatusText(s); t != "" {
			r.err += " " + t
		}
	}
	if s >= 400 && s < 500 && s != http.StatusRequestTimeout && s != http.StatusTooManyRequests {
		r.permanent = true
		return r
	}
	r.retryAfter = retryAfter(resp.Header.Get("Retry-After"), now)
	return r
}

// retryAfter parses Retry-After (seconds or an HTTP date), capped at an
// hour; 0 when absent or unparsable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = at.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

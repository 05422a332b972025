package forward

import (
	"context"
	"encoding/json"
	"net/url"
	"time"

	"github.com/replayhook/replayhook/normalize"
)

// TargetStatus is one target as GET /v1/forwards shows it. Last* are this
// replica's own observations.
type TargetStatus struct {
	Name          string     `json:"name"`
	URL           string     `json:"url"`
	Products      []string   `json:"products"`
	Concurrency   int        `json:"concurrency"`
	Queued        int64      `json:"queued"`
	InFlight      int64      `json:"in_flight"`
	OldestAgeSecs float64    `json:"oldest_age_seconds"`
	DeadLetters   int64      `json:"dead_letters"`
	LastSuccessAt *time.Time `json:"last_success_at"`
	LastFailureAt *time.Time `json:"last_failure_at"`
	LastStatus    int        `json:"last_status,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
}

// Status lists every target with its queue and health, in configuration order.
func (f *Forwarder) Status(ctx context.Context) ([]TargetStatus, error) {
	out := make([]TargetStatus, 0, len(f.targets))
	now := f.o.Now()
	for _, t := range f.targets {
		s, err := f.store.Stats(ctx, t.Name)
		if err != nil {
			return nil, err
		}
		ts := TargetStatus{
			Name: t.Name, URL: redactURL(t.URL), Products: append([]string(nil), t.Products...), Concurrency: t.Concurrency,
			Queued: s.Queued, InFlight: s.InFlight, DeadLetters: s.Dead,
		}
		if !s.Oldest.IsZero() {
			ts.OldestAgeSecs = max(now.Sub(s.Oldest).Seconds(), 0)
		}
		t.mu.Lock()
		if !t.lastSuccess.IsZero() {
			at := t.lastSuccess.UTC()
			ts.LastSuccessAt = &at
		}
		if !t.lastFailure.IsZero() {
			at := t.lastFailure.UTC()
			ts.LastFailureAt = &at
			ts.LastStatus, ts.LastError = t.lastStatus, t.lastError
		}
		t.mu.Unlock()
		out = append(out, ts)
	}
	return out, nil
}

// redactURL drops the query (it may carry a token).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}

// Has reports whether a target of that name is configured.
func (f *Forwarder) Has(name string) bool { return f.byName[name] != nil }

// Dead pages a target's dead letters.
func (f *Forwarder) Dead(ctx context.Context, name, cursor string, limit int) ([]DeadLetter, string, error) {
	if !f.Has(name) {
		return nil, "", ErrUnknownTarget
	}
	return f.store.Dead(ctx, name, cursor, limit)
}

// Redeliver queues a target's dead letters again (those ids, or all).
func (f *Forwarder) Redeliver(ctx context.Context, name string, ids []string) (int, error) {
	if !f.Has(name) {
		return 0, ErrUnknownTarget
	}
	return f.store.Redeliver(ctx, name, ids, f.o.Now())
}

// DropDead forgets a target's dead letters.
func (f *Forwarder) DropDead(ctx context.Context, name string) (int, error) {
	if !f.Has(name) {
		return 0, ErrUnknownTarget
	}
	return f.store.DropDead(ctx, name)
}

// TestResult is what forward-test prints: one signed sample's answer.
type TestResult struct {
	Status   int
	Error    string
	Delivery string
	Duration time.Duration
}

// SendOnce POSTs one payload to the named target exactly as a forward
// (signed, with a fresh delivery id), without queueing or retrying.
func (f *Forwarder) SendOnce(ctx context.Context, name string, p normalize.ActionsPayload) (TestResult, error) {
	t := f.byName[name]
	if t == nil {
		return TestResult{}, ErrUnknownTarget
	}
	p.Type = "actions"
	body, err := json.Marshal(&p)
	if err != nil {
		return TestResult{}, err
	}
	e := Entry{ID: newDeliveryID(), Target: name, Body: body}
	start := f.o.Now()
	r := f.attempt(ctx, t, e, 1)
	if r.aborted {
		return TestResult{}, ctx.Err()
	}
	return TestResult{Status: r.status, Error: r.err, Delivery: e.ID, Duration: f.o.Now().Sub(start)}, nil
}

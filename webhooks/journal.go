package webhooks

import (
	"context"
	"errors"
	"net/http"

	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/journal"
)

// Replay stores one journal entry again at start (after the snapshot is
// restored), as Ingest stored it: same payloads, summaries, identities,
// links and time, and its dedupe key confirmed (a deletion request's
// erasures are entries of their own, after it). An entry whose key the restored
// dedupe store already holds confirmed is in the snapshot and is skipped,
// so replaying twice changes nothing. Outbound (the stream's buffer, the
// forwarding outbox) gets the replayed payloads again: their snapshot parts
// are older than the journal's tail, and a payload published twice is
// better than an acknowledged one never streamed or forwarded. Observers
// are not told: the delivery was reported when it arrived.
func (s *Server) Replay(ctx context.Context, e *journal.Entry) error {
	if e.EraseUserID != "" {
		return s.EraseUser(context.WithValue(ctx, replayingKey{}, true), e.EraseUserID)
	}
	claim, err := s.deps.Dedupe.Claim(ctx, e.Source, e.Key, e.At)
	if err != nil {
		return err
	}
	if claim == index.Seen {
		return nil
	}
	_, err = s.store(ctx, &Source{Name: e.Source, ProductID: e.ProductID}, e.Payloads, e.Summaries, e.Identities, e.At)
	if err == nil {
		err = s.link(ctx, e.Links, e.At)
	}
	if err == nil {
		err = s.publish(ctx, e.Payloads, e.At)
	}
	if err != nil {
		return errors.Join(err, s.deps.Dedupe.Release(ctx, e.Source, e.Key))
	}
	return s.deps.Dedupe.Confirm(ctx, e.Source, e.Key, e.At)
}

// notAdmitted answers a delivery the journal does not take now: the state
// is still being restored, or the log cannot be written. The vendor
// retries; nothing is acknowledged that is not on disk.
func notAdmitted(err error) error {
	msg := "the server cannot write its journal; retry later"
	if errors.Is(err, journal.ErrStarting) {
		msg = "the server is starting (restoring its state); retry later"
	}
	return &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
		Message: msg, RetryAfter: 5, Internal: err}
}

// replayingKey marks the context of an erasure replayed from the journal,
// which must not be journaled again.
type replayingKey struct{}

// journalErase writes an erasure to the journal before it is carried out
// (EraseUser calls it first), so that replaying deliveries journaled
// before it never brings the user back.
func (s *Server) journalErase(ctx context.Context, userID string) error {
	if ctx.Value(replayingKey{}) != nil {
		return nil
	}
	applied, err := s.deps.Journal.Append(ctx, &journal.Entry{EraseUserID: userID, At: s.deps.Now()})
	if err != nil {
		return notAdmitted(err)
	}
	applied()
	return nil
}

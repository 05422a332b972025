package webhooks

import (
	"context"

	"github.com/replayhook/replayhook/index"
)

// EraseUser erases a user: DELETE /v1/users/{id} and a vendor's deletion
// request both come here, so that "erased" means the same thing whichever
// asked. It is idempotent: erasing an unknown user is not an error.
//
// Erased, in this order:
//  1. the user's refs and their email in every product (the users index);
//  2. their activity (index.UserErasure): every session their deliveries
//     wrote to is deleted whole when it is theirs, and elsewhere the
//     actions carrying their id or one of their emails are removed. The
//     memory store walks every session; Redis looks at the sessions it
//     recorded for the user and at their refs, so sessions beyond the
//     per-user cap or the lookback are found too;
//  3. their aliases (anonymous ids linked to them), in every product;
//  4. the identity-drift tables (eraseDrift);
//  5. the SSE stream's replay buffer (eraseStream): the events whose
//     payload carries their id or one of their emails, in every product,
//     so that no Last-Event-ID replays them. Events already sent to
//     subscribers, and forwarding already done, stay sent.
//
// On a failure the error is returned (the API answers 503) and the caller
// retries: steps already done are no-ops the second time. The emails the
// users index held are used by the first attempt only; a retry erases
// activity by the user id (and the sessions' own records).
func (s *Server) EraseUser(ctx context.Context, userID string) error {
	if err := s.journalErase(ctx, userID); err != nil {
		return err
	}
	u, _, err := s.deps.Users.Forget(ctx, userID)
	if err != nil {
		return err
	}
	er := index.UserErasure{UserID: userID}
	for _, e := range u.Emails {
		er.Emails = append(er.Emails, e.Email)
	}
	for _, r := range u.Sessions {
		er.Sessions = append(er.Sessions, index.SessionKey{ProductID: r.ProductID, SessionID: r.SessionID})
	}
	if _, err := s.deps.Activity.EraseUser(ctx, er); err != nil {
		return err
	}
	if _, err := s.deps.Aliases.ForgetUser(ctx, userID); err != nil {
		return err
	}
	if err := s.eraseDrift(ctx, er); err != nil {
		return err
	}
	return s.eraseStream(ctx, er)
}

// eraseStream is EraseUser's stream step: the replay buffer drops the
// user's events (stream.Stream.Erase). A server without a stream has none.
func (s *Server) eraseStream(ctx context.Context, er index.UserErasure) error {
	if s.streams == nil || s.streams.st == nil {
		return nil
	}
	_, err := s.streams.st.Erase(ctx, er.UserID, er.Emails)
	return err
}

// eraseDrift is EraseUser's drift step: the tracker forgets the user id
// (its lookup misses, its refs in the known ids, emails, anonymous ids and
// sessions, and the conflicts it made; see drift.Memory.Forget).
func (s *Server) eraseDrift(ctx context.Context, er index.UserErasure) error {
	// The user id, then each email: a chat layer that looked the user up
	// by email left a lookup miss named by it.
	for _, id := range append([]string{er.UserID}, er.Emails...) {
		if err := s.deps.Drift.Forget(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

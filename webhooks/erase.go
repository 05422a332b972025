package webhooks

import "context"

// EraseUser erases a user: DELETE /v1/users/{id} and a vendor's deletion
// request both come here, so that "erased" means the same thing whichever
// asked. It is idempotent: erasing an unknown user is not an error.
func (s *Server) EraseUser(ctx context.Context, userID string) error {
	if err := s.journalErase(ctx, userID); err != nil {
		return err
	}
	_, err := s.deps.Users.Forget(ctx, userID)
	return err
}

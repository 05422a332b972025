package drift

import (
	"context"
	"errors"
	"time"

	"github.com/replayhook/replayhook/normalize"
)

// ErrDisabled is what Disabled answers for a report or a reset.
var ErrDisabled = errors.New("identity-drift tracking is not enabled on this server")

// Disabled is the tracker of a server that does not track drift: it
// observes nothing and answers every report and reset with ErrDisabled, so
// that callers hold a tracker, never nil.
type Disabled struct{}

// Delivery does nothing.
func (Disabled) Delivery(string, string, string) {}

// Payload does nothing.
func (Disabled) Payload(string, string, *normalize.ActionsPayload, bool, time.Time) {}

// Lookup does nothing.
func (Disabled) Lookup(string, bool, time.Time) {}

// ReportErr answers ErrDisabled.
func (Disabled) ReportErr(context.Context, time.Time, int, func(string) bool) (Report, error) {
	return Report{}, ErrDisabled
}

// ResetErr answers ErrDisabled.
func (Disabled) ResetErr(context.Context, time.Time) error { return ErrDisabled }

// Forget has nothing to erase.
func (Disabled) Forget(context.Context, string) error { return nil }

// Totals are zero.
func (Disabled) Totals() Totals { return Totals{} }

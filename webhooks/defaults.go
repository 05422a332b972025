package webhooks

import (
	"context"
	"io"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/replayhook/replayhook/drift"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/journal"
	"github.com/replayhook/replayhook/normalize"
)

// withDefaults fills what d leaves out with what does nothing, so that the
// handlers call every dependency without checking it for nil: the clock is
// time.Now, drift is not tracked, nothing is forwarded, aliases resolve nothing, rejections are
// not kept, the stores are always ready and nothing is logged.
func withDefaults(d Deps) Deps {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Validator == nil {
		d.Validator = normalize.NewValidator()
	}
	if d.Drift == nil {
		d.Drift = drift.Disabled{}
	}
	if d.Forwards == nil {
		d.Forwards = noForwards{}
	}
	if d.Journal == nil {
		d.Journal = journal.Nop{}
	}
	if d.Aliases == nil {
		d.Aliases = noAliases{}
	}
	if d.Rejected == nil {
		d.Rejected = noRejected{}
	}
	if d.Ready == nil {
		d.Ready = func(context.Context) error { return nil }
	}
	if d.Log == nil {
		d.Log = logrus.New()
		d.Log.SetOutput(io.Discard)
	}
	return d
}

// observers are the server's observers: drift, metrics (when the server
// has them), then the extra ones.
func observers(d Deps) []Observer {
	out := []Observer{d.Drift}
	if d.Metrics != nil {
		out = append(out, d.Metrics)
	}
	return append(out, d.Observers...)
}

// noAliases remembers nothing and resolves nothing.
type noAliases struct{}

func (noAliases) Remember(context.Context, string, normalize.Identity, time.Time) error { return nil }
func (noAliases) Resolve(context.Context, string, string, time.Time) (normalize.Identity, bool, error) {
	return normalize.Identity{}, false, nil
}
func (noAliases) ForgetUser(context.Context, string) (int, error) { return 0, nil }
func (noAliases) Len() int                                        { return 0 }

// noRejected keeps no rejected delivery.
type noRejected struct{}

func (noRejected) Add(context.Context, index.Rejection) error { return nil }
func (noRejected) Recent(context.Context, int) ([]index.Rejection, error) {
	return []index.Rejection{}, nil
}

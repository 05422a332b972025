package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/forward"
	"github.com/replayhook/replayhook/index/redisstore"
	"github.com/replayhook/replayhook/snapshot"
	"github.com/replayhook/replayhook/webhooks"
)

// newForwarder builds push forwarding from cfg.Forward on the backend's
// outbox: Memory (returned as a snapshot part) or the shared Redis streams.
// It returns nil without targets.
func newForwarder(cfg *config.Config, rs *redisstore.Store, metrics *webhooks.Metrics, log *logrus.Logger, now func() time.Time) (*forward.Forwarder, []snapshot.Part, error) {
	if len(cfg.Forward) == 0 {
		return nil, nil, nil
	}
	limits := forward.Targets(cfg.Forward)
	var (
		store forward.Store
		parts []snapshot.Part
	)
	if rs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), RedisStartTimeout)
		defer cancel()
		r, err := forward.NewRedis(ctx, rs.Client(), cfg.Store.Redis.KeyPrefix, consumerName(), 0, limits)
		if err != nil {
			return nil, nil, err
		}
		store = r
	} else {
		m := forward.NewMemory(limits)
		store, parts = m, []snapshot.Part{m.SnapshotPart()}
	}
	var fm *forward.Metrics
	if metrics != nil {
		fm = forward.NewMetrics(metrics.Registry())
	}
	return forward.New(cfg.Forward, store, forward.Options{Now: now, Log: log, Metrics: fm}), parts, nil
}

// consumerName names this replica in the forwarding consumer groups:
// host, pid and a random part (a restarted replica is a new consumer; what
// the old one left pending is claimed like any dead replica's).
func consumerName() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// wireForward makes the forwarder an Outbound of ingest and the forwarding
// API's backend.
func (a *App) wireForward(d *webhooks.Deps) {
	if a.Forwarder == nil {
		return
	}
	d.Outbound = append(d.Outbound, a.Forwarder)
	d.Forwards = a.Forwarder
}

// StartForwarding runs the delivery workers (after the snapshot is
// restored, so restored payloads go first); stop waits for them, leaving
// any payload not yet delivered queued for the final snapshot or for
// another replica. Without targets it does nothing.
func (a *App) StartForwarding() (stop func()) {
	if a.Forwarder == nil {
		return func() {}
	}
	return a.Forwarder.Start()
}

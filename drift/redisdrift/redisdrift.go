// Package redisdrift keeps package drift's tables in Redis: every replica
// sharing one Redis and key prefix sees one identity-drift report.
package redisdrift

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replayhook/replayhook/drift"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/normalize"
)

// Bounds of the asynchronous write path.
const (
	// Queue is how many observations wait for Redis per tracker;
	// beyond it they are dropped and counted (Dropped).
	Queue = 8192
	// driftBatch is the most observations one script applies. A payload
	// costs about 15 commands inside the script (≈ 50 µs of Redis's time
	// on a busy 2-vCPU machine), so a full batch holds Redis for a few
	// milliseconds at most.
	driftBatch = 64
	// driftWriteTimeout bounds one batch's round trip.
	driftWriteTimeout = 5 * time.Second
	// driftReadTimeout bounds Report and Reset when called without a
	// context (the webhooks.DriftTracker methods).
	driftReadTimeout = 5 * time.Second
)

// Tracker is the identity-drift tracker kept in Redis, so
// that every replica sharing the Redis and key prefix reports the same
// window: the same rows, lookup misses with candidates, conflicts and
// examples that drift.Memory reports for the same observations (report
// assembly is drift.Assemble for both). Its method set is
// webhooks.DriftTracker's.
//
// Observations (Delivery, Payload, Lookup) never block and never fail the
// caller: they go to a bounded queue that one goroutine drains, applying
// up to 64 observations per Lua script. A full queue drops the
// observation (counted by Dropped); a batch Redis fails is lost (counted by
// Failed), since replaying a script whose reply was lost could count twice.
// The lifetime Totals are this process's own (they feed Prometheus
// counters, which are summed over replicas).
//
// Report and Reset read and write Redis synchronously; ReportErr and
// ResetErr return Redis's errors, wrapping index.ErrUnavailable.
//
// Bounds: the same drift.Limits counts as the memory tracker (lookup
// misses, conflicts, known ids, examples per row, rows, codes per row) and
// every key has a TTL (Options.TTL, 30 days by default), refreshed by
// every batch. Close the tracker before the Redis client.
type Tracker struct {
	rdb     redis.UniversalClient
	ttl     time.Duration
	limits  drift.Limits
	sources map[string]drift.Source
	order   []drift.Source
	keys    []string
	scripts scripts

	life            struct{ deliveries, payloads, missing, lookups, misses atomic.Int64 }
	dropped, failed atomic.Int64

	mu      sync.RWMutex // guards closed against sends on a closed queue
	closed  bool
	closing atomic.Bool
	ops     chan driftOp
	done    chan struct{}
}

// driftOp is one observation's script arguments, or a flush marker.
type driftOp struct {
	args  []any
	flush chan error // a flush marker receives its batch's error, then is closed
}

// Options configure a Tracker. Every replica sharing one report uses the
// same Prefix, Limits and Sources.
type Options struct {
	// Prefix starts every key (the store's key prefix); it must not hold
	// '{' or '}', the Cluster hash tag characters.
	Prefix string
	// TTL is every key's time to live, refreshed by every batch; 30 days
	// when zero.
	TTL     time.Duration
	Limits  drift.Limits
	Sources []drift.Source
}

// DefaultTTL is the keys' time to live when Options.TTL is zero.
const DefaultTTL = 30 * 24 * time.Hour

// New builds the Redis drift tracker on rdb and starts its writer. The
// window starts at the first observation or Reset Redis sees.
func New(rdb redis.UniversalClient, o Options) *Tracker {
	d := newTracker(rdb, o, Queue)
	go d.run()
	return d
}

// newTracker builds the tracker with a queue of the given size, writer not
// started.
func newTracker(rdb redis.UniversalClient, o Options, queue int) *Tracker {
	limits, sources := o.Limits, o.Sources
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	limits.MaxLookupMisses = max(limits.MaxLookupMisses, 1)
	limits.MaxConflicts = max(limits.MaxConflicts, 1)
	limits.MaxKnownIDs = max(limits.MaxKnownIDs, 1)
	limits.MaxExamples = max(limits.MaxExamples, 0)
	d := &Tracker{
		rdb: rdb, ttl: o.TTL, limits: limits, sources: map[string]drift.Source{},
		keys: keys(o.Prefix), scripts: newScripts(),
		ops: make(chan driftOp, queue), done: make(chan struct{}),
	}
	for _, src := range sources {
		if _, dup := d.sources[src.Name]; dup || src.Name == "" {
			continue
		}
		d.sources[src.Name] = src
		d.order = append(d.order, src)
	}
	return d
}

// keys are the drift's keys, in the scripts' KEYS order. They share
// the hash tag "{<prefix>drift}": one Cluster slot.
func keys(prefix string) []string {
	base := prefix + "{" + prefix + "drift}:"
	return []string{base + "meta", base + "rows", base + "miss", base + "miss:lru",
		base + "conf", base + "conf:lru", base + "known", base + "known:lru", base + "seq"}
}

// Key indexes in keys.
const (
	dkMeta = iota
	dkRows
	dkMiss
	dkMissLRU
	dkConf
	dkConfLRU
	dkKnown
	dkKnownLRU
	dkSeq
)

// Totals are this process's lifetime counts (never reset).
func (d *Tracker) Totals() drift.Totals {
	return drift.Totals{
		Deliveries:    d.life.deliveries.Load(),
		Payloads:      d.life.payloads.Load(),
		MissingUserID: d.life.missing.Load(),
		Lookups:       d.life.lookups.Load(),
		LookupMisses:  d.life.misses.Load(),
	}
}

// Dropped is how many observations were dropped because the queue was full
// or the tracker closed.
func (d *Tracker) Dropped() int64 { return d.dropped.Load() }

// Failed is how many observations were lost because Redis failed their
// batch.
func (d *Tracker) Failed() int64 { return d.failed.Load() }

// Delivery counts one webhook request to source with its outcome, as
// drift.Memory.Delivery does.
func (d *Tracker) Delivery(source, provider, outcome string) {
	d.life.deliveries.Add(1)
	code, rejected := drift.Outcome(outcome)
	if !rejected {
		code = ""
	}
	rk, fb, prov, cfg, fbcfg := d.rowArgs(source, "", provider)
	d.enqueue([]any{"D", rk, fb, prov, cfg, fbcfg, code})
}

// Lookup counts one chat-layer lookup, as drift.Memory.Lookup does.
func (d *Tracker) Lookup(userID string, hit bool, now time.Time) {
	d.life.lookups.Add(1)
	id, remember := drift.MissID(userID)
	if hit || !remember {
		id = ""
	}
	h := "1"
	if !hit {
		d.life.misses.Add(1)
		h = "0"
	}
	d.enqueue([]any{"L", h, id, driftTime(now)})
}

// Payload records one stored payload, as drift.Memory.Payload does.
func (d *Tracker) Payload(source, provider string, p *normalize.ActionsPayload, late bool, now time.Time) {
	ids, ok := drift.ReadPayload(p, d.sources[source].ProductID)
	if !ok {
		return
	}
	d.life.payloads.Add(1)
	if ids.Missing {
		d.life.missing.Add(1)
	}
	rk, fb, prov, cfg, fbcfg := d.rowArgs(source, ids.Product, provider)
	d.enqueue([]any{"P", rk, fb, prov, cfg, fbcfg, flag(late), flag(ids.Missing),
		ids.Session, ids.User, ids.Email, ids.Anon, ids.Product, ids.NormKey, ids.EmailKey,
		driftTime(now), driftTime(now.Truncate(time.Second))})
}

// rowArgs resolves the row counting source's traffic for product as the
// memory tracker's row does: unknown sources share one row, a configured
// product wins. fb is the source's product-less row, used when the rows
// beyond the configured ones are full; cfg and fbcfg tell whether rk and fb
// are configured rows (which never count against that bound).
func (d *Tracker) rowArgs(source, product, provider string) (rk, fb, prov, cfg, fbcfg string) {
	s, configured := d.sources[source]
	switch {
	case !configured:
		source, product = drift.UnknownSource, ""
	case s.ProductID != "":
		product = s.ProductID
	}
	if configured {
		provider = s.Provider
	}
	rk = rowField(source, product)
	if product != "" {
		fb = rowField(source, "")
	}
	return rk, fb, provider, flag(configured && product == s.ProductID), flag(configured && s.ProductID == "")
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// enqueue hands an observation to the writer without blocking; it is
// dropped when the queue is full or the tracker closed.
func (d *Tracker) enqueue(args []any) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		d.dropped.Add(1)
		return
	}
	select {
	case d.ops <- driftOp{args: args}:
	default:
		d.dropped.Add(1)
	}
}

// run is the writer: it takes what the queue holds, up to driftBatch
// observations, and applies it in one script.
func (d *Tracker) run() {
	defer close(d.done)
	var lastErr error
	for op := range d.ops {
		var args []any
		var flushes []chan error
		n := 0
		add := func(o driftOp) {
			if o.flush != nil {
				flushes = append(flushes, o.flush)
				return
			}
			args = append(args, o.args...)
			n++
		}
		add(op)
	more:
		for n < driftBatch && len(flushes) == 0 {
			select {
			case o, ok := <-d.ops:
				if !ok {
					break more
				}
				add(o)
			default:
				break more
			}
		}
		var err error
		switch {
		case n == 0:
		case d.closing.Load() && lastErr != nil:
			// Closing while Redis fails: give up at once rather than
			// waiting for a timeout per batch.
			err = lastErr
			d.failed.Add(int64(n))
		default:
			err = d.apply(args)
			if err != nil {
				d.failed.Add(int64(n))
			}
			lastErr = err
		}
		for _, f := range flushes {
			f <- err
			close(f)
		}
	}
}

// apply runs one batch.
func (d *Tracker) apply(args []any) error {
	ctx, cancel := context.WithTimeout(context.Background(), driftWriteTimeout)
	defer cancel()
	head := []any{d.limits.MaxLookupMisses, d.limits.MaxConflicts, d.limits.MaxKnownIDs, d.limits.MaxExamples,
		ttlMillis(d.ttl), driftTime(time.Now()),
		drift.MaxIDs, drift.MaxAnons, drift.MaxCodes, drift.MaxExtraRows}
	if err := d.scripts.apply.Run(ctx, d.rdb, d.keys, append(head, args...)...).Err(); err != nil {
		return unavailable("drift apply", err)
	}
	return nil
}

// Flush waits until every observation queued before it is applied (or
// failed), and returns the error of the last batch; ctx bounds the wait.
func (d *Tracker) Flush(ctx context.Context) error {
	ch := make(chan error, 1)
	d.mu.RLock()
	if d.closed {
		d.mu.RUnlock()
		return errors.New("redisdrift: tracker closed")
	}
	select {
	case d.ops <- driftOp{flush: ch}:
		d.mu.RUnlock()
	case <-ctx.Done():
		d.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting observations, applies those queued (giving up on
// the rest once Redis fails) and stops the writer. It is safe to call
// more than once.
func (d *Tracker) Close() error {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		d.closing.Store(true)
		close(d.ops)
	}
	d.mu.Unlock()
	<-d.done
	return nil
}

// Reset starts a fresh window at now for every replica; known ids are
// kept. A Redis failure is ignored here (ResetErr returns it).
func (d *Tracker) Reset(now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), driftReadTimeout)
	defer cancel()
	_ = d.ResetErr(ctx, now)
}

// ResetErr starts a fresh window at now for every replica, after this
// replica's queued observations are applied (they belong to the old
// window). The error wraps index.ErrUnavailable.
func (d *Tracker) ResetErr(ctx context.Context, now time.Time) error {
	_ = d.Flush(ctx)
	if err := d.scripts.reset.Run(ctx, d.rdb, d.keys, driftTime(now), ttlMillis(d.ttl)).Err(); err != nil {
		return unavailable("drift reset", err)
	}
	return nil
}

// Report is ReportErr with a 5 s timeout for callers without a context.
// When Redis fails it returns an empty report (no rows, no misses) at now:
// callers that can answer an error should use ReportErr.
func (d *Tracker) Report(now time.Time, limit int, products func(string) bool) drift.Report {
	ctx, cancel := context.WithTimeout(context.Background(), driftReadTimeout)
	defer cancel()
	rep, err := d.ReportErr(ctx, now, limit, products)
	if err != nil {
		return drift.Assemble(drift.State{Start: now}, nil, 0, now, limit, products)
	}
	return rep
}

// ReportErr returns the window's report at now, as drift.Memory.Report
// does, after this replica's queued observations are applied. It reads
// the window in one MULTI, then the candidates of the misses reported in
// one round trip. The error wraps index.ErrUnavailable.
func (d *Tracker) ReportErr(ctx context.Context, now time.Time, limit int, products func(string) bool) (drift.Report, error) {
	_ = d.Flush(ctx) // best effort: a failed flush is counted in Failed
	st, err := d.readState(ctx)
	if err != nil {
		return drift.Report{}, err
	}
	if st.Start.IsZero() {
		st.Start = now // no window yet
	}
	rep := drift.Assemble(st, d.order, d.limits.MaxExamples, now, limit, products)
	if len(rep.LookupMisses) == 0 {
		return rep, nil
	}
	fields := make([]string, 0, 3*len(rep.LookupMisses))
	for _, m := range rep.LookupMisses {
		norm, email, isEmail, anon := drift.CandidateKeys(m.UserID)
		if !isEmail {
			email = ""
		}
		fields = append(fields, knownField('n', norm, ""), knownField('e', email, ""), knownField('a', anon, ""))
	}
	vals, err := d.rdb.HMGet(ctx, d.keys[dkKnown], fields...).Result()
	if err != nil {
		return drift.Report{}, unavailable("drift candidates", err)
	}
	refs := func(i int) []drift.Ref {
		s, ok := vals[i].(string)
		if !ok || fields[i] == knownField('e', "", "") {
			return nil
		}
		e, ok := decodeKnown(s)
		if !ok {
			return nil
		}
		return e
	}
	for i := range rep.LookupMisses {
		rep.LookupMisses[i].Candidates = drift.Candidates(rep.LookupMisses[i].UserID, refs(3*i), refs(3*i+1), refs(3*i+2))
	}
	return rep, nil
}

// readState reads the window in one transaction.
func (d *Tracker) readState(ctx context.Context) (drift.State, error) {
	pipe := d.rdb.TxPipeline()
	meta := pipe.HGetAll(ctx, d.keys[dkMeta])
	rows := pipe.HGetAll(ctx, d.keys[dkRows])
	misses := pipe.HGetAll(ctx, d.keys[dkMiss])
	conflicts := pipe.HGetAll(ctx, d.keys[dkConf])
	if _, err := pipe.Exec(ctx); err != nil {
		return drift.State{}, unavailable("drift report", err)
	}
	st := drift.State{}
	m := meta.Val()
	if v, ok := m["start"]; ok {
		st.Start = parseDriftTime(v)
	}
	st.Lookups, _ = strconv.ParseInt(m["lookups"], 10, 64)
	st.LookupMisses, _ = strconv.ParseInt(m["misses"], 10, 64)
	st.Rows = decodeRows(rows.Val())
	for id, v := range misses.Val() {
		if ms, ok := decodeMiss(id, v); ok {
			st.Misses = append(st.Misses, ms)
		}
	}
	for k, v := range conflicts.Val() {
		if c, ok := decodeConflict(k, v); ok {
			st.Conflicts = append(st.Conflicts, c)
		}
	}
	return st, nil
}

// SizesErr reports how many entries each bounded table holds in Redis.
func (d *Tracker) SizesErr(ctx context.Context) (drift.Sizes, error) {
	pipe := d.rdb.TxPipeline()
	known := pipe.ZCard(ctx, d.keys[dkKnownLRU])
	misses := pipe.ZCard(ctx, d.keys[dkMissLRU])
	conflicts := pipe.ZCard(ctx, d.keys[dkConfLRU])
	rows := pipe.HKeys(ctx, d.keys[dkRows])
	if _, err := pipe.Exec(ctx); err != nil {
		return drift.Sizes{}, unavailable("drift sizes", err)
	}
	n := 0
	for _, f := range rows.Val() {
		if _, _, suffix, ok := splitRowField(f); ok && suffix == "" {
			n++
		}
	}
	return drift.Sizes{KnownIDs: int(known.Val()), LookupMisses: int(misses.Val()), Conflicts: int(conflicts.Val()), SourceRows: n}, nil
}

// unavailable wraps a Redis failure so that callers answer 503.
func unavailable(op string, err error) error {
	return fmt.Errorf("%w: redis %s: %w", index.ErrUnavailable, op, err)
}

// ttlMillis is d in whole milliseconds, rounded up, at least 1.
func ttlMillis(d time.Duration) int64 { return max(int64((d+time.Millisecond-1)/time.Millisecond), 1) }

// Forget erases userID from the tables in Redis, as drift.Memory.Forget
// does, after this replica's queued observations are applied (so none of
// them brings the id back). The error wraps index.ErrUnavailable.
func (d *Tracker) Forget(ctx context.Context, userID string) error {
	id, ok := drift.MissID(userID)
	if !ok {
		return nil
	}
	if err := d.Flush(ctx); err != nil {
		return unavailable("drift forget", err)
	}
	if err := d.scripts.forget.Run(ctx, d.rdb, d.keys, id).Err(); err != nil {
		return unavailable("drift forget", err)
	}
	return nil
}

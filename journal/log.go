package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/wal"
)

// Options configure a Log.
type Options struct {
	// Dir holds the segment files.
	Dir string
	// Batch makes Append return once the entry is written to the kernel,
	// with an fsync at most every BatchWindow; otherwise Append waits for
	// the fsync that covers its entry.
	Batch       bool
	BatchWindow time.Duration
	// SegmentBytes is the size of one segment file; the library holds the
	// newest segment in memory.
	SegmentBytes int
	// RetryEvery is how often a failed log probes its directory and
	// reopens; 0 is one second.
	RetryEvery time.Duration
}

// ErrClosed is an Append after Close.
var ErrClosed = errors.New("journal: closed")

// Log is the write-ahead log. It is safe for concurrent use.
type Log struct {
	opts Options

	mu      sync.Mutex
	cond    *sync.Cond // broadcast when synced, failed or syncing change
	wal     *wal.Log
	last    uint64 // index of the newest entry written
	synced  uint64 // every entry up to here is fsynced
	syncing bool   // an fsync runs (without mu held)
	// inflight counts entries appended but not yet applied, by index: a
	// snapshot covers only the entries before the oldest of them.
	inflight map[uint64]int
	// failed is set by a write or fsync error and cleared by a reopen;
	// while set every Append fails. epoch counts failures, so that an
	// Append waiting across a failure and a reopen still fails.
	failed   error
	epoch    uint64
	failures uint64
	closed   bool

	stop    chan struct{}
	workers sync.WaitGroup
}

// OpenReport says what Open had to repair.
type OpenReport struct {
	// CutBytes were dropped from the end of the newest segment: an entry
	// torn by a crash in the middle of its write (never acknowledged).
	CutBytes int64
	// MovedAside is where an unopenable log directory was moved; the log
	// then starts empty.
	MovedAside string
}

// Open opens (creating) the log in opts.Dir, first cutting a torn entry
// off its end. A log the library still cannot open is moved aside (the
// report says where) and a new one started: the caller logs it loudly.
func Open(opts Options) (*Log, OpenReport, error) {
	if opts.RetryEvery <= 0 {
		opts.RetryEvery = time.Second
	}
	if opts.BatchWindow <= 0 {
		opts.BatchWindow = 10 * time.Millisecond
	}
	var rep OpenReport
	w, cut, err := openWAL(opts)
	rep.CutBytes = cut
	if err != nil {
		if !errors.Is(err, wal.ErrCorrupt) && !errors.Is(err, wal.ErrEmptyLog) {
			return nil, rep, fmt.Errorf("journal: open %s: %w", opts.Dir, err)
		}
		rep.MovedAside = fmt.Sprintf("%s.corrupt-%d", filepath.Clean(opts.Dir), time.Now().Unix())
		if rerr := os.Rename(opts.Dir, rep.MovedAside); rerr != nil {
			return nil, rep, fmt.Errorf("journal: open %s: %w (and it could not be moved aside: %w)", opts.Dir, err, rerr)
		}
		if w, _, err = openWAL(opts); err != nil {
			return nil, rep, fmt.Errorf("journal: open %s: %w", opts.Dir, err)
		}
	}
	l := &Log{opts: opts, wal: w, inflight: map[uint64]int{}, stop: make(chan struct{})}
	l.cond = sync.NewCond(&l.mu)
	l.last, _ = w.LastIndex()
	l.synced = l.last
	if opts.Batch {
		l.workers.Add(1)
		go l.syncEvery(opts.BatchWindow)
	}
	return l, rep, nil
}

func openWAL(opts Options) (*wal.Log, int64, error) {
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, 0, err
	}
	cut, err := repairTail(opts.Dir)
	if err != nil {
		return nil, 0, err
	}
	w, err := wal.Open(opts.Dir, &wal.Options{
		NoSync: true, SegmentSize: opts.SegmentBytes, LogFormat: wal.Binary,
		SegmentCacheSize: 1, AllowEmpty: true, DirPerms: 0o750, FilePerms: 0o640,
	})
	return w, cut, err
}

// Admit fails while the log is failing (until a reopen succeeds).
func (l *Log) Admit() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.errLocked()
}

func (l *Log) errLocked() error {
	switch {
	case l.closed:
		return ErrClosed
	case l.failed != nil:
		return fmt.Errorf("journal: log failing: %w", l.failed)
	}
	return nil
}

// Failures is how many times the log failed (a write, fsync or truncation
// error) since it was opened.
func (l *Log) Failures() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failures
}

// Append writes e and, in fsync mode, waits until an fsync covers it;
// concurrent appends share that fsync. An error means e may or may not be
// in the log: the delivery is answered 503, and if it was written its
// replay and the vendor's retry store it twice (at least once, never lost).
func (l *Log) Append(_ context.Context, e *Entry) (func(), error) {
	data, err := encode(e)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.errLocked(); err != nil {
		return nil, err
	}
	idx, epoch := l.last+1, l.epoch
	if err := l.wal.Write(idx, data); err != nil {
		l.failLocked(err)
		return nil, fmt.Errorf("journal: write: %w", err)
	}
	l.last = idx
	l.inflight[idx]++
	for !l.opts.Batch && l.synced < idx {
		if l.epoch != epoch || l.failed != nil {
			l.appliedLocked(idx)
			return nil, fmt.Errorf("journal: fsync: %w", l.failed)
		}
		if !l.syncing {
			l.syncLocked()
			continue
		}
		l.cond.Wait()
	}
	if l.epoch != epoch {
		l.appliedLocked(idx)
		return nil, errors.New("journal: log reopened after a failure before this entry was synced")
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			l.appliedLocked(idx)
			l.mu.Unlock()
		})
	}, nil
}

func (l *Log) appliedLocked(idx uint64) {
	if l.inflight[idx] <= 1 {
		delete(l.inflight, idx)
	} else {
		l.inflight[idx]--
	}
}

// syncLocked fsyncs everything written so far. mu is held on entry and on
// return, and released during the fsync so that appends go on meanwhile.
func (l *Log) syncLocked() {
	l.syncing = true
	target, w, epoch := l.last, l.wal, l.epoch
	l.mu.Unlock()
	err := w.Sync()
	l.mu.Lock()
	l.syncing = false
	switch {
	case l.epoch != epoch: // failed and reopened meanwhile: this fsync says nothing
	case err != nil:
		l.failLocked(err)
	case target > l.synced:
		l.synced = target
	}
	l.cond.Broadcast()
}

// failLocked records err and starts probing for a reopen.
func (l *Log) failLocked(err error) {
	if l.failed == nil && !l.closed {
		l.failed = err
		l.failures++
		l.epoch++
		l.workers.Add(1)
		go l.retry()
	}
	l.cond.Broadcast()
}

// retry reopens a failed log every RetryEvery once its directory takes a
// synced write again (a disk that was full or read-only recovers).
func (l *Log) retry() {
	defer l.workers.Done()
	t := time.NewTicker(l.opts.RetryEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			if l.Reopen() == nil {
				return
			}
		}
	}
}

// Reopen tries to recover a failed log: it writes and fsyncs a probe file
// in the directory, then closes the log, cuts any partly written entry off
// its end and opens it again. It does nothing on a healthy log.
func (l *Log) Reopen() error {
	if err := probe(l.opts.Dir); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.syncing {
		l.cond.Wait()
	}
	if l.closed || l.failed == nil {
		return nil
	}
	_ = l.wal.Close() // the handle is given up either way
	w, _, err := openWAL(l.opts)
	if err != nil {
		return err
	}
	l.wal = w
	l.last, _ = w.LastIndex()
	l.synced = l.last
	l.failed = nil
	l.cond.Broadcast()
	return nil
}

func probe(dir string) error {
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(make([]byte, 4096))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncEvery is batch mode's fsync: at most one per window.
func (l *Log) syncEvery(window time.Duration) {
	defer l.workers.Done()
	t := time.NewTicker(window)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.mu.Lock()
			if l.failed == nil && !l.closed && !l.syncing && l.synced < l.last {
				l.syncLocked()
			}
			l.mu.Unlock()
		}
	}
}

// Sync fsyncs every entry written so far (shutdown calls it).
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.syncing {
		l.cond.Wait()
	}
	if err := l.errLocked(); err != nil {
		return err
	}
	if l.synced < l.last {
		l.syncLocked()
	}
	return l.errLocked()
}

// Mark is the index a snapshot taken from now on covers: every entry up to
// it has been applied to the stores (entries still being applied are after
// it).
func (l *Log) Mark() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	mark := l.last
	for idx := range l.inflight {
		mark = min(mark, idx-1)
	}
	return mark
}

// TruncateThrough drops every entry up to and including mark (a snapshot
// that is no longer the newest covers them).
func (l *Log) TruncateThrough(mark uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.errLocked(); err != nil {
		return err
	}
	first, err := l.wal.FirstIndex()
	if err != nil {
		return err
	}
	next := min(mark+1, l.last+1)
	if next <= first {
		return nil
	}
	if err := l.wal.TruncateFront(next); err != nil {
		l.failLocked(err)
		return fmt.Errorf("journal: truncate: %w", err)
	}
	return nil
}

// ReplayReport says what Replay found.
type ReplayReport struct {
	// First and Last are the log's index range (First > Last: empty).
	First, Last uint64
	// Applied entries were handed to apply; Corrupt ones were skipped
	// (damaged on disk); Missing is how many entries after the snapshot's
	// mark the log no longer has (it was truncated past the snapshot).
	Applied, Corrupt, Missing uint64
	// Failed is the number of entries apply returned an error for.
	Failed uint64
}

// Replay hands apply every readable entry after index after, in order. A
// damaged entry is skipped, and the rest of a segment torn in the middle
// with it: they are counted in the report, never replayed wrong. Call it
// before the first Append. The segment files are read here, with the
// library's framing (a uvarint length, then the bytes), rather than through
// its Read, which panics on a segment shorter than its name promises.
func (l *Log) Replay(after uint64, apply func(*Entry) error) (ReplayReport, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var rep ReplayReport
	first, err := l.wal.FirstIndex()
	if err != nil {
		return rep, fmt.Errorf("journal: %w", err)
	}
	rep.First, rep.Last = first, l.last
	from := after + 1
	if first > from {
		rep.Missing = min(first, l.last+1) - from
		from = first
	}
	starts := segmentStarts(l.opts.Dir)
	for i, start := range starts {
		end := l.last
		if i+1 < len(starts) {
			end = starts[i+1] - 1
		}
		if end < from || start > end {
			continue
		}
		data, err := os.ReadFile(filepath.Join(l.opts.Dir, fmt.Sprintf("%020d", start)))
		if err != nil {
			data = nil // counted as damaged below
		}
		idx, pos := start, 0
		for pos < len(data) && idx <= end {
			size, n := binary.Uvarint(data[pos:])
			if n <= 0 || uint64(len(data)-pos-n) < size {
				break
			}
			raw := data[pos+n : pos+n+int(size)]
			pos += n + int(size)
			if idx++; idx-1 < from {
				continue
			}
			e, err := decode(raw)
			switch {
			case err != nil:
				rep.Corrupt++
			case apply(e) != nil:
				rep.Failed++
			default:
				rep.Applied++
			}
		}
		if idx <= end { // the segment ends early: its other entries are lost
			rep.Corrupt += end - max(idx, from) + 1
		}
	}
	return rep, nil
}

// Close stops the background fsync and retry, fsyncs and closes the log.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	for l.syncing {
		l.cond.Wait()
	}
	l.closed = true
	err := l.wal.Close()
	l.cond.Broadcast()
	l.mu.Unlock()
	close(l.stop)
	l.workers.Wait()
	return err
}

// segmentStarts lists the first index of each segment file in dir, in
// order (the library names a segment by its first index, 20 digits).
func segmentStarts(dir string) []uint64 {
	names, _ := filepath.Glob(filepath.Join(dir, "[0-9]*"))
	var out []uint64
	for _, n := range names {
		base := filepath.Base(n)
		if len(base) != 20 {
			continue
		}
		if i, err := strconv.ParseUint(base, 10, 64); err == nil && i > 0 {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

// repairTail cuts a torn entry off the end of the newest segment: a crash
// in the middle of a write leaves a length prefix without all its bytes,
// and the library refuses to open such a log. Entries are the library's
// binary framing (a uvarint length, then the bytes); only the framing is
// checked here, so a whole entry with a flipped byte stays and is skipped
// by Replay, and the good entries after it are kept.
func repairTail(dir string) (int64, error) {
	starts := segmentStarts(dir)
	if len(starts) == 0 {
		return 0, nil
	}
	path := filepath.Join(dir, fmt.Sprintf("%020d", starts[len(starts)-1]))
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pos := 0
	for pos < len(data) {
		size, n := binary.Uvarint(data[pos:])
		if n <= 0 || uint64(len(data)-pos-n) < size {
			break
		}
		pos += n + int(size)
	}
	if pos == len(data) {
		return 0, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := f.Truncate(int64(pos)); err != nil {
		return 0, err
	}
	return int64(len(data) - pos), f.Sync()
}

// Gate holds deliveries back (Admit fails) until Open: ingest must not run
// while the state is being restored and the log replayed.
type Gate struct {
	Journal
	open atomic.Bool
}

// ErrStarting is Admit's answer until the gate opens.
var ErrStarting = errors.New("journal: restoring state, not taking deliveries yet")

// NewGate returns a closed gate in front of j.
func NewGate(j Journal) *Gate { return &Gate{Journal: j} }

// Open lets deliveries through.
func (g *Gate) Open() { g.open.Store(true) }

// Admit fails until Open, then asks the journal.
func (g *Gate) Admit() error {
	if !g.open.Load() {
		return ErrStarting
	}
	return g.Journal.Admit()
}

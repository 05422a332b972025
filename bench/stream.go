package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The stream scenario (-stream-subscribers N): ingest alone, then ingest
// while N subscribers read GET /stream/<product>, in alternating rounds
// on one server, so the ratio of their rates is of one run. Every
// delivery's ack time is recorded by its sequence number (in the payload's
// URLs); each subscriber finds the number in every event it reads and
// adds now - ack to a histogram (0 when the event arrived before the ack
// reached the load tool: the server appends before it acknowledges). After
// each round every subscriber must have read one event per accepted
// delivery of the round: anything less is counted lost.

// ackLog is the ack time of each delivery by sequence number (a ring: a
// run sends far fewer than its size).
type ackLog [1 << 22]atomic.Int64

func (a *ackLog) record(seq int64)   { a[seq%int64(len(a))].Store(time.Now().UnixNano()) }
func (a *ackLog) at(seq int64) int64 { return a[seq%int64(len(a))].Load() }

// lagHist counts ack → received latencies in 50 µs buckets up to 2 s.
type lagHist struct {
	buckets [40001]atomic.Int64
}

const lagBucket = 50 * time.Microsecond

func (h *lagHist) add(d time.Duration) {
	h.buckets[min(int(max(d, 0)/lagBucket), len(h.buckets)-1)].Add(1)
}

// quantile is the upper bound of the bucket holding the p-th quantile.
func (h *lagHist) quantile(p float64) time.Duration {
	var total int64
	for i := range h.buckets {
		total += h.buckets[i].Load()
	}
	want, seen := int64(float64(total)*p), int64(0)
	for i := range h.buckets {
		if seen += h.buckets[i].Load(); seen > want {
			return time.Duration(i+1) * lagBucket
		}
	}
	return 0
}

func (h *lagHist) count() (n int64) {
	for i := range h.buckets {
		n += h.buckets[i].Load()
	}
	return n
}

// subscribers are the open streams of one round.
type subscribers struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	got    []atomic.Int64
	failed atomic.Int64 // streams that ended or failed before the round did
}

// openSubscribers opens n streams and returns once each answered 200 (the
// server has subscribed it, so no event of the round can be missed).
func openSubscribers(base string, n int, acks *ackLog, lag *lagHist) (*subscribers, error) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &subscribers{cancel: cancel, got: make([]atomic.Int64, n)}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	for i := range n {
		resp, err := openStream(ctx, hc, base)
		if err != nil {
			s.close()
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			s.close()
			return nil, fmt.Errorf("subscriber %d: GET /stream/%s answered %s", i, product, resp.Status)
		}
		s.wg.Go(func() {
			defer resp.Body.Close()
			s.read(resp.Body, &s.got[i], acks, lag)
			if ctx.Err() == nil { // the stream ended before the round did
				s.failed.Add(1)
			}
		})
	}
	return s, nil
}

// seqMark precedes the sequence number in the payload's URLs ("&" is
// escaped as \u0026 in the stream's JSON).
// openStream opens one stream; a 503 (the previous round's streams not
// yet released by the server, which notices a closed connection on its own
// time) is retried for a few seconds.
func openStream(ctx context.Context, hc *http.Client, base string) (*http.Response, error) {
	for try := 0; ; try++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/stream/"+product, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil || resp.StatusCode != http.StatusServiceUnavailable || try == 100 {
			return resp, err
		}
		resp.Body.Close()
		time.Sleep(50 * time.Millisecond)
	}
}

var seqMark = []byte("seq=")

// read counts the events of one stream and their lag, parsing only the
// sequence number out of each data line. It returns when the stream ends,
// which is always on a read error: io.EOF when the server closes the
// stream, or the failure of the read once the round cancels it.
func (s *subscribers) read(body io.Reader, got *atomic.Int64, acks *ackLog, lag *lagHist) {
	r := bufio.NewReaderSize(body, 64<<10)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			for errors.Is(err, bufio.ErrBufferFull) { // a long data line: its start holds the seq
				_, err = r.ReadSlice('\n')
			}
		}
		if err != nil {
			return
		}
		if !bytes.HasPrefix(line, []byte("data: {")) {
			continue
		}
		i := bytes.Index(line, seqMark)
		if i < 0 {
			continue
		}
		rest := line[i+len(seqMark):]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		seq, err := strconv.ParseInt(string(rest[:j]), 10, 64)
		if err != nil {
			continue
		}
		now := time.Now().UnixNano()
		if at := acks.at(seq); at > 0 {
			lag.add(time.Duration(now - at))
		} else {
			lag.add(0)
		}
		got.Add(1)
	}
}

// settle waits (at most wait) until every subscriber read want events,
// closes the streams, and returns how many events they missed in all.
func (s *subscribers) settle(want int64, wait time.Duration) (lost int64) {
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		done := true
		for i := range s.got {
			done = done && s.got[i].Load() >= want
		}
		if done {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := range s.got {
		lost += max(want-s.got[i].Load(), 0)
	}
	s.close()
	return lost
}

func (s *subscribers) close() {
	s.cancel()
	s.wg.Wait()
}

// streamBench runs the stream scenario against target.
func streamBench(target string, server *child, o options, out io.Writer) error {
	fmt.Fprintf(out, "stream: ingest alone vs ingest with %d subscribers of /stream/%s, %d alternating rounds of %s each\n",
		o.streamSubs, product, o.rounds, o.duration/time.Duration(o.rounds))
	acks, lag := new(ackLog), new(lagHist)
	slice := o
	slice.duration = o.duration / time.Duration(o.rounds)
	var alone, with result
	var lost, failed int64
	for r := range o.rounds {
		runAlone := func() error {
			alone = alone.merge(measured(server, func() result { return drive(target, slice, 0, nil) }))
			return nil
		}
		runWith := func() error {
			subs, err := openSubscribers(target, o.streamSubs, acks, lag)
			if err != nil {
				return err
			}
			withAcks := slice
			withAcks.onAck = acks.record
			res := measured(server, func() result { return drive(target, withAcks, 0, nil) })
			with = with.merge(res)
			lost += subs.settle(res.accepted, 30*time.Second)
			failed += subs.failed.Load()
			return nil
		}
		first, second := runAlone, runWith
		if r%2 == 1 {
			first, second = runWith, runAlone
		}
		if err := first(); err != nil {
			return err
		}
		if err := second(); err != nil {
			return err
		}
	}
	alone.print(out, "ingest, no subscribers")
	with.print(out, fmt.Sprintf("ingest, %d subscribers", o.streamSubs))
	fmt.Fprintf(out, "ratio with/without subscribers (accepted/s): %.2f (target ≥ 0.90)\n", with.rate()/alone.rate())
	fmt.Fprintf(out, "ack → received: %d events, p50 ≤ %s, p99 ≤ %s, p99.9 ≤ %s (target p99 ≤ 50ms)\n",
		lag.count(), lag.quantile(.5), lag.quantile(.99), lag.quantile(.999))
	fmt.Fprintf(out, "lost: %d events not received by a subscriber, %d streams ended early\n", lost, failed)
	if lost > 0 || failed > 0 || alone.errors+with.errors > 0 {
		return fmt.Errorf("%d events lost, %d streams ended early, %d request errors", lost, failed, alone.errors+with.errors)
	}
	return nil
}

package webhooks

import (
	"context"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"

	"github.com/replayhook/replayhook/index"
)

// The rejected-delivery log is written by requests without credentials, so
// junk must not flush it. Each client address may add rejectedBurst entries
// and then one every rejectedEvery (a misconfigured vendor still shows up
// at once; a flood from one address fills a few entries, not the log), and
// rejections for source names that are not configured go to a small ring of
// their own, so they never evict a real source's entries.
const (
	rejectedBurst = 20
	rejectedEvery = 30 * time.Second
	// rejectedClients bounds the addresses whose rate is remembered; the
	// least recently seen is forgotten first.
	rejectedClients = 4096
	// unknownRejected bounds the rejections kept for unknown source names.
	unknownRejected = 32
)

// rejectGate decides which rejections reach the log and keeps those for
// unknown source names apart. Safe for concurrent use.
type rejectGate struct {
	mu      sync.Mutex // guards the get-or-add of a client's limiter
	clients *lru.Cache[string, *rate.Limiter]
	unknown *index.MemoryRejected
	now     func() time.Time
}

func newRejectGate(maxEntries int, now func() time.Time) *rejectGate {
	clients, _ := lru.New[string, *rate.Limiter](rejectedClients) // size > 0: never fails
	return &rejectGate{clients: clients, unknown: index.NewMemoryRejected(min(unknownRejected, maxEntries)), now: now}
}

// allow reports whether client may add one more entry now.
func (g *rejectGate) allow(client string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	l, ok := g.clients.Get(client)
	if !ok {
		l = rate.NewLimiter(rate.Every(rejectedEvery), rejectedBurst)
		g.clients.Add(client, l)
	}
	return l.AllowN(g.now(), 1)
}

// recent merges the log's entries (newest first) with the unknown-source
// ring's, newest first, at most limit.
func (g *rejectGate) recent(ctx context.Context, known []index.Rejection, limit int) []index.Rejection {
	unknown, _ := g.unknown.Recent(ctx, limit) // in memory: never fails
	out := make([]index.Rejection, 0, min(limit, len(known)+len(unknown)))
	for len(out) < limit && (len(known) > 0 || len(unknown) > 0) {
		if len(unknown) == 0 || len(known) > 0 && !known[0].At.Before(unknown[0].At) {
			out, known = append(out, known[0]), known[1:]
		} else {
			out, unknown = append(out, unknown[0]), unknown[1:]
		}
	}
	return out
}

package webhooks

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// LimitListener wraps ln with the connection limits: at most
// server.max_connections connections held at once (idle keep-alive ones
// included). At the limit, the connection idle the longest is closed to
// make room (a keep-alive client reconnects; net/http's own shutdown does
// the same); with none idle, Accept waits until one closes and new
// connections wait in the kernel's accept queue. A connection that has
// not sent its first request yet counts as idle. And at most
// server.max_connections_per_ip from one client address (beyond it a new
// connection is closed at once). Peers in server.trusted_proxies are
// exempt from the per-address cap: they carry many clients. Serve the HTTP
// server on the returned listener.
//
// The global bound is a semaphore here rather than
// golang.org/x/net/netutil.LimitListener because that one wraps each
// connection in a type that hides the TCP connection's CloseWrite, which
// net/http uses to deliver an early answer (408 body_too_slow, 413) before
// closing a connection the client is still writing to; without it the
// client may get a reset instead of the answer.
func (s *Server) LimitListener(ln net.Listener) net.Listener {
	return &limitListener{
		Listener: ln, sem: make(chan struct{}, s.cfg.Server.MaxConnections), done: make(chan struct{}),
		perIP: s.limits.conns, idle: s.limits.idle, trusted: trustedPrefixes(s.cfg.Server.TrustedProxies), metrics: s.deps.Metrics,
	}
}

type limitListener struct {
	net.Listener
	sem       chan struct{} // one per connection held
	done      chan struct{} // closed by Close: an Accept waiting for a slot returns
	closeOnce sync.Once
	perIP     *keyedCaps
	idle      *idleConns
	trusted   []netip.Prefix
	metrics   *Metrics
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip, capped := l.clientOf(c)
		if capped && !l.perIP.acquire(ip) {
			_ = c.Close()
			l.metrics.RefuseConnection()
			continue
		}
		release := func() {
			if capped {
				l.perIP.release(ip)
			}
		}
		if !l.takeSlot() {
			_ = c.Close()
			release()
			return nil, net.ErrClosed
		}
		l.metrics.ConnectionOpened()
		return &limitedConn{Conn: c, release: func() {
			release()
			l.metrics.ConnectionClosed()
			<-l.sem
		}}, nil
	}
}

// takeSlot takes a connection slot for a connection just accepted. At the
// limit it closes the connection idle the longest (whose Close gives its
// slot back); with none idle it waits for one to close. It reports false
// when the listener is closed meanwhile. Only a connection that arrived
// makes room, so at most one accepted connection waits beyond the limit.
func (l *limitListener) takeSlot() bool {
	select {
	case l.sem <- struct{}{}:
		return true
	default:
	}
	l.idle.closeOldest()
	select {
	case l.sem <- struct{}{}:
		return true
	case <-l.done:
		return false
	}
}

// clientOf returns the connection's peer address and whether the
// per-address cap applies to it (not for a trusted proxy).
func (l *limitListener) clientOf(c net.Conn) (string, bool) {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String(), true
	}
	addr := ap.Addr().Unmap()
	for _, p := range l.trusted {
		if p.Contains(addr) {
			return "", false
		}
	}
	return addr.String(), true
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitedConn gives its slots back on the first Close.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite half-closes a TCP connection (net/http's reset avoidance).
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// trustedPrefixes parses the trusted proxies' CIDRs (validated at load).
func trustedPrefixes(cidrs []string) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

// idleConns knows which connections net/http holds without a request in
// progress (http.Server.ConnState: new, or idle between requests), so the
// listener can close the one idle the longest when it needs room. Safe for concurrent use; it holds no more
// entries than there are open connections.
type idleConns struct {
	mu    sync.Mutex
	since map[net.Conn]time.Time
}

func newIdleConns() *idleConns { return &idleConns{since: map[net.Conn]time.Time{}} }

// track is the http.Server's ConnState hook.
func (ic *idleConns) track(c net.Conn, state http.ConnState) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if state == http.StateNew || state == http.StateIdle {
		ic.since[c] = time.Now()
		return
	}
	delete(ic.since, c)
}

// closeOldest closes the connection idle the longest, if any. A linear
// scan: it runs only when every connection slot is taken.
func (ic *idleConns) closeOldest() {
	ic.mu.Lock()
	var oldest net.Conn
	var at time.Time
	for c, t := range ic.since {
		if oldest == nil || t.Before(at) {
			oldest, at = c, t
		}
	}
	delete(ic.since, oldest)
	ic.mu.Unlock()
	if oldest != nil {
		_ = oldest.Close()
	}
}

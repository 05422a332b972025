package webhooks

import (
	"net"
	"net/netip"
	"sync"
)

// LimitListener wraps ln with the connection limits: at most
// server.max_connections connections held at once (idle keep-alive ones
// included: beyond it Accept waits until one closes, and new connections
// wait in the kernel's accept queue), and at most
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
		perIP: s.limits.conns, trusted: trustedPrefixes(s.cfg.Server.TrustedProxies), metrics: s.deps.Metrics,
	}
}

type limitListener struct {
	net.Listener
	sem       chan struct{} // one per connection held
	done      chan struct{} // closed by Close: a waiting Accept returns
	closeOnce sync.Once
	perIP     *keyedCaps
	trusted   []netip.Prefix
	metrics   *Metrics
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			<-l.sem
			return nil, err
		}
		ip, capped := l.clientOf(c)
		if capped && !l.perIP.acquire(ip) {
			_ = c.Close()
			l.metrics.RefuseConnection()
			continue // the slot is still ours: accept the next one with it
		}
		l.metrics.ConnectionOpened()
		return &limitedConn{Conn: c, release: func() {
			if capped {
				l.perIP.release(ip)
			}
			l.metrics.ConnectionClosed()
			<-l.sem
		}}, nil
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

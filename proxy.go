package proactor

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/seed487d475b/proactor/proxyproto"
)

// The PROXY protocol (WithProxyProtocol): a load balancer in front of the
// server starts each connection with a header that names the client. Until
// the header is read the connection is not open: no OnAccept, no OnOpen,
// and the admission rules wait, since the address they judge is the one
// the header gives. Then it becomes RemoteAddr (and the destination
// LocalAddr), every rule is applied to it as to an accepted peer's, and
// OnOpen follows (after the TLS handshake, if any: the header comes before
// TLS). A LOCAL header (a balancer's health check) or an UNKNOWN one keeps
// the connection's own addresses. A malformed header, a peer that ends the
// connection before one, or none within WithProxyHeaderTimeout closes the
// connection with a reset, counted in Stats.ProxyHeaderErrors or
// Stats.ProxyHeaderTimeouts; the server goes on.

// ErrProxyHeader is matched by the reason a connection waiting for its
// PROXY header was closed for a malformed or missing one (in the debug
// log: such a connection never opened, so OnClose does not run).
var ErrProxyHeader = errors.New("proactor: bad PROXY protocol header")

// defaultProxyHeaderTimeout bounds the wait for a header unless
// WithProxyHeaderTimeout says otherwise.
const defaultProxyHeaderTimeout = 5 * time.Second

// WithProxyProtocol makes a listener expect a PROXY protocol header
// (version 1 or 2, see package proxyproto) at the start of every
// connection, and take the client's address from it: RemoteAddr, the
// allow and deny lists, the per-IP cap, WithMaxConns and OnAccept all see
// the client, not the balancer. Only for listeners behind a balancer that
// sends the header (HAProxy's send-proxy-v2, nginx's proxy_protocol on):
// anyone who can connect can claim any address. A listener option.
// Default: off.
func WithProxyProtocol(on bool) Option {
	return scoped("WithProxyProtocol", onListener, func(c *config) { c.proxy = on })
}

// WithProxyHeaderTimeout bounds the wait for the PROXY header of a
// connection to a WithProxyProtocol listener: a connection without a
// whole header after d is reset and counted in Stats.ProxyHeaderTimeouts.
// Default: 5s.
func WithProxyHeaderTimeout(d time.Duration) Option {
	return scoped("WithProxyHeaderTimeout", onListener, func(c *config) { c.timeouts[ProxyHeaderTimeout] = int64(d) })
}

// proxyState is a connection's wait for its PROXY header.
type proxyState struct {
	// pending is true until the header is read and the connection
	// admitted; writes meanwhile fail with ErrNotOpen. Read by writers on
	// any goroutine.
	pending atomic.Bool
	buf     []byte // the header's bytes so far, when it spans reads
}

// noteListener completes the configuration of a listener on ln.
func (c *config) noteListener(ln net.Listener) {
	c.noteUnix(ln)
	if c.proxy && c.timeouts[ProxyHeaderTimeout] <= 0 {
		c.timeouts[ProxyHeaderTimeout] = int64(defaultProxyHeaderTimeout)
	}
}

// proxyOf returns the connection's wait for its header, or nil once it is
// over (or for a connection of a listener without the PROXY protocol).
func (c *Conn) proxyOf() *proxyState {
	if c.ext == nil || c.ext.proxy == nil || !c.ext.proxy.pending.Load() {
		return nil
	}
	return c.ext.proxy
}

// awaitProxy makes a new connection wait for its header. Before the
// connection is shared.
func (c *Conn) awaitProxy() {
	if c.ext == nil {
		c.ext = &connExt{}
	}
	c.ext.proxy = &proxyState{}
	c.ext.proxy.pending.Store(true)
}

// proxyInput takes read bytes while the header is awaited: once it is
// whole, the connection is admitted and opened, and what followed the
// header is delivered as the connection's first input.
func (c *Conn) proxyInput(p []byte) {
	st := c.ext.proxy
	data := p
	if len(st.buf) > 0 {
		st.buf = append(st.buf, p...)
		data = st.buf
	}
	h, n, err := proxyproto.Parse(data)
	if errors.Is(err, proxyproto.ErrIncomplete) {
		if len(st.buf) == 0 {
			st.buf = append([]byte(nil), p...) // p is the engine's, reused after this read
		}
		return
	}
	if err != nil {
		c.proxyFailed(err)
		return
	}
	rest := data[n:]
	st.buf = nil
	c.stats().proxyHeaders.Add(1)
	if h.Command == proxyproto.Proxy {
		c.remote, c.local = packAddr(h.Source), packAddr(h.Destination)
	}
	if why, ok := c.srv().server.admit(c.cfg, c.loop.idx, c.remote.unpack()); !ok {
		c.stats().rejected[why].Add(1)
		c.finish(errRefused, true)
		return
	}
	st.pending.Store(false)
	c.openedAt = c.loop.now
	if c.ext.tls != nil {
		c.startTLS() // OnOpen once the handshake is done
		if len(rest) > 0 && !c.closed {
			c.tlsInput(rest)
		}
		return
	}
	c.stats().accepted.Add(1)
	c.rearm()
	c.callOpen()
	if len(rest) > 0 && !c.closed && c.req.Load() < reqClose {
		c.input(rest)
	}
}

// errRefused is the reason, in the debug log, of a connection an
// admission rule refused after its PROXY header.
var errRefused = errors.New("proactor: refused by an admission rule")

// proxyFailed closes a connection whose header is malformed or missing.
func (c *Conn) proxyFailed(err error) {
	c.stats().proxyErrors.Add(1)
	c.finish(fmt.Errorf("%w: %w", ErrProxyHeader, err), true)
}

package proactor

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"

	"github.com/seed487d475b/proactor/internal/driver"
)

// Client makes outgoing connections on an engine; one Handler runs them
// all, with the same Conn and callbacks as on a server. Options are those of
// a server that concern connections (timeouts, framer, write bounds, logger)
// plus WithConnectTimeout and WithEngine; without WithEngine the client
// starts a private engine, closed with the client. Methods are safe for
// concurrent use; Dial, Shutdown and Close must not be called from a
// callback.
type Client struct {
	owner // the handler, the engine, the connections and the stop sequence
}

// NewClient returns a client running h.
func NewClient(h Handler, opts ...Option) (*Client, error) {
	cl := &Client{}
	if err := cl.init(h, opts, "NewClient", onEngine|onClient); err != nil {
		return nil, err
	}
	return cl, nil
}

// Dial connects to a TCP address ("tcp", "tcp4" or "tcp6"; a host name is
// resolved first) without blocking a loop: the connect runs on one of the
// engine's loops. With network "unix", addr is the path of a unix stream
// socket; the connect, which completes or fails at once, runs on the
// caller's goroutine (see unix.go for what differs from TCP). It returns once the connection is open and OnOpen has run,
// or with an error: a *net.OpError wrapping the cause (errors.Is finds
// syscall.ECONNREFUSED, ErrTimeout for the connect timeout, ctx.Err(), ...).
// If ctx ends in the instant the connection opens, the connection is aborted
// and Dial still fails.
func (cl *Client) Dial(ctx context.Context, network, addr string) (*Conn, error) {
	c, err := cl.dial(ctx, network, addr, (*Conn).Abort)
	if err != nil {
		return nil, dialError(network, addr, err)
	}
	return c, nil
}

func dialError(network, addr string, err error) error {
	return &net.OpError{Op: "dial", Net: network, Addr: opAddr(addr), Err: err}
}

func opAddr(addr string) net.Addr {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return net.TCPAddrFromAddrPort(ap)
	}
	return nil
}

type dialResult struct {
	c   *Conn
	err error
}

// dial connects; if ctx ends in the instant the connection opens, late
// ends that connection (Dial aborts it; a stopping Reconnector, whose OnOpen
// has run, closes it gracefully).
func (cl *Client) dial(ctx context.Context, network, addr string, late func(*Conn) error) (*Conn, error) {
	s := &cl.owner
	s.mu.Lock()
	stopping := s.stopping
	s.mu.Unlock()
	if stopping {
		return nil, ErrServerClosed
	}
	var ap netip.AddrPort
	var us driver.Sock // a unix socket, connected already
	var err error
	if network == "unix" {
		us, err = cl.dialUnix(ctx, addr)
	} else {
		ap, err = resolve(ctx, network, addr)
	}
	if err != nil {
		return nil, err
	}
	l := s.eng.pick()
	res := make(chan dialResult, 1)
	c := &Conn{
		id:     s.eng.ids.Add(1),
		cfg:    &s.cfg,
		loop:   l,
		remote: packAddr(ap),
		life:   life{connecting: true},
		ext:    &connExt{res: res, closed: make(chan struct{}), serverName: host(addr)},
	}
	if network == "unix" {
		c.local.kind, c.remote.kind = kindUnix, kindUnix
	}
	if !l.push(task{kind: taskDial, c: c, sock: us}) {
		if network == "unix" {
			closeSock(us)
		}
		return nil, ErrEngineClosed
	}
	select {
	case r := <-res:
		return r.c, r.err
	case <-ctx.Done():
	}
	l.push(task{kind: taskFunc, fn: func() { c.failDial(ctx.Err()) }})
	if r := <-res; r.err != nil {
		return nil, r.err
	}
	late(c) // opened in the same instant: the caller has given up on it
	return nil, ctx.Err()
}

func resolve(ctx context.Context, network, addr string) (netip.AddrPort, error) {
	ipNet := map[string]string{"tcp": "ip", "tcp4": "ip4", "tcp6": "ip6"}[network]
	if ipNet == "" {
		return netip.AddrPort{}, net.UnknownNetworkError(network)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		n, lerr := net.DefaultResolver.LookupPort(ctx, network, port)
		if lerr != nil {
			return netip.AddrPort{}, lerr
		}
		p = uint64(n)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return netip.AddrPortFrom(ip, uint16(p)), nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, ipNet, host)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if len(ips) == 0 {
		return netip.AddrPort{}, errors.New("proactor: no address for " + host)
	}
	return netip.AddrPortFrom(ips[0], uint16(p)), nil
}

// startDial runs on the loop: the connect is submitted, and the connect
// timeout armed.
func (l *loop) startDial(c *Conn, s driver.Sock) {
	if c.remote.kind == kindUnix {
		l.adoptDial(c, s)
		return
	}
	c.openedAt = l.now
	c.tok = l.allocSlot()
	if err := l.poller.Connect(c.tok, c.remote.unpack(), c.cfg.sockOptions()); err != nil {
		l.freeSlot(c.tok)
		c.connecting = false
		c.closed = true
		c.ext.res <- dialResult{err: err}
		return
	}
	l.setConn(c)
	c.rearm()
}

// Connected is the Sink's report of a connect.
func (l *loop) Connected(t driver.Token, s driver.Sock, err error) {
	c := l.conn(t)
	if c == nil || !c.connecting {
		return
	}
	if err != nil {
		c.dialFailed(err)
		return
	}
	if c.remote.kind != kindUnix {
		c.local, c.remote = packAddr(s.Local), packAddr(s.Peer)
	}
	if cfg := c.cfg.tls; cfg != nil {
		// Still connecting until the handshake ends: the connect timeout
		// and a cancelled context end it as they end a connect.
		if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
			cfg = cfg.Clone()
			cfg.ServerName = c.ext.serverName
		}
		c.openedAt = l.now
		c.attachTLS(cfg, true) // the Conn is shared only once the dial ends
		c.startTLS()
		return
	}
	c.dialOpened()
}

// dialOpened opens a Client's connection: the dial ends with OnOpen.
func (c *Conn) dialOpened() {
	l := c.loop
	c.connecting = false
	if !c.srv().track(c) {
		l.poller.Close(c.tok, true)
		c.dialFailed(ErrServerClosed)
		return
	}
	if t := c.tlsOf(); t != nil {
		t.opened = true
	}
	c.stats().accepted.Add(1)
	c.openedAt = l.now
	l.wheel.cancel(&c.timer)
	c.rearm()
	c.callOpen()
	c.ext.res <- dialResult{c: c}
}

// failDial cancels a connect in progress; it does nothing once the dial
// has ended either way.
func (c *Conn) failDial(err error) {
	if !c.connecting {
		return
	}
	c.loop.poller.Close(c.tok, true)
	c.dialFailed(err)
}

// dialFailed ends a dial whose socket the engine has released.
func (c *Conn) dialFailed(err error) {
	c.connecting = false
	c.closed = true
	c.loop.wheel.cancel(&c.timer)
	c.loop.freeSlot(c.tok)
	if t := c.tlsOf(); t != nil {
		t.pipe.end(err) // a handshake in progress ends
	}
	close(c.ext.closed)
	c.ext.res <- dialResult{err: err}
}

// Dial connects to addr with a one-off client: the connection gets a
// private engine (unless WithEngine is given), released when the
// connection closes. For many connections, use a Client.
func Dial(ctx context.Context, network, addr string, h Handler, opts ...Option) (*Conn, error) {
	cl, err := NewClient(h, opts...)
	if err != nil {
		return nil, err
	}
	cl.oneShot = true
	c, err := cl.Dial(ctx, network, addr)
	if err != nil {
		cl.Close()
		return nil, err
	}
	return c, nil
}

// host returns the host of a "host:port" address.
func host(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

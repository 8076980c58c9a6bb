// Package stdnet is proactor's portable engine, built on Go's net package:
// it runs wherever Go does (on Windows, Go's runtime drives these sockets
// through IOCP; on macOS and the BSDs through kqueue).
//
// Go's net package offers blocking calls only, so the engine turns them into
// completions with goroutines: one accept goroutine per listener, one reader
// goroutine per connection and per datagram socket (packet.go), and one
// goroutine per pending write. Each posts
// its completion to the loop's queue and wakes the loop; the loop delivers
// completions to the Sink inside Poll, so the state machine above sees the
// same single-threaded, in-order world as on epoll.
//
// Differences from the epoll engine, all inside the driver contract:
//   - Each connection's reader goroutine owns a read buffer (there is no
//     readiness without a buffer in Go's net), so an idle connection holds
//     one. The reader waits until the loop has delivered a read before it
//     reuses the buffer.
//   - Writes never complete inline: each goes to a goroutine and completes
//     through Wrote.
//   - Pausing reads or accepts interrupts the blocked call with a deadline
//     in the past.
package stdnet

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed487d475b/proactor/internal/driver"
)

type stdDriver struct{}

// New returns the portable engine; it is available everywhere.
func New() (driver.Driver, error) { return stdDriver{}, nil }

func (stdDriver) Name() string { return "std" }

// defaultReadBuffer is smaller than epoll's loop buffer because here every
// connection holds one.
const defaultReadBuffer = 16 << 10

type kind uint8

const (
	kAccepted kind = iota
	kAcceptFailed
	kRead
	kWrote
	kConnected
	kDatagram   // packet.go
	kRecvFailed // packet.go
)

type completion struct {
	kind kind
	tok  driver.Token
	sock driver.Sock
	data []byte
	n    int
	err  error
	conn *connState // for kRead: whom to release after delivery
	pkt  *pktState  // for kDatagram and kRecvFailed: the socket
	idx  int        // for kDatagram: the buffer to give back
}

type poller struct {
	bufSize int

	mu       sync.Mutex
	q        []completion
	spare    []completion
	released bool
	signal   chan struct{} // capacity 1: "the queue may hold something"

	conns []*connState // by slot; loop goroutine only
	lns   []*lnState
	pkts  []*pktState        // datagram sockets by slot (packet.go)
	ds    [1]driver.Datagram // delivery scratch
}

func (stdDriver) NewPoller(cfg driver.Config) (driver.Poller, error) {
	size := cfg.ReadBufferSize
	if size <= 0 {
		size = defaultReadBuffer
	}
	return &poller{bufSize: size, signal: make(chan struct{}, 1)}, nil
}

func (p *poller) post(c completion) {
	p.mu.Lock()
	if p.released {
		p.mu.Unlock()
		if c.sock.Conn != nil { // accepted or dialed, and nobody left to own it
			c.sock.Conn.Close()
		}
		return
	}
	p.q = append(p.q, c)
	p.mu.Unlock()
	p.Wake()
}

func (p *poller) Wake() error {
	select {
	case p.signal <- struct{}{}:
	default:
	}
	return nil
}

func (p *poller) Poll(timeout time.Duration, s driver.Sink) error {
	p.mu.Lock()
	empty := len(p.q) == 0
	p.mu.Unlock()
	if empty && timeout != 0 {
		if timeout < 0 {
			<-p.signal
		} else {
			t := time.NewTimer(timeout)
			select {
			case <-p.signal:
			case <-t.C:
			}
			t.Stop()
		}
	}
	s.Awake()
	p.mu.Lock()
	batch := p.q
	p.q = p.spare[:0]
	p.mu.Unlock()
	for i := range batch {
		p.deliver(&batch[i], s)
		batch[i] = completion{}
	}
	p.spare = batch[:0]
	return nil
}

func (p *poller) deliver(c *completion, s driver.Sink) {
	switch c.kind {
	case kAccepted:
		l := p.listener(c.tok)
		if l == nil {
			c.sock.Conn.Close()
			return
		}
		l.release()
		s.Accepted(c.tok, c.sock)
	case kAcceptFailed:
		if p.listener(c.tok) != nil {
			s.AcceptFailed(c.tok, c.err)
		}
	case kRead:
		if p.conn(c.tok) == c.conn {
			s.Read(c.tok, c.data, c.err)
		}
		c.conn.release()
	case kWrote:
		if cs := p.conn(c.tok); cs != nil {
			s.Wrote(c.tok, c.n, c.err)
		}
	case kConnected:
		cs := p.conn(c.tok)
		if cs == nil || cs != c.conn { // cancelled by Close meanwhile
			if c.sock.Conn != nil {
				c.sock.Conn.Close()
			}
			return
		}
		if c.err != nil {
			p.conns[c.tok.Slot()] = nil
			s.Connected(c.tok, driver.Sock{FD: -1}, c.err)
			return
		}
		cs.conn = c.sock.Conn
		go p.readLoop(c.tok, cs)
		s.Connected(c.tok, c.sock, nil)
	case kDatagram, kRecvFailed:
		p.deliverPacket(c)
	}
}

// Listeners.

type lnState struct {
	gen    uint32
	ln     net.Listener
	opts   driver.SockOptions
	gate   gate
	closed atomic.Bool
	// slots holds a token per connection accepted and not yet delivered
	// when AcceptBatch bounds them; nil: no bound. done ends a wait for
	// one at Unlisten.
	slots chan struct{}
	done  chan struct{}
}

// acquire waits until fewer than AcceptBatch accepted connections wait
// for the loop; false means the listener is gone.
func (l *lnState) acquire() bool {
	if l.slots == nil {
		return true
	}
	select {
	case l.slots <- struct{}{}:
		return true
	case <-l.done:
		return false
	}
}

// release gives back the token of a connection the loop took (or of an
// Accept that failed).
func (l *lnState) release() {
	if l.slots != nil {
		<-l.slots
	}
}

func (p *poller) listener(t driver.Token) *lnState {
	if i := int(t.Slot()); i < len(p.lns) {
		if l := p.lns[i]; l != nil && l.gen == t.Gen() {
			return l
		}
	}
	return nil
}

// deadliner is what *net.TCPListener and *net.UnixListener offer.
type deadliner interface{ SetDeadline(time.Time) error }

func (p *poller) Listen(t driver.Token, ln net.Listener, o driver.SockOptions) error {
	if _, ok := ln.(deadliner); !ok {
		return errors.New("proactor: std engine needs a listener with SetDeadline")
	}
	for int(t.Slot()) >= len(p.lns) {
		p.lns = append(p.lns, nil)
	}
	l := &lnState{gen: t.Gen(), ln: ln, opts: o, gate: newGate(), done: make(chan struct{})}
	if o.AcceptBatch > 0 {
		l.slots = make(chan struct{}, o.AcceptBatch)
	}
	p.lns[t.Slot()] = l
	go p.acceptLoop(t, l)
	return nil
}

func (p *poller) acceptLoop(t driver.Token, l *lnState) {
	for !l.closed.Load() {
		if on, resume := l.gate.state(); !on {
			<-resume
			continue
		}
		if !l.acquire() {
			return
		}
		c, err := l.ln.Accept()
		if err != nil {
			l.release()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if isTimeout(err) {
				continue // a pause interrupted Accept: the top of the loop decides
			}
			p.post(completion{kind: kAcceptFailed, tok: t, err: err})
			// The loop backs off with SetAccepting(false); until that
			// arrives, do not spin on a failing Accept.
			time.Sleep(time.Millisecond)
			continue
		}
		setOptions(c, l.opts)
		p.post(completion{kind: kAccepted, tok: t, sock: sockOf(c)})
	}
}

// setOptions sets o on a TCP connection, over whatever keepalive the
// listener or dialer that made it chose (Go's turns it on for 15 s).
// Errors are ignored, as Go's net package ignores them on accept: they
// mean the peer has already reset the connection.
func setOptions(c net.Conn, o driver.SockOptions) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	_ = tc.SetNoDelay(o.NoDelay)
	if o.KeepAlive <= 0 {
		_ = tc.SetKeepAlive(false)
		return
	}
	_ = tc.SetKeepAliveConfig(net.KeepAliveConfig{
		Enable: true, Idle: o.KeepAlive, Interval: o.KeepAlive, Count: driver.KeepAliveProbes,
	})
}

func sockOf(c net.Conn) driver.Sock {
	s := driver.Sock{FD: -1, Conn: c}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		s.Peer = a.AddrPort()
	}
	if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
		s.Local = a.AddrPort()
	}
	s.Peer = netip.AddrPortFrom(s.Peer.Addr().Unmap(), s.Peer.Port())
	s.Local = netip.AddrPortFrom(s.Local.Addr().Unmap(), s.Local.Port())
	return s
}

func (p *poller) SetAccepting(t driver.Token, on bool) error {
	l := p.listener(t)
	if l == nil {
		return net.ErrClosed
	}
	return l.gate.set(on, l.ln.(deadliner).SetDeadline)
}

// Unlisten stops the accept goroutine; the caller closes the listener.
func (p *poller) Unlisten(t driver.Token) error {
	l := p.listener(t)
	if l == nil {
		return net.ErrClosed
	}
	p.lns[t.Slot()] = nil
	l.closed.Store(true)
	close(l.done)
	l.gate.set(true, func(time.Time) error { return nil }) // wake it if paused
	return l.ln.(deadliner).SetDeadline(time.Unix(1, 0))
}

// gate pauses a goroutine that blocks in Accept or Read. Closing the gate
// interrupts the blocked call with a deadline in the past, and the goroutine
// then waits on the channel that opening the gate closes.
type gate struct {
	mu     sync.Mutex
	on     bool
	resume chan struct{}
}

func newGate() gate { return gate{on: true, resume: make(chan struct{})} }

// state reports whether the gate is open, and a channel closed when it next opens.
func (g *gate) state() (bool, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.on, g.resume
}

func (g *gate) set(on bool, setDeadline func(time.Time) error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.on == on {
		return nil
	}
	g.on = on
	if !on {
		return setDeadline(time.Unix(1, 0))
	}
	err := setDeadline(time.Time{})
	close(g.resume)
	g.resume = make(chan struct{})
	return err
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// Adopt keeps c: the engine runs on Go's sockets.
func (stdDriver) Adopt(c net.Conn) (driver.Sock, error) { return sockOf(c), nil }

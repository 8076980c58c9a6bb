package proactor

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/seed487d475b/proactor/internal/driver"
)

// PacketHandler receives the datagrams of a PacketServer's sockets (UDP).
type PacketHandler interface {
	// OnPacket is called on the socket's loop for each datagram that
	// arrived whole, in the order received, never two at a time for one
	// socket. data is valid only until OnPacket returns; from is the
	// sender. A reply goes back with pc.WriteTo(reply, from).
	OnPacket(pc *PacketConn, data []byte, from netip.AddrPort)
}

// PacketErrorHandler is an optional interface of a PacketHandler: it is
// told, on the socket's loop, of each datagram that was not received or
// not sent. from is the datagram's sender or destination (zero for a
// receive error that names none). A datagram larger than the buffer
// (WithPacketSize) comes here as a *TruncatedError and never to OnPacket.
type PacketErrorHandler interface {
	OnPacketError(pc *PacketConn, from netip.AddrPort, err error)
}

// ErrTruncated is matched by the error reported for a datagram larger
// than the socket's buffer; the error is a *TruncatedError.
var ErrTruncated = errors.New("proactor: datagram larger than the buffer")

// ErrPacketTooLarge is returned by WriteTo for a datagram no UDP socket can
// carry (over 65527 bytes).
var ErrPacketTooLarge = errors.New("proactor: datagram too large")

// TruncatedError reports a datagram that did not fit the buffer: it was
// dropped, not delivered cut. Size is its length on the wire (Limit+1 on
// the std engine, which cannot learn more), Limit the buffer's size.
type TruncatedError struct {
	Size, Limit int
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("proactor: datagram of %d bytes dropped: larger than the %d-byte buffer (WithPacketSize)", e.Size, e.Limit)
}

// Unwrap returns ErrTruncated.
func (e *TruncatedError) Unwrap() error { return ErrTruncated }

const (
	// defaultPacketSize is the default largest datagram received whole.
	defaultPacketSize = 4 << 10
	// maxPacketSize is the largest UDP payload (over IPv6; IPv4's is 20
	// bytes less, which the kernel enforces).
	maxPacketSize = 65535 - 8
	// maxQueuedPackets and maxQueuedBytes bound what is queued on a
	// socket between two flushes; past either WriteTo refuses with
	// ErrQueueFull.
	maxQueuedPackets = 4096
	maxQueuedBytes   = 4 << 20
	// keepQueueBytes is the most a flushed queue keeps for the next: a
	// burst's larger buffer goes back to the GC.
	keepQueueBytes = 256 << 10
)

// WithPacketSize sets the largest datagram a PacketServer's sockets
// receive whole (default 4096 bytes, at most 65527). A larger one is
// dropped and reported (PacketErrorHandler, PacketStats.Truncated). Each
// socket holds a batch of buffers of this size.
func WithPacketSize(n int) Option {
	return scoped("WithPacketSize", onPacket, func(c *config) { c.packetSize = n })
}

// PacketStats is a snapshot of a PacketServer's counters.
type PacketStats struct {
	Sockets       int    `json:"sockets"`        // sockets open
	Received      uint64 `json:"received"`       // datagrams delivered to OnPacket
	BytesReceived uint64 `json:"bytes_received"` // their payload bytes
	Sent          uint64 `json:"sent"`           // datagrams the kernel took
	BytesSent     uint64 `json:"bytes_sent"`
	Truncated     uint64 `json:"truncated"`      // datagrams dropped for being larger than the buffer
	ReceiveErrors uint64 `json:"receive_errors"` // failed receive calls
	SendErrors    uint64 `json:"send_errors"`    // datagrams the kernel refused (EMSGSIZE, EACCES, an unreachable network, ...)
	Dropped       uint64 `json:"dropped"`        // datagrams not sent: the socket's buffer was full, the queue was full, or the socket closed
	Panics        uint64 `json:"panics"`         // panics recovered in OnPacket and OnPacketError
}

// packetShard is one loop's share of a PacketServer's counters; only that
// loop adds to it, except dropped, which WriteTo also adds to.
type packetShard struct {
	received, bytesIn, sent, bytesOut    atomic.Uint64
	truncated, recvErrs, sendErrs, drops atomic.Uint64
	panics                               atomic.Uint64
	_                                    [64]byte
}

// PacketServer runs a PacketHandler on datagram sockets, on the loops of
// an Engine. Its methods are safe for concurrent use; ServePacket and Close
// wait for the loops and must not be called from a callback.
type PacketServer struct {
	handler PacketHandler
	errh    PacketErrorHandler
	eng     *Engine
	ownsEng bool
	log     *slog.Logger
	size    int
	stats   []packetShard // one per loop

	mu     sync.Mutex
	conns  map[*PacketConn]struct{}
	closed bool
	done   chan struct{}
	once   sync.Once
}

// NewPacketServer returns a server running h. Without WithEngine it starts
// a private engine configured by opts, which it closes when it stops.
// Options: the engine's, WithLogger and WithPacketSize.
func NewPacketServer(h PacketHandler, opts ...Option) (*PacketServer, error) {
	var cfg config
	if err := cfg.apply(opts, "NewPacketServer", onEngine|onPacket); err != nil {
		return nil, err
	}
	size := cfg.packetSize
	if size == 0 {
		size = defaultPacketSize
	}
	if size < 0 || size > maxPacketSize {
		return nil, fmt.Errorf("%w: WithPacketSize(%d) is not within 1..%d", ErrBadOptions, size, maxPacketSize)
	}
	s := &PacketServer{handler: h, log: cfg.log(), size: size, conns: make(map[*PacketConn]struct{}), done: make(chan struct{})}
	s.errh, _ = h.(PacketErrorHandler)
	s.eng = cfg.engine
	if s.eng == nil {
		e, err := newEngine(&cfg)
		if err != nil {
			return nil, err
		}
		s.eng, s.ownsEng = e, true
	}
	if s.eng.closed.Load() {
		return nil, ErrEngineClosed
	}
	s.stats = make([]packetShard, len(s.eng.loops))
	return s, nil
}

// Engine returns the engine the server runs on.
func (s *PacketServer) Engine() *Engine { return s.eng }

// Done returns a channel that is closed once the server has stopped.
func (s *PacketServer) Done() <-chan struct{} { return s.done }

// ListenPacket opens a datagram socket on network ("udp", "udp4" or
// "udp6") and addr, such as "127.0.0.1:0", and starts receiving on one of
// the engine's loops. It does not block.
func (s *PacketServer) ListenPacket(network, addr string) (*PacketConn, error) {
	if !strings.HasPrefix(network, "udp") {
		return nil, net.UnknownNetworkError(network)
	}
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		return nil, err
	}
	return s.start(pc)
}

// ServePacket receives on pc, a UDP socket, until the server stops, then
// returns ErrServerClosed. The server owns pc from here on and closes it.
func (s *PacketServer) ServePacket(pc net.PacketConn) error {
	if _, err := s.start(pc); err != nil {
		return err
	}
	<-s.done
	return ErrServerClosed
}

func (s *PacketServer) start(pc net.PacketConn) (*PacketConn, error) {
	l := s.eng.pick()
	c := &PacketConn{srv: s, pc: pc, loop: l, sh: &s.stats[l.idx], done: make(chan struct{})}
	c.flush = c.flushTask
	c.pp, _ = l.poller.(driver.PacketPoller)
	if c.pp == nil {
		pc.Close()
		return nil, fmt.Errorf("%w: no datagram sockets on %s", ErrEngineUnsupported, s.eng.name)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		pc.Close()
		return nil, ErrServerClosed
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	var err error
	if cerr := l.call(func() { err = l.openPacket(c) }); cerr != nil {
		err = cerr
	}
	if err != nil {
		s.forget(c)
		pc.Close()
		return nil, err
	}
	return c, nil
}

func (s *PacketServer) forget(c *PacketConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Conns returns the server's open sockets.
func (s *PacketServer) Conns() []*PacketConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*PacketConn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// Stats returns a snapshot of the server's counters.
func (s *PacketServer) Stats() PacketStats {
	var st PacketStats
	for i := range s.stats {
		sh := &s.stats[i]
		st.Received += sh.received.Load()
		st.BytesReceived += sh.bytesIn.Load()
		st.Sent += sh.sent.Load()
		st.BytesSent += sh.bytesOut.Load()
		st.Truncated += sh.truncated.Load()
		st.ReceiveErrors += sh.recvErrs.Load()
		st.SendErrors += sh.sendErrs.Load()
		st.Dropped += sh.drops.Load()
		st.Panics += sh.panics.Load()
	}
	s.mu.Lock()
	st.Sockets = len(s.conns)
	s.mu.Unlock()
	return st
}

// Close closes every socket (what is queued on each is sent first, once,
// without waiting for room), waits until no callback runs any more, and
// stops the private engine if the server has one.
func (s *PacketServer) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		for _, c := range s.Conns() {
			c.Close()
			<-c.done
		}
		if s.ownsEng {
			s.eng.Close()
		}
		close(s.done)
	})
	return nil
}

// PacketConn is one datagram socket of a PacketServer. Its methods are
// safe for concurrent use.
type PacketConn struct {
	srv   *PacketServer
	pc    net.PacketConn
	loop  *loop
	pp    driver.PacketPoller
	tok   driver.Token
	sh    *packetShard
	done  chan struct{}
	flush func() // flushTask, bound once so that queuing a flush allocates nothing

	// The send queue: the bytes of the datagrams written since the last
	// flush, one after another in out, and where each lies and goes.
	mu        sync.Mutex
	out       []byte
	msgs      []queuedPacket
	scheduled bool // a flush is due: queued as a task, or after the batch
	closed    bool // Close was called: no more WriteTo

	closing   atomic.Bool // Close was called: deliver nothing more
	inBatch   atomic.Bool // the loop is delivering a batch and flushes after it
	finished  bool        // the socket is gone (loop only)
	spareOut  []byte      // the queue's other half (loop only)
	spareMsgs []queuedPacket
	ds        []driver.Datagram // a flush's datagrams (loop only)
}

type queuedPacket struct {
	off, n int
	to     netip.AddrPort
}

// LocalAddr returns the socket's address.
func (c *PacketConn) LocalAddr() net.Addr { return c.pc.LocalAddr() }

// Server returns the server the socket belongs to.
func (c *PacketConn) Server() *PacketServer { return c.srv }

// Done returns a channel that is closed once the socket is closed and no
// callback of it runs any more.
func (c *PacketConn) Done() <-chan struct{} { return c.done }

// WriteTo queues p as one datagram to addr and returns at once; p is
// copied. Datagrams written during a batch of OnPacket calls leave
// together after it (one sendmmsg on epoll and uring); from another
// goroutine, as soon as the loop gets to them. Safe from any goroutine.
// A datagram the kernel refuses later is reported to a
// PacketErrorHandler and counted, as UDP loses datagrams anyway. Past 4096
// datagrams or 4 MiB queued and not yet handed to the kernel, WriteTo
// returns ErrQueueFull and queues nothing.
func (c *PacketConn) WriteTo(p []byte, addr netip.AddrPort) error {
	if len(p) > maxPacketSize {
		return ErrPacketTooLarge
	}
	if !addr.IsValid() {
		return fmt.Errorf("proactor: WriteTo: invalid address %v", addr)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	if len(c.msgs) >= maxQueuedPackets || len(c.msgs) > 0 && len(c.out)+len(p) > maxQueuedBytes {
		c.mu.Unlock()
		c.sh.drops.Add(1)
		return ErrQueueFull
	}
	c.msgs = append(c.msgs, queuedPacket{off: len(c.out), n: len(p), to: addr})
	c.out = append(c.out, p...)
	push := false
	if !c.scheduled {
		c.scheduled = true
		// During a batch the loop flushes after it; the loop stores
		// inBatch false before it takes mu to flush, so a writer that
		// still sees true is seen by that flush.
		push = !c.inBatch.Load()
	}
	c.mu.Unlock()
	if push && !c.loop.push(task{kind: taskFunc, fn: c.flush}) {
		return ErrEngineClosed
	}
	return nil
}

// Close stops receiving and closes the socket on its loop, after sending
// what is queued; it does not wait (Done tells when it is over). No
// OnPacket starts after Close returns. Closing twice is not an error.
func (c *PacketConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.closing.Store(true)
	c.loop.push(task{kind: taskFunc, fn: c.finish})
	return nil
}

func (c *PacketConn) flushTask() {
	if !c.finished {
		c.send()
	}
}

// send hands what is queued to the engine (loop only). A datagram the
// kernel refuses is reported and skipped; when the socket's buffer is
// full the rest is dropped: a loop does not wait, and UDP does not
// promise delivery.
func (c *PacketConn) send() {
	c.mu.Lock()
	out, msgs := c.out, c.msgs
	c.out, c.msgs = c.spareOut[:0], c.spareMsgs[:0]
	c.scheduled = false
	c.mu.Unlock()
	ds := c.ds[:0]
	for _, m := range msgs {
		ds = append(ds, driver.Datagram{Data: out[m.off : m.off+m.n : m.off+m.n], Addr: m.to})
	}
	all := ds
	for len(ds) > 0 {
		n, err := c.pp.SendTo(c.tok, ds)
		var bytes int
		for _, d := range ds[:n] {
			bytes += len(d.Data)
		}
		c.sh.sent.Add(uint64(n))
		c.sh.bytesOut.Add(uint64(bytes))
		if n == len(ds) {
			break
		}
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, net.ErrClosed) {
			c.sh.drops.Add(uint64(len(ds) - n))
			c.reportError(ds[n].Addr, err)
			break
		}
		c.sh.sendErrs.Add(1)
		c.reportError(ds[n].Addr, err)
		ds = ds[n+1:]
	}
	clear(all)
	c.ds = all[:0]
	if cap(out) > keepQueueBytes {
		out = nil
	}
	c.spareOut, c.spareMsgs = out[:0], msgs[:0]
}

// finish closes the socket on its loop (loop only).
func (c *PacketConn) finish() {
	if c.finished {
		return
	}
	c.send()
	c.finished = true
	c.closing.Store(true)
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	if err := c.pp.ClosePacket(c.tok); err != nil && !errors.Is(err, net.ErrClosed) {
		c.srv.log.Warn("proactor: closing datagram socket", "addr", c.pc.LocalAddr(), "err", err)
	}
	c.loop.freePacket(c.tok)
	c.pc.Close()
	c.srv.forget(c)
	close(c.done)
}

// deliver runs the handler on a batch, then sends the replies it wrote.
func (c *PacketConn) deliver(ds []driver.Datagram) {
	c.inBatch.Store(true)
	for i := 0; i < len(ds); {
		i = c.deliverFrom(ds, i)
	}
	c.inBatch.Store(false)
	if !c.finished {
		c.send()
	}
}

// deliverFrom delivers ds from i on and returns where it stopped: the
// end, or past a datagram whose callback panicked.
func (c *PacketConn) deliverFrom(ds []driver.Datagram, i int) (next int) {
	defer func() {
		if r := recover(); r != nil {
			c.sh.panics.Add(1)
			c.srv.log.Error("proactor: datagram handler panicked", "addr", c.pc.LocalAddr(), "panic", r)
			next = i + 1
		}
	}()
	for ; i < len(ds); i++ {
		if c.closing.Load() {
			return len(ds)
		}
		d := &ds[i]
		if d.Size > len(d.Data) {
			c.sh.truncated.Add(1)
			if c.srv.errh != nil {
				c.srv.errh.OnPacketError(c, d.Addr, &TruncatedError{Size: d.Size, Limit: c.srv.size})
			}
			continue
		}
		c.sh.received.Add(1)
		c.sh.bytesIn.Add(uint64(len(d.Data)))
		c.srv.handler.OnPacket(c, d.Data, d.Addr)
	}
	return i
}

// reportError tells a PacketErrorHandler, recovering a panic there.
func (c *PacketConn) reportError(addr netip.AddrPort, err error) {
	if c.srv.errh == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			c.sh.panics.Add(1)
			c.srv.log.Error("proactor: datagram error handler panicked", "addr", c.pc.LocalAddr(), "panic", r)
		}
	}()
	c.srv.errh.OnPacketError(c, addr, err)
}

// Loop side: datagram sockets have slots of their own, apart from
// connections and listeners.

func (l *loop) openPacket(c *PacketConn) error {
	if c.finished {
		return ErrServerClosed // Close overtook the start
	}
	slot := len(l.pkts)
	for i, x := range l.pkts {
		if x == nil {
			slot = i
			break
		}
	}
	if slot == len(l.pkts) {
		l.pkts = append(l.pkts, nil)
	}
	l.pktGen++
	c.tok = driver.MakeToken(uint32(slot), l.pktGen)
	if err := c.pp.ListenPacket(c.tok, c.pc, l, c.srv.size); err != nil {
		return err
	}
	l.pkts[slot] = c
	return nil
}

func (l *loop) packet(t driver.Token) *PacketConn {
	if s := t.Slot(); int(s) < len(l.pkts) {
		if c := l.pkts[s]; c != nil && c.tok == t {
			return c
		}
	}
	return nil
}

func (l *loop) freePacket(t driver.Token) {
	if l.packet(t) != nil {
		l.pkts[t.Slot()] = nil
	}
}

// closePackets closes the datagram sockets left when the loop stops.
func (l *loop) closePackets() {
	for _, c := range l.pkts {
		if c != nil {
			c.finish()
		}
	}
}

// Datagrams is the engine's delivery of a batch (driver.PacketSink).
func (l *loop) Datagrams(t driver.Token, ds []driver.Datagram) {
	if c := l.packet(t); c != nil && !c.closing.Load() {
		c.deliver(ds)
	}
}

// ReceiveFailed is the engine's report of a failed receive.
func (l *loop) ReceiveFailed(t driver.Token, err error) {
	if c := l.packet(t); c != nil {
		c.sh.recvErrs.Add(1)
		c.reportError(netip.AddrPort{}, err)
	}
}

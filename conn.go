package proactor

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"

	"github.com/seed487d475b/proactor/buffer"
	"github.com/seed487d475b/proactor/internal/driver"
)

// Close requests, in escalating order; a request never lowers the level.
const (
	reqNone = iota
	reqCloseWrite
	reqClose
	reqAbort
	reqOverflow // a write passed WithMaxWriteQueue: aborted, OnClose gets ErrQueueFull
)

// Conn is a TCP connection owned by one event loop.
//
// Write, Writev, CloseWrite, Close, Abort, Buffered and the Key methods are
// safe to call from any goroutine. Context and SetContext are not
// synchronized: use them from the connection's callbacks, or synchronize
// yourself.
//
// The struct is kept small (an idle connection's memory is mostly this):
// the owner, the handler and the stats shard are reached through cfg and loop, the
// flags sit together, and what only some connections need (a Client's
// dial; Key values, marks and timers) lives behind pointers made on
// first use.
type Conn struct {
	id     uint64
	cfg    *config // its listener's options; its owner, the Server's or Client's, is cfg.owner
	loop   *loop
	tok    driver.Token
	ctx    any
	ext    *connExt // what only some connections have: set before it is shared, then read-only
	local  addrPort
	remote addrPort

	// State owned by the loop goroutine.
	life          // the lifecycle: each side's named state, and the two ends (lifecycle.go)
	lb   loopBits // flags only the loop reads and writes, without mu

	// Guarded by mu. Bytes of their own, never bits of lb: the loop sets
	// lb's bits without the lock, and a bit set is a write of the whole byte.
	overHigh  bool // the queue passed the high watermark, OnWritable is owed
	scheduled bool // a taskService is queued
	borrowing bool // set by the loop: a read's callbacks run, and a Write may borrow its bytes (see queue)

	flags atomic.Uint32 // flagPaused, flagReadShut, flagPeerEOF, and the pins (connpool.go): set anywhere, read anywhere
	req   atomic.Uint32 // the close request level; written under mu, read anywhere
	mu    sync.Mutex    // guards out, more, overHigh and scheduled: the only lock on the write path

	// Timestamps on the loop's clock (0: not set), read by deadline().
	openedAt   int64
	lastActive int64 // last read or write, for the idle timeout
	unanswered int64 // first read since the last write
	stalled    int64 // output queued and not moving since
	timer      timerEntry
	tail       *tail // a partial frame, held input, a close's reason and linger: made on first use, kept

	out  outQueue  // its n is the bytes queued, readable without the lock
	more *connMore // made on first use under mu, then kept
}

// loopBits are the flags of a Conn that only its loop reads and writes.
type loopBits uint8

const (
	lbInflight     loopBits = 1 << iota // a write is pending in the engine
	lbReading                           // the engine is reading
	lbBPPaused                          // not reading because queued output is above the high watermark
	lbGotData                           // something was read (the first-data timeout is over)
	lbQuick                             // closed by Shutdown: linger briefly if nothing is owed once drained
	lbAskedClosing                      // ClosingHandler.OnClosing has been called
	lbPooled                            // WithConnPool: reused once ended and unpinned (connpool.go)
)

func (b loopBits) has(f loopBits) bool { return b&f != 0 }

func (b *loopBits) set(f loopBits, on bool) {
	if on {
		*b |= f
	} else {
		*b &^= f
	}
}

// Bits of Conn.flags.
const (
	flagPaused   = 1 << iota // PauseRead
	flagReadShut             // CloseRead, or a close taken over by OnClosing
	flagPeerEOF              // the peer's FIN has been read
)

// connMore is what a connection makes the first time it needs it and keeps:
// Key values, Mark's marks (both guarded by mu) and the timers
// armed for it (loop-owned).
type connMore struct {
	values []keyValue
	marks  markQueue
	timers *Timer // the armed timers, a list through Timer.next
}

type keyValue struct{ k, v any }

// extra returns c's connMore, making it the first time. c.mu must be held.
func (c *Conn) extra() *connMore {
	if c.more == nil {
		c.more = new(connMore)
	}
	return c.more
}

// connExt is what only some connections carry besides a Conn's state: a
// Client's dial, TLS. Kept behind a pointer so that a plain accepted
// connection, the common case, pays 8 bytes for it.
type connExt struct {
	res    chan dialResult // a Client's Dial waits here; nil for accepted connections
	closed chan struct{}   // a Client's: closed when the connection is finished
	tls    *tlsConn        // nil for plain TCP
	proxy  *proxyState     // a WithProxyProtocol listener's: the wait for the header
	// serverName is the host a Client dialed, which TLS verifies unless
	// the config names one.
	serverName string
}

// addrPort is a netip.AddrPort in 20 bytes instead of 32. It keeps no
// zone: the engines never report one.
type addrPort struct {
	ip   [16]byte
	port uint16
	kind uint8 // 0: invalid, 4 or 6, or kindUnix
}

func packAddr(a netip.AddrPort) addrPort {
	p := addrPort{ip: a.Addr().As16(), port: a.Port()}
	switch {
	case a.Addr().Is4():
		p.kind = 4
	case a.Addr().Is6():
		p.kind = 6
	}
	return p
}

func (a addrPort) unpack() netip.AddrPort {
	switch a.kind {
	case 4:
		return netip.AddrPortFrom(netip.AddrFrom16(a.ip).Unmap(), a.port)
	case 6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.ip), a.port)
	}
	return netip.AddrPort{}
}

// srv returns the connection's owner: its Server's or Client's.
func (c *Conn) srv() *owner { return c.cfg.owner }

// handler returns the connection's handler.
func (c *Conn) handler() Handler { return c.cfg.handler }

// stats returns the statistics shard of the connection's loop.
func (c *Conn) stats() *statShard { return &c.cfg.stats[c.loop.idx] }

func newConn(cfg *config, l *loop, t driver.Token, s driver.Sock) *Conn {
	srv := cfg.owner
	c := srv.reuse(l)
	if c == nil {
		c = new(Conn)
	}
	c.id = srv.eng.ids.Add(1)
	c.cfg, c.loop, c.tok = cfg, l, t
	c.local, c.remote = packAddr(s.Local), packAddr(s.Peer)
	c.lb.set(lbReading, true)
	c.openedAt = l.now
	if cfg.unix {
		c.local.kind, c.remote.kind = kindUnix, kindUnix
	}
	return c
}

// ID returns the connection's identifier, unique within its engine and
// never reused.
func (c *Conn) ID() uint64 { return c.id }

// Server returns the server that accepted the connection, or nil for a
// connection made by a Client.
func (c *Conn) Server() *Server { return c.srv().server }

// LocalAddr returns the local address as a *net.TCPAddr, or a
// *net.UnixAddr on a unix socket.
func (c *Conn) LocalAddr() net.Addr {
	if c.local.kind == kindUnix {
		return c.unixAddr(true)
	}
	return net.TCPAddrFromAddrPort(c.local.unpack())
}

// RemoteAddr returns the peer's address as a *net.TCPAddr, or a
// *net.UnixAddr on a unix socket.
func (c *Conn) RemoteAddr() net.Addr {
	if c.remote.kind == kindUnix {
		return c.unixAddr(false)
	}
	return net.TCPAddrFromAddrPort(c.remote.unpack())
}

// LocalAddrPort returns the local address without allocating.
func (c *Conn) LocalAddrPort() netip.AddrPort { return c.local.unpack() }

// RemoteAddrPort returns the peer's address without allocating.
func (c *Conn) RemoteAddrPort() netip.AddrPort { return c.remote.unpack() }

// Write queues a copy of p for sending and returns len(p). Writes from any
// goroutine are sent in the order Write was called; p may be reused as soon
// as Write returns, except when p is part of the data this connection's
// OnData is handling: such bytes are sent from the read buffer without a
// copy when OnData returns (see Handler.OnData), so they must not change
// until then.
// Writes made in callbacks are gathered and sent with one writev per loop
// iteration. After CloseWrite, Close or Abort, or once the
// connection is closed, Write returns ErrClosed. A write that would take
// the queue past WithMaxWriteQueue returns ErrQueueFull, queues nothing and
// aborts the connection (the peer sees a reset; OnClose gets an error
// matching ErrQueueFull): bytes are never dropped from the middle of a
// stream.
func (c *Conn) Write(p []byte) (int, error) {
	if c.ext != nil && c.ext.tls != nil {
		return c.tlsWrite(c.ext.tls, p)
	}
	c.mu.Lock()
	if err := c.admitWrite(len(p)); err != nil {
		return 0, c.refuse(err)
	}
	c.queue(p)
	c.queuedMore(len(p))
	sched := c.markScheduled()
	c.mu.Unlock()
	if sched {
		c.schedule()
	}
	return len(p), nil
}

// Writev queues bufs as one write: no other Write lands between them. Each
// is copied, or sent from the read buffer, as Write says. It returns the
// number of bytes queued.
func (c *Conn) Writev(bufs [][]byte) (int, error) {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	if t := c.tlsOf(); t != nil {
		// One record stream for the whole write: joined, then encrypted.
		b := c.srv().eng.bufs.Get(n)
		defer b.Release()
		k := 0
		for _, p := range bufs {
			k += copy(b.Bytes()[k:], p)
		}
		return c.tlsWrite(t, b.Bytes())
	}
	c.mu.Lock()
	if err := c.admitWrite(n); err != nil {
		return 0, c.refuse(err)
	}
	for _, b := range bufs {
		c.queue(b)
	}
	c.queuedMore(n)
	sched := n > 0 && c.markScheduled()
	c.mu.Unlock()
	if sched {
		c.schedule()
	}
	return n, nil
}

// WriteBuffer queues b's bytes without copying them, in order with the other
// writes. It takes over the caller's reference: b is released once its bytes
// are sent, or at once if WriteBuffer fails (ErrClosed, ErrQueueFull). The
// bytes must not change until then; to send one buffer to several
// connections, Retain it once per extra connection (or use
// Server.BroadcastBuffer).
func (c *Conn) WriteBuffer(b *buffer.Buffer) error {
	n := len(b.Bytes())
	if t := c.tlsOf(); t != nil {
		defer b.Release()
		_, err := c.tlsWrite(t, b.Bytes())
		return err
	}
	c.mu.Lock()
	if err := c.admitWrite(n); err != nil {
		b.Release()
		return c.refuse(err)
	}
	c.out.writeBuffer(b)
	c.queuedMore(n)
	sched := c.markScheduled()
	c.mu.Unlock()
	if sched {
		c.schedule()
	}
	return nil
}

// SendFile queues n bytes of f from offset off, sent after everything
// queued before it, by the kernel where the engine can (sendfile(2) on
// epoll; Go's net package, which also uses sendfile on Linux, on std). It
// takes over f: f is closed once its bytes are sent or the connection
// closes, and at once if SendFile fails. File bytes count in Buffered but
// not toward the watermarks or WithMaxWriteQueue: they are not in memory.
func (c *Conn) SendFile(f *os.File, off int64, n int) error {
	if n <= 0 {
		f.Close()
		return nil
	}
	if t := c.tlsOf(); t != nil {
		return c.tlsSendFile(t, f, off, n)
	}
	c.mu.Lock()
	if err := c.admitWrite(0); err != nil {
		f.Close()
		return c.refuse(err)
	}
	c.out.writeFile(f, off, n)
	c.stats().queued.Add(int64(n))
	sched := c.markScheduled()
	c.mu.Unlock()
	if sched {
		c.schedule()
	}
	return nil
}

// CloseWrite sends FIN once every queued byte is sent; reading goes on and
// OnData keeps coming until the peer closes too (a half-close). Further
// writes return ErrClosed.
func (c *Conn) CloseWrite() error {
	if t := c.tlsOf(); t != nil {
		c.tlsCloseNotify(t)
	}
	return c.request(reqCloseWrite)
}

// Close closes gracefully: no more OnData, every queued byte is sent, then a
// FIN, then the socket closes after a lingering wait for the peer's FIN (see
// WithLinger). OnClose follows with a nil error unless something failed.
func (c *Conn) Close() error {
	if t := c.tlsOf(); t != nil {
		c.tlsCloseNotify(t)
	}
	return c.request(reqClose)
}

// Abort closes at once with a reset (SO_LINGER 0): queued bytes are dropped
// and the peer sees ECONNRESET. OnClose follows with ErrAborted. Abort also
// cuts short a graceful close in progress.
func (c *Conn) Abort() error { return c.request(reqAbort) }

func (c *Conn) request(r uint32) error {
	c.mu.Lock()
	if r == reqCloseWrite && c.readShut() {
		r = reqClose // both sides shut: the graceful close
	}
	if c.req.Load() >= r {
		c.mu.Unlock()
		return ErrClosed
	}
	c.req.Store(r)
	sched := c.markScheduled()
	c.mu.Unlock()
	if sched {
		c.schedule()
	}
	return nil
}

// Do runs fn on the connection's loop: after what is already queued for it,
// and never at the same time as the connection's callbacks, so fn may use
// the state those callbacks keep without a lock (a worker's result applied
// to the connection, say). Safe from any goroutine, callbacks included; it
// does not wait for fn. fn does not run if the connection has closed by
// its turn (OnClose has run then), and Do returns ErrClosed when the
// engine is gone. A panic in fn closes the connection, as one in a
// callback does.
func (c *Conn) Do(fn func(c *Conn)) error {
	if !c.loop.push(task{kind: taskFunc, c: c, id: c.id, fn: func() {
		if c.closed {
			return
		}
		defer c.recover("Do")
		fn(c)
	}}) {
		return ErrClosed
	}
	return nil
}

// Buffered returns the number of bytes queued for sending and not yet
// handed to the kernel.
func (c *Conn) Buffered() int { return int(c.out.n.Load()) }

// setValue stores v under key k (a *Key) for the connection's lifetime; a
// nil v deletes it. Safe from any goroutine.
func (c *Conn) setValue(k, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.more == nil && v == nil {
		return
	}
	vs := &c.extra().values
	for i := range *vs {
		if (*vs)[i].k == k {
			if v == nil {
				*vs = append((*vs)[:i], (*vs)[i+1:]...)
			} else {
				(*vs)[i].v = v
			}
			return
		}
	}
	if v != nil {
		*vs = append(*vs, keyValue{k, v})
	}
}

// value returns what setValue stored under k, or nil. Safe from any goroutine.
func (c *Conn) value(k any) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.more == nil {
		return nil
	}
	for _, kv := range c.more.values {
		if kv.k == k {
			return kv.v
		}
	}
	return nil
}

// Context returns the value set by SetContext: one fast, unsynchronized slot
// for the connection's own handler.
func (c *Conn) Context() any { return c.ctx }

// SetContext sets the value returned by Context. See Context.
func (c *Conn) SetContext(v any) { c.ctx = v }

// Key is a typed key for values kept on a connection for its lifetime: each
// layer above a connection (a protocol, a middleware) keeps its own slot
// without type assertions at the call site, and two keys never collide.
// Set, Get and Delete are safe from any goroutine. (Context is the other
// way to keep a value on a connection: one unsynchronized slot, for the
// handler's own state on the loop. An untyped SetValue/Value pair, a third
// way to do what Key does, was removed in issue 14.)
type Key[T any] struct{ name string }

// NewKey returns a new key; name is for debugging only: two keys with the
// same name are still distinct.
func NewKey[T any](name string) *Key[T] { return &Key[T]{name: name} }

// Set stores v on c under k.
func (k *Key[T]) Set(c *Conn, v T) { c.setValue(k, v) }

// Get returns the value stored on c under k, and whether there is one.
func (k *Key[T]) Get(c *Conn) (T, bool) {
	v, ok := c.value(k).(T)
	return v, ok
}

// Delete removes the value stored on c under k.
func (k *Key[T]) Delete(c *Conn) { c.setValue(k, nil) }

// String returns the key's name.
func (k *Key[T]) String() string { return k.name }

// admitWrite says whether n more bytes may be queued. c.mu must be held.
//
// A write past WithMaxWriteQueue is not simply dropped: the stream would
// have a hole where it should have been, and the peer could not tell.
// The connection is aborted instead (the peer sees a reset, OnClose gets
// ErrQueueFull), so what cannot be delivered breaks the connection visibly.
func (c *Conn) admitWrite(n int) error {
	if c.req.Load() != reqNone {
		return ErrClosed
	}
	if c.ext != nil && c.ext.proxy != nil && c.ext.proxy.pending.Load() {
		return ErrNotOpen // nothing goes out before the PROXY header is read
	}
	if m := c.cfg.writeMax; m > 0 && c.out.mem+n > m {
		c.req.Store(reqOverflow)
		return ErrQueueFull
	}
	return nil
}

// queue puts p on the write queue. c.mu must be held.
//
// While the callbacks of a read run, the connection it is delivered to is
// borrowing (the loop sets borrowing under mu before OnData and clears it
// in settle, under mu again, once they are over), and bytes of that read
// (an echo, or part of one) are queued as a borrowed segment that points
// into the read buffer instead of being copied. settle then writes what
// the socket takes and copies the rest: the one place borrowed segments
// end. Since the window opens and closes under the lock that every Write
// takes, a Write from another goroutine either lands before the window
// closes, and settle finds its borrowed segment, or after it, and copies;
// the loop's read buffer can never be referenced once it is reused. Bytes
// written to any other connection, or outside a read's callbacks, are
// copied.
func (c *Conn) queue(p []byte) {
	if c.borrowing {
		if off, ok := within(p, c.loop.window); ok {
			c.out.borrow(off, len(p))
			return
		}
	}
	c.out.write(p, &c.loop.chunks)
}

// queueRaw queues bytes that TLS has framed: records of a Write, and the
// alerts and handshake messages crypto/tls sends on its own, which must go
// out after a close was requested too (a close_notify). Only an abort, or
// the connection's end, refuses them.
func (c *Conn) queueRaw(p []byte) (int, error) {
	c.mu.Lock()
	if c.req.Load() >= reqAbort {
		c.mu.Unlock()
		return 0, ErrClosed
	}
	if m := c.cfg.writeMax; m > 0 && c.out.mem+len(p) > m {
		c.req.Store(reqOverflow)
		return 0, c.refuse(ErrQueueFull)
	}
	c.out.write(p, &c.loop.chunks)
	c.queuedMore(len(p))
	sched := c.markScheduled()
	c.mu.Unlock()
	if sched {
		c.schedule()
	}
	return len(p), nil
}

// refuse unlocks c.mu after admitWrite refused a write and returns the
// error; an overflow has aborted the connection, which the loop must act on.
func (c *Conn) refuse(err error) error {
	sched := err == ErrQueueFull && c.markScheduled()
	c.mu.Unlock()
	if sched {
		c.schedule()
	}
	return err
}

// PauseRead stops reading from the connection until ResumeRead: no OnData
// comes meanwhile, and TCP pushes back on the peer. Safe from any goroutine.
func (c *Conn) PauseRead() { c.flags.Or(flagPaused); c.poke() }

// ResumeRead undoes PauseRead. Reading may still wait for the write queue to
// fall below the low watermark.
func (c *Conn) ResumeRead() { c.flags.And(^uint32(flagPaused)); c.poke() }

// paused reports whether PauseRead holds reading.
func (c *Conn) paused() bool { return c.flags.Load()&flagPaused != 0 }

// Writable reports whether the write queue is at or below the high
// watermark, that is, whether writing more is welcome. Once it has reported
// false, OnWritable follows when the queue drains to the low watermark.
func (c *Conn) Writable() bool {
	high, _ := c.cfg.watermarks()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.mem <= high
}

// queuedMore accounts n more queued bytes in the loop's share of the
// server's total (the queue counts its own) and notes a crossing of the
// high watermark, so that whoever then sees Writable() false is owed an
// OnWritable. c.mu must be held.
func (c *Conn) queuedMore(n int) {
	c.stats().queued.Add(int64(n))
	if c.out.mem > c.cfg.highWater() {
		c.overHigh = true
	}
}

// drainedToLow reports, once per crossing, that the queue fell back to the
// low watermark after passing the high one.
func (c *Conn) drainedToLow() bool {
	_, low := c.cfg.watermarks()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.overHigh || c.out.mem > low {
		return false
	}
	c.overHigh = false
	return true
}

// poke makes the loop look at the connection's requests.
func (c *Conn) poke() {
	c.mu.Lock()
	sched := c.markScheduled()
	c.mu.Unlock()
	if sched {
		c.schedule()
	}
}

// markScheduled reports whether the caller must queue a taskService. c.mu
// must be held.
func (c *Conn) markScheduled() bool {
	if c.scheduled {
		return false
	}
	c.scheduled = true
	return true
}

func (c *Conn) schedule() {
	c.loop.push(task{kind: taskService, c: c})
}

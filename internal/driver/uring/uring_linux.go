// Package uring is proactor's Linux engine on io_uring(7).
//
// Operations are posted to one ring per loop and their completions reaped
// in Poll: a multishot accept per listener, a multishot receive per
// connection from the loop's provided buffer ring (an idle connection holds
// no buffer), a sendmsg for the part of a write the socket did not take at
// once, a read of an eventfd kept armed for Wake, and a one-shot poll for
// connects and for hang-ups of connections that neither read nor write.
// Datagram sockets receive with a multishot recvmsg from a buffer ring of
// their own (packet_linux.go).
//
// Submission is single-threaded: the ring is created disabled with
// IORING_SETUP_SINGLE_ISSUER (and DEFER_TASKRUN where the kernel has it);
// the first call from the loop goroutine locks it to its OS thread and
// enables the ring there, so that every submission and every wait comes from
// that thread. Release unlocks it. Where the kernel refuses those flags the
// engine falls back to plainer rings and keeps the same discipline.
//
// Kernel-visible data never holds a Go pointer to engine state: user_data
// is an operation kind, a 28-bit generation and a 32-bit slot, and a
// completion whose generation does not match its slot is dropped after its
// resources are reclaimed (its buffer returned to the ring, its accepted
// socket closed). The memory an operation points at — receive buffers,
// sendmsg headers and iovecs, the eventfd's counter, the wait's timespec —
// stays referenced until the operation's last completion.
package uring

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"net"
	"net/netip"
	"os"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/sock"
	"github.com/seed487d475b/proactor/internal/uring"
)

// Ring sizes. Multishot operations post many completions per submission,
// hence the larger completion ring; an overflow is survived anyway (the
// kernel keeps the surplus and Poll flushes it).
const (
	sqEntries = 256
	cqEntries = 4096
)

// The provided buffer ring. Where the kernel consumes buffers
// incrementally (6.12 and later; tried, not assumed), a loop has 1 MiB of
// them: 16 of 64 KiB by default (Config.ReadBufferSize sets the size of
// each, as it sets epoll's read buffer). Receives pack one behind another,
// so 64-byte messages from thousands of connections share a few buffers,
// and the ring stays in the CPU's cache (L2 here is 2 MiB a core; 4 MiB of
// buffers, used round-robin, cost 20% of CPU per message at 16 KiB).
// Elsewhere a receive uses up a whole buffer, and the ring is 256 buffers
// of 16 KiB. Buffers are returned as soon as the Sink's Read returns, so the
// ring runs dry only when a batch brings more than it holds; those
// connections get ENOBUFS and are re-armed after the batch.
//
// A multishot receive on a socket with more queued goes on taking buffer
// after buffer (up to 32 in one go), so where the kernel can
// (IORING_RECV_MSHOT_LIM; tried, not assumed) each receive ends after
// recvBudget bytes and is re-armed, and a batch serves 16 backed-up
// connections before the ring runs dry. Without it the first receive of a
// batch took the whole ring and every other one got ENOBUFS: in the
// conformance suite's ShutdownInFlight (20 connections streaming, -race)
// connections went 10 s without their first bytes, one Poll per busy
// connection ahead of them.
const (
	incRingBytes    = 1 << 20
	incBufSize      = 64 << 10
	minIncBufCount  = 4
	defaultBufCount = 256
	defaultBufSize  = 16 << 10
	maxBufSize      = 1 << 20
	bufGroup        = 0

	// recvBudget is the byte limit of one multishot receive: the root
	// package's read budget per loop iteration, which holds back in the
	// connection's inbox what a receive brings past it.
	recvBudget = 64 << 10
)

// user_data: kind in the top 4 bits, the low 28 bits of the generation,
// then the slot.
const (
	kindShift = 60
	genShift  = 32
	genBits   = 1<<28 - 1
)

type kind uint8

const (
	kWake kind = iota + 1
	kAccept
	kRecv
	kSend
	kPoll // a connect in progress, or the hang-up watch of an idle socket
	kCancel
	kPacket // a datagram socket's recvmsg (packet_linux.go)
)

func userData(k kind, slot, gen uint32) uint64 {
	return uint64(k)<<kindShift | uint64(gen&genBits)<<genShift | uint64(slot)
}

var errBusy = errors.New("proactor: uring: a write is already in flight")

type uringDriver struct {
	recvLimit bool // the kernel ends a multishot receive at a byte limit
}

// New returns the io_uring engine, or an error wrapping
// driver.ErrUnsupported when this kernel (or its configuration: the
// io_uring_disabled sysctl, a seccomp filter) cannot run it. It probes the
// kernel each time: ring setup, the operations the engine uses, provided
// buffer rings, multishot accept and multishot receive.
func New() (driver.Driver, error) {
	recvLimit, err := probe()
	if err != nil {
		return nil, err
	}
	return uringDriver{recvLimit: recvLimit}, nil
}

func (uringDriver) Name() string { return "uring" }

// connSlot is a connection's state in the engine: 12 bytes, so that an
// idle connection costs little. What only some connections need at some
// moments (a pending write or SendFile) lives in the poller's xs, made on
// the slot's first need and kept for the connections that reuse the slot
// (fExtra says it is there): most connections never have one, and a
// pointer here would cost every slot 12 bytes with its alignment.
type connSlot struct {
	fd  int32 // -1 when the slot is free
	gen uint32

	reading   bool  // the state machine wants reads
	recvArmed bool  // a multishot receive is in flight
	sending   bool  // a sendmsg, or a SendFile's wait for room, is in flight
	rare      uint8 // fRecvCancel, fConnecting, fPollArmed, fExtra: bits, to keep the slot small
}

// slotExtra is the part of a slot's state that an idle connection does
// not use. It is allocated apart from the slot table because the kernel
// holds msg's and vecs' addresses until the sendmsg completes, which may be
// after the connection has left the slot (see poller.orphans).
type slotExtra struct {
	// The rest of a pending write, or of a pending SendFile: fleft bytes of
	// file from foff, whose wait for room in the socket is a POLLOUT poll
	// with the send's user_data. written counts what either has sent.
	iov     [][]byte
	vecs    []unix.Iovec
	msg     unix.Msghdr
	file    *os.File
	foff    int64
	fleft   int
	written int
}

func freshSlot(c *connSlot) { c.fd = -1 }

// The bits of connSlot.rare.
const (
	fRecvCancel uint8 = 1 << iota // a cancel for the multishot receive has been queued
	fConnecting                   // a connect is in progress
	fPollArmed                    // a POLL_ADD (connect, SendFile's room) is in flight
	fExtra                        // poller.xs holds this slot's extra state; kept across connections
)

func (c *connSlot) has(f uint8) bool { return c.rare&f != 0 }

func (c *connSlot) set(f uint8, on bool) {
	if on {
		c.rare |= f
	} else {
		c.rare &^= f
	}
}

// extra returns slot i's extra state, making it the first time.
func (p *poller) extra(i uint32, c *connSlot) *slotExtra {
	if c.has(fExtra) {
		return p.xs[i]
	}
	if p.xs == nil {
		p.xs = make(map[uint32]*slotExtra)
	}
	x := new(slotExtra)
	p.xs[i] = x
	c.set(fExtra, true)
	return x
}

// release empties slot i for the next connection: the extra state stays,
// with its slices' capacity, but forgets the file and the write's buffers.
// A sendmsg in flight must have taken the extra state away first.
func (p *poller) release(i uint32, c *connSlot) {
	if c.has(fExtra) {
		x := p.xs[i]
		clear(x.iov)
		clear(x.vecs)
		*x = slotExtra{iov: x.iov[:0], vecs: x.vecs[:0]}
	}
	*c = connSlot{fd: -1, rare: c.rare & fExtra}
}

type lnSlot struct {
	fd     int // -1 when the slot is free
	gen    uint32
	local  netip.AddrPort     // the bound address, or zero when bound to a wildcard
	on     bool               // accepting is wanted
	opts   driver.SockOptions // set on each accepted socket
	posted int                // accepts in flight: one multishot, or AcceptBatch single-shot ones
	cancel bool               // and a cancel for them has been queued
	drain  bool               // SetAccepting(false) or Unlisten cancelled them: drain the queue once they are done (drainBacklog)
	owed   int                // single-shot accepts cancelled that brought no socket: wakes they may have swallowed (drainBound)
	slot   uint32             // on the closing list: the slot it had
}

// drainBound is how many connections the drain after a cancel accepts at
// the most: as many as the cancelled accepts may have swallowed wakes of.
// An accept waits on the socket exclusively and the kernel wakes the first
// waiter per connection (io_poll_wake takes the wake and returns 1 whether
// or not it can run the request at once). A single-shot accept leaves the
// socket's wait queue at the wake it takes, so each swallows one: owed,
// counted when the cancel is queued, less those that completed with a
// socket (their wake was used). The multishot accept stays on the wait
// queue until its task work runs and takes every wake that comes in the
// meantime, all for connections still queued when it completes: the bound
// is the accept queue's length then, which is what its next round would
// have accepted (TestDrainMultishot: one cancelled multishot accept, three
// wakes swallowed). The kernel does not say a unix socket's queue length:
// there, at most unixDrainMax. Not covered: a wake that comes while the
// cancel itself runs (between marking the request cancelled and its task
// work unhooking it, within the io_uring_enter that submits the cancel)
// is swallowed by any accept still waiting; that connection waits for the
// next one to wake the other process's accept.
func (l *lnSlot) drainBound() int {
	if l.opts.AcceptBatch > 0 {
		return l.owed
	}
	if n, err := listenQueue(l.fd); err == nil {
		return n
	}
	return unixDrainMax
}

// unixDrainMax bounds the drain of a multishot unix listener, whose accept
// queue's length the kernel does not report: epoll's accepts per readiness.
const unixDrainMax = 64

// accepts is how many accepts the listener keeps posted: AcceptBatch
// single-shot ones, each bringing one connection per completion (at most
// that many per Poll, as the seeds' posted AcceptEx calls), or one
// multishot accept.
func (l *lnSlot) accepts() int { return max(l.opts.AcceptBatch, 1) }

// options are knobs for the tests; the zero value means the defaults.
type options struct {
	bufCount   int
	bufSize    int
	classic    bool   // never incremental buffers
	setupFlags uint32 // exactly these io_uring_setup flags, not the ladder
	noWaitAll  bool   // let the kernel complete sends short
	recvLimit  int    // bytes after which a multishot receive ends: 0 recvBudget, -1 none
	sqEntries  uint32
	cqEntries  uint32
	// singleRecvmsg receives datagrams with single-shot recvmsg, as on a
	// kernel without the multishot form.
	singleRecvmsg bool
}

// newBufRing registers the loop's buffer ring: incremental where the
// kernel takes it, whole buffers otherwise.
func newBufRing(ring *uring.Ring, cfg driver.Config, o options) (*uring.BufRing, error) {
	size := o.bufSize
	if size <= 0 {
		size = cfg.ReadBufferSize
	}
	if !o.classic {
		sz := size
		if sz <= 0 {
			sz = incBufSize
		}
		sz = min(sz, maxBufSize)
		count := o.bufCount
		if count <= 0 {
			count = max(minIncBufCount, 1<<(bits.Len(uint(incRingBytes/sz))-1))
		}
		bufs, err := uring.NewBufRing(ring, bufGroup, count, sz, true)
		if err == nil || !errors.Is(err, unix.EINVAL) {
			return bufs, err
		}
	}
	count := o.bufCount
	if count <= 0 {
		count = defaultBufCount
	}
	if size <= 0 {
		size = defaultBufSize
	}
	return uring.NewBufRing(ring, bufGroup, count, min(size, maxBufSize), false)
}

type poller struct {
	sqeFault error // set by tests: sqe fails with it, as with a full queue
	wakeLost bool  // the eventfd's read could not be re-armed: Poll retries
	ring     *uring.Ring
	bufs     *uring.BufRing
	wakefd   int
	wakeBuf  *[8]byte // the eventfd read's target, written by the kernel
	o        options
	// The bytes after which a multishot receive ends and is re-armed, so
	// that one backed-up socket cannot take the whole buffer ring in a
	// batch; 0 where the kernel has no such limit.
	recvLimit uint32

	owned    bool // locked to the loop's thread, ring enabled
	tid      int
	released bool
	inflight int // operations submitted or queued whose last completion has not come
	enobufs  int // receives ended by ENOBUFS, for the tests
	overflow int // Polls that found the completion ring overflowed, likewise

	cqes    []uring.CQE
	conns   driver.Table[connSlot]
	lns     []lnSlot
	closing []lnSlot // unlistened, their cancelled accepts not all completed (finishClosing)
	w       sock.Writer
	orphans map[uint64]*slotExtra // sends of closed connections, until their completion
	xs      map[uint32]*slotExtra // by slot: see connSlot
	starved []driver.Token        // receives ended by ENOBUFS, re-armed after the batch

	// Datagram sockets (packet_linux.go).
	pkts         []pktSlot
	pktOrphans   map[uint64]*pktRecv // receives of closed sockets, until their last completion
	pktDead      []*pktRecv          // closed while idle, freed after the reap
	pktGroups    []uint16            // buffer groups free for reuse
	pktNextGroup uint16
	pktSingle    bool // the kernel refused multishot recvmsg
	pds          pktBatch
	tx           *sock.Mmsg // sendmmsg scratch, made on the first send
}

func (d uringDriver) NewPoller(cfg driver.Config) (driver.Poller, error) {
	var o options
	if !d.recvLimit {
		o.recvLimit = -1
	}
	return newPoller(cfg, o)
}

func newPoller(cfg driver.Config, o options) (*poller, error) {
	sq, cq := uint32(sqEntries), uint32(cqEntries)
	if o.sqEntries > 0 {
		sq, cq = o.sqEntries, o.cqEntries
	}
	ring, err := uring.Setup(sq, cq, o.setupFlags)
	if err != nil {
		return nil, err
	}
	bufs, err := newBufRing(ring, cfg, o)
	if err != nil {
		ring.Close()
		return nil, err
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		ring.Close()
		bufs.Free()
		return nil, sock.Wrap("eventfd", err)
	}
	p := &poller{
		ring:    ring,
		bufs:    bufs,
		wakefd:  wakefd,
		wakeBuf: new([8]byte),
		o:       o,
		cqes:    make([]uring.CQE, 256),

		pktOrphans: make(map[uint64]*pktRecv),
	}
	switch {
	case o.recvLimit == 0:
		p.recvLimit = recvBudget
	case o.recvLimit > 0:
		p.recvLimit = uint32(o.recvLimit)
	}
	// Queued now, submitted by the first Poll on the loop's thread.
	if err := p.armWake(); err != nil {
		p.Release()
		return nil, err
	}
	return p, nil
}

// own binds the poller to the calling goroutine's OS thread on the first
// call from the loop goroutine and enables the ring there.
func (p *poller) own() error {
	if p.owned {
		return nil
	}
	if p.released {
		return net.ErrClosed
	}
	runtime.LockOSThread()
	if p.ring.Disabled() {
		if err := p.ring.Enable(); err != nil {
			runtime.UnlockOSThread()
			return err
		}
	}
	p.owned, p.tid = true, unix.Gettid()
	return nil
}

// sqe returns a submission entry, submitting what is queued if the ring is
// full. Each entry counts as in flight until its last completion.
func (p *poller) sqe() (*uring.SQE, error) {
	if p.sqeFault != nil {
		return nil, p.sqeFault // a test's: no entry to be had
	}
	e := p.ring.GetSQE()
	if e == nil && p.owned {
		if err := p.ring.Submit(); err != nil {
			return nil, err
		}
		e = p.ring.GetSQE()
	}
	if e == nil {
		return nil, sock.Wrap("io_uring_enter", unix.EBUSY)
	}
	p.inflight++
	return e, nil
}

func (p *poller) armWake() error {
	e, err := p.sqe()
	if err != nil {
		return err
	}
	e.Opcode = uring.OpRead
	e.Fd = int32(p.wakefd)
	e.Off = ^uint64(0) // no offset: the eventfd is not seekable
	// SAFETY: wakeBuf is a heap array referenced by the poller until
	// Release, which waits for the read's last completion; Go's heap does
	// not move. The kernel writes its 8 bytes; Go code never reads them.
	e.Addr = uint64(uintptr(unsafe.Pointer(&p.wakeBuf[0])))
	e.Len = 8
	e.UserData = userData(kWake, 0, 0)
	return nil
}

func (p *poller) armRecv(t driver.Token, c *connSlot) error {
	e, err := p.sqe()
	if err != nil {
		return err
	}
	e.Opcode = uring.OpRecv
	e.Fd = c.fd
	e.IOPrio = uring.RecvMultishot
	e.Flags = uring.SQEBufferSelect
	e.BufGroup = p.bufs.Group()
	// For a receive this field is optlen: the multishot's byte limit
	// (IORING_RECV_MSHOT_LIM). Reaching it ends the receive like any other
	// last completion, and recvDone re-arms it.
	e.FileIndex = int32(p.recvLimit)
	e.UserData = userData(kRecv, t.Slot(), c.gen)
	c.recvArmed = true
	c.set(fRecvCancel, false)
	return nil
}

// armAccept posts accepts until the listener has its count in flight.
func (p *poller) armAccept(t driver.Token, l *lnSlot) error {
	for l.posted < l.accepts() {
		e, err := p.sqe()
		if err != nil {
			return err
		}
		e.Opcode = uring.OpAccept
		e.Fd = int32(l.fd)
		if l.opts.AcceptBatch <= 0 {
			e.IOPrio = uring.AcceptMultishot
		}
		e.OpFlags = unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
		e.UserData = userData(kAccept, t.Slot(), l.gen)
		l.posted++
		l.cancel = false
	}
	return nil
}

// cancelAccepts cancels every accept the listener has posted; once the
// last has completed, the listen queue is drained (drainBacklog).
func (p *poller) cancelAccepts(t driver.Token, l *lnSlot) {
	l.cancel, l.drain, l.owed = true, true, l.posted
	p.cancel(userData(kAccept, t.Slot(), l.gen), uring.CancelAll)
}

// armPoll waits for events on c's socket: POLLOUT for a connect, the
// error and hang-up conditions for the watch.
func (p *poller) armPoll(t driver.Token, c *connSlot, events uint32) error {
	e, err := p.sqe()
	if err != nil {
		return err
	}
	e.Opcode = uring.OpPollAdd
	e.Fd = c.fd
	e.OpFlags = poll32(events)
	e.UserData = userData(kPoll, t.Slot(), c.gen)
	c.set(fPollArmed, true)
	return nil
}

// poll32 encodes poll32_events, which the kernel reads with its 16-bit
// halves swapped on big-endian machines.
func poll32(ev uint32) uint32 {
	if binary.NativeEndian.Uint16([]byte{0, 1}) == 1 {
		return ev<<16 | ev>>16
	}
	return ev
}

// cancel queues the cancellation of the operation with user_data ud.
func (p *poller) cancel(ud uint64, flags ...uint32) {
	e, err := p.sqe()
	if err != nil {
		// The operation runs on; its completions are stale and dropped.
		return
	}
	e.Opcode = uring.OpAsyncCancel
	e.Fd = -1
	e.Addr = ud
	for _, f := range flags {
		e.OpFlags |= f
	}
	e.UserData = userData(kCancel, 0, 0)
}

// watch arms the hang-up watch of a connection that neither reads nor
// writes, so that a reset is noticed while it idles (as epoll's EPOLLERR
// and EPOLLHUP are).
func (p *poller) watch(t driver.Token, c *connSlot) {
	if c.reading || c.sending || c.has(fConnecting) || c.has(fPollArmed) {
		return
	}
	// Without a submission entry the hang-up is noticed later, by the
	// next read or write: the watch only makes it sooner.
	_ = p.armPoll(t, c, unix.POLLERR|unix.POLLHUP)
}

// wantRecv reports whether c should have a receive armed.
func (c *connSlot) wantRecv() bool {
	return c.reading && !c.recvArmed
}

func (p *poller) conn(t driver.Token) *connSlot {
	c := p.conns.Get(t.Slot())
	if c == nil || c.fd < 0 || c.gen != t.Gen() {
		return nil
	}
	return c
}

func (p *poller) listener(t driver.Token) *lnSlot {
	i := int(t.Slot())
	if i >= len(p.lns) {
		return nil
	}
	l := &p.lns[i]
	if l.fd < 0 || l.gen != t.Gen() {
		return nil
	}
	return l
}

// flushSubmissions hands queued entries to the kernel before a descriptor
// is closed: an entry names its socket by descriptor number, which another
// goroutine may reuse as soon as it is closed. Once submitted, an operation
// holds the socket itself.
func (p *poller) flushSubmissions() {
	if p.owned && p.ring.Pending() > 0 {
		_ = p.ring.Submit()
	}
}

func (p *poller) Listen(t driver.Token, ln net.Listener, o driver.SockOptions) error {
	if err := p.own(); err != nil {
		return err
	}
	fd, local, err := sock.DupListener(ln)
	if err != nil {
		return err
	}
	for int(t.Slot()) >= len(p.lns) {
		p.lns = append(p.lns, lnSlot{fd: -1})
	}
	l := &p.lns[t.Slot()]
	*l = lnSlot{fd: fd, gen: t.Gen(), local: local, on: true, opts: o}
	if err := p.armAccept(t, l); err != nil {
		unix.Close(fd)
		l.fd = -1
		return err
	}
	return nil
}

func (p *poller) SetAccepting(t driver.Token, on bool) error {
	l := p.listener(t)
	if l == nil {
		return net.ErrClosed
	}
	if err := p.own(); err != nil {
		return err
	}
	l.on = on
	switch {
	case on && !l.cancel:
		return p.armAccept(t, l)
	case !on && l.posted > 0 && !l.cancel:
		// Sockets accepted before the cancel takes effect are still
		// reported; the state machine holds them.
		p.cancelAccepts(t, l)
	}
	return nil
}

func (p *poller) Unlisten(t driver.Token) error {
	l := p.listener(t)
	if l == nil {
		return net.ErrClosed
	}
	if err := p.own(); err != nil {
		return err
	}
	if l.posted > 0 {
		if !l.cancel {
			p.cancelAccepts(t, l)
		}
		// The descriptor stays open until the last cancelled accept has
		// completed and the queue has been drained (finishClosing): a
		// wake a cancelled accept swallowed would otherwise be lost to
		// another process that shares the socket. The slot is free at
		// once; the completions name the old generation.
		l.on, l.slot = false, t.Slot()
		p.closing = append(p.closing, *l)
		*l = lnSlot{fd: -1}
		return nil
	}
	if l.drain {
		// Called by the Sink for the last cancelled accept, before the
		// drain that follows it.
		l.drainUnserved()
	}
	p.flushSubmissions()
	err := unix.Close(l.fd)
	*l = lnSlot{fd: -1}
	return sock.Wrap("close", err)
}

// slot returns t's slot with its flags reset: an Attach or a Connect that
// failed half-way leaves some set. What the extra state holds was cleared
// when the last connection left (release).
func (p *poller) slot(t driver.Token) *connSlot {
	p.conns.Grow(t.Slot(), freshSlot)
	c := p.conns.At(t.Slot())
	*c = connSlot{fd: -1, rare: c.rare & fExtra}
	return c
}

func (p *poller) Attach(t driver.Token, s driver.Sock) error {
	if err := p.own(); err != nil {
		return err
	}
	c := p.slot(t)
	c.fd, c.gen, c.reading = int32(s.FD), t.Gen(), true
	if err := p.armRecv(t, c); err != nil {
		c.fd = -1
		return err
	}
	return nil
}

func (p *poller) Connect(t driver.Token, addr netip.AddrPort, o driver.SockOptions) error {
	if err := p.own(); err != nil {
		return err
	}
	fd, err := sock.Connect(addr, o)
	if err != nil {
		return err
	}
	c := p.slot(t)
	c.fd, c.gen = int32(fd), t.Gen()
	c.set(fConnecting, true)
	// Writable means connected or failed: SO_ERROR tells which.
	if err := p.armPoll(t, c, unix.POLLOUT); err != nil {
		unix.Close(fd)
		c.fd = -1
		return err
	}
	return nil
}

// Discard resets a socket that never became a connection, so that a
// refused client fails fast.
func (p *poller) Discard(s driver.Sock) { sock.AbortClose(s.FD) }

func (p *poller) SetReading(t driver.Token, on bool) error {
	c := p.conn(t)
	if c == nil {
		return net.ErrClosed
	}
	if err := p.own(); err != nil {
		return err
	}
	if c.reading == on || c.has(fConnecting) {
		c.reading = on || c.has(fConnecting)
		return nil
	}
	c.reading = on
	if on {
		if c.wantRecv() {
			return p.armRecv(t, c)
		}
		return nil
	}
	if c.recvArmed && !c.has(fRecvCancel) {
		// What arrives before the cancel takes effect is still
		// reported; the state machine holds it.
		c.set(fRecvCancel, true)
		p.cancel(userData(kRecv, t.Slot(), c.gen))
	}
	p.watch(t, c)
	return nil
}

// writeNow writes what the socket takes at once and returns the slot and
// what is left of iov; a full socket is not an error. A write the socket
// takes at once completes inline, as on epoll: one writev instead of a
// submission and a completion.
func (p *poller) writeNow(t driver.Token, iov [][]byte) (*connSlot, int, [][]byte, error) {
	c := p.conn(t)
	if c == nil {
		return nil, 0, nil, net.ErrClosed
	}
	if c.sending {
		return c, 0, nil, errBusy
	}
	if err := p.own(); err != nil {
		return c, 0, nil, err
	}
	n, rest, err := p.w.WriteNow(int(c.fd), iov)
	return c, n, rest, err
}

func (p *poller) Write(t driver.Token, iov [][]byte) (int, bool, error) {
	c, n, rest, err := p.writeNow(t, iov)
	if err != nil || len(rest) == 0 {
		return n, false, err
	}
	x := p.extra(t.Slot(), c)
	x.iov = append(x.iov[:0], rest...)
	x.written = n
	if err := p.submitSend(t, c); err != nil {
		clear(x.iov)
		x.iov = x.iov[:0]
		return n, false, err
	}
	return n, true, nil
}

// Unsent returns how many bytes of t's output the kernel has not sent
// yet (driver.Unsender).
func (p *poller) Unsent(t driver.Token) int {
	if c := p.conn(t); c != nil {
		return sock.Unsent(int(c.fd))
	}
	return 0
}

// TryWrite writes inline what the socket takes now; it submits nothing.
func (p *poller) TryWrite(t driver.Token, iov [][]byte) (int, error) {
	_, n, _, err := p.writeNow(t, iov)
	return n, err
}

// SendFile sends with sock.Sendfile(2) at once and, when the socket is full,
// goes on after a POLLOUT poll: io_uring has no sendfile of its own.
func (p *poller) SendFile(t driver.Token, f *os.File, off int64, n int) (int, bool, error) {
	c := p.conn(t)
	if c == nil {
		return 0, false, net.ErrClosed
	}
	if c.sending {
		return 0, false, errBusy
	}
	if err := p.own(); err != nil {
		return 0, false, err
	}
	sent, err := sock.Sendfile(int(c.fd), f, &off, n)
	if err != nil && err != unix.EAGAIN {
		return sent, false, sock.Wrap("sendfile", err)
	}
	if sent == n {
		return sent, false, nil
	}
	x := p.extra(t.Slot(), c)
	x.file, x.foff, x.fleft, x.written = f, off, n-sent, sent
	if err := p.armFilePoll(t, c); err != nil {
		x.file = nil
		return sent, false, err
	}
	return sent, true, nil
}

func (p *poller) armFilePoll(t driver.Token, c *connSlot) error {
	e, err := p.sqe()
	if err != nil {
		return err
	}
	e.Opcode = uring.OpPollAdd
	e.Fd = c.fd
	e.OpFlags = poll32(unix.POLLOUT)
	e.UserData = userData(kSend, t.Slot(), c.gen)
	c.sending = true
	return nil
}

// submitSend queues a sendmsg of what is left of c's write.
func (p *poller) submitSend(t driver.Token, c *connSlot) error {
	x := p.xs[t.Slot()]
	e, err := p.sqe()
	if err != nil {
		return err
	}
	x.vecs, _ = sock.FillIovecs(x.vecs, x.iov)
	x.msg = unix.Msghdr{}
	if len(x.vecs) > 0 {
		x.msg.Iov = &x.vecs[0]
		x.msg.SetIovlen(len(x.vecs))
	}
	flags := uint32(unix.MSG_NOSIGNAL | unix.MSG_WAITALL)
	if p.o.noWaitAll {
		flags = unix.MSG_NOSIGNAL
	}
	e.Opcode = uring.OpSendmsg
	e.Fd = c.fd
	// SAFETY: x is a heap object of its own that the slot (or, once the
	// connection is closed, the orphans map) references until the
	// sendmsg's completion; msg points at vecs, which point into the
	// slices of x.iov, all kept with x. Go's heap does not move.
	e.Addr = uint64(uintptr(unsafe.Pointer(&x.msg)))
	e.OpFlags = flags
	e.UserData = userData(kSend, t.Slot(), c.gen)
	c.sending = true
	return nil
}

func (p *poller) Shutdown(t driver.Token) error {
	c := p.conn(t)
	if c == nil {
		return net.ErrClosed
	}
	return sock.Wrap("shutdown", unix.Shutdown(int(c.fd), unix.SHUT_WR))
}

func (p *poller) Close(t driver.Token, abort bool) error {
	c := p.conn(t)
	if c == nil {
		return net.ErrClosed
	}
	if err := p.own(); err != nil {
		return err
	}
	p.flushSubmissions()
	if c.recvArmed && !c.has(fRecvCancel) {
		p.cancel(userData(kRecv, t.Slot(), c.gen))
	}
	if c.has(fPollArmed) {
		p.cancel(userData(kPoll, t.Slot(), c.gen))
	}
	if c.sending && p.xs[t.Slot()].file != nil {
		p.cancel(userData(kSend, t.Slot(), c.gen))
	} else if c.sending {
		// The sendmsg's memory leaves with the connection; the next one
		// in the slot makes its own.
		ud := userData(kSend, t.Slot(), c.gen)
		p.cancel(ud)
		if p.orphans == nil {
			p.orphans = make(map[uint64]*slotExtra)
		}
		p.orphans[ud] = p.xs[t.Slot()]
		delete(p.xs, t.Slot())
		c.set(fExtra, false)
	}
	var err error
	if abort {
		err = sock.AbortClose(int(c.fd))
	} else {
		err = unix.Close(int(c.fd))
	}
	p.release(t.Slot(), c)
	return sock.Wrap("close", err)
}

func (p *poller) Wake() error {
	one := [8]byte{1}
	_, err := unix.Write(p.wakefd, one[:])
	if err == unix.EAGAIN {
		return nil // the counter is saturated: a wake-up is pending anyway
	}
	return sock.Wrap("write", err)
}

// releaseWait bounds how long Release waits for the kernel to finish the
// cancelled operations.
const releaseWait = 2 * time.Second

// Release aborts every connection, closes every listener, cancels every
// operation and waits for their completions, then closes the ring. If the
// wait cannot finish (called off the loop's thread, or the kernel is slow),
// the buffer ring's memory is left mapped rather than risk the kernel
// writing into memory that has been reused.
func (p *poller) Release() error {
	if p.released {
		return nil
	}
	onThread := p.owned && unix.Gettid() == p.tid
	p.conns.All(func(i uint32, c *connSlot) {
		if c.fd >= 0 {
			p.Close(driver.MakeToken(i, c.gen), true)
		}
	})
	for i := range p.lns {
		if l := &p.lns[i]; l.fd >= 0 {
			p.Unlisten(driver.MakeToken(uint32(i), l.gen))
		}
	}
	p.releasePackets()
	p.released = true
	drained := !p.owned // a ring never entered holds nothing of ours
	if onThread {
		if e, err := p.sqe(); err == nil {
			e.Opcode = uring.OpAsyncCancel
			e.Fd = -1
			e.OpFlags = uring.CancelAny
			e.UserData = userData(kCancel, 0, 0)
		}
		deadline := time.Now().Add(releaseWait)
		for p.inflight > 0 && time.Now().Before(deadline) {
			if err := p.ring.Wait(1, 50*time.Millisecond); err != nil {
				break
			}
			p.reap(nopSink{})
		}
		drained = p.inflight == 0
	}
	err := p.ring.Close()
	for len(p.closing) > 0 {
		p.finishClosing(0) // the wait did not see their accepts complete
	}
	if drained {
		err = errors.Join(err, p.bufs.Free())
		p.freeOrphanPackets()
	}
	err = errors.Join(err, sock.Wrap("close", unix.Close(p.wakefd)))
	p.orphans, p.starved = nil, nil
	if onThread {
		runtime.UnlockOSThread()
	}
	return err
}

// nopSink receives the completions reaped during Release, all of them
// stale by then.
type nopSink struct{}

func (nopSink) Awake()                                     {}
func (nopSink) Accepted(driver.Token, driver.Sock)         {}
func (nopSink) AcceptFailed(driver.Token, error)           {}
func (nopSink) Read(driver.Token, []byte, error)           {}
func (nopSink) Wrote(driver.Token, int, error)             {}
func (nopSink) Hangup(driver.Token, error)                 {}
func (nopSink) Connected(driver.Token, driver.Sock, error) {}

func (uringDriver) Adopt(c net.Conn) (driver.Sock, error) { return sock.Adopt(c) }

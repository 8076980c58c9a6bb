// Package epoll is proactor's Linux engine on epoll(7).
//
// Readiness is turned into completions here: on EPOLLIN the engine reads into
// the loop's single read buffer and reports the bytes; a write is attempted at
// once and, when the socket buffer is full, finished on EPOLLOUT, which is
// armed only while such a write is pending. Interest is level-triggered: one
// read per readiness event per connection keeps loops fair without a
// read-until-EAGAIN loop, and a paused connection simply drops EPOLLIN.
// Datagram sockets get one recvmmsg of up to a batch per readiness event
// and send with sendmmsg (packet_linux.go).
package epoll

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/sock"
)

// epoll_data holds a slot in Fd and its generation in Pad. Listener slots
// carry lnFlag; the wake-up eventfd has padWake, which no generation equals
// (generations are never negative).
const (
	lnFlag  = 1 << 30
	padWake = -2
)

const (
	evRead  = unix.EPOLLIN | unix.EPOLLRDHUP
	evWrite = unix.EPOLLOUT
	evErr   = unix.EPOLLERR | unix.EPOLLHUP
)

type epollDriver struct{}

// New returns the epoll engine.
func New() (driver.Driver, error) { return epollDriver{}, nil }

func (epollDriver) Name() string { return "epoll" }

// connSlot is a connection's state in the engine: 16 bytes, so that an
// idle connection costs little. What a write left pending needs lives in
// the poller's pws, made on the slot's first pending write and kept for
// the connections that reuse the slot: most connections never have one,
// and a pointer here would cost every slot 8 bytes.
type connSlot struct {
	fd         int32 // -1 when the slot is free
	gen        uint32
	interest   uint32
	connecting bool
	detached   bool // out of the epoll set after a clean hang-up (ready)
	pw         bool // pws holds a pending-write state for this slot
}

type pendingWrite struct {
	iov     [][]byte // what is left of a pending write
	written int      // bytes of the pending write already sent
	file    *os.File // a pending SendFile: what is left is fleft bytes at foff
	foff    int64
	fleft   int
}

func freshSlot(c *connSlot) { c.fd = -1 }

// release empties slot i and forgets what a pending write referenced.
func (p *poller) release(i uint32, c *connSlot) {
	if c.pw {
		w := p.pws[i]
		clear(w.iov)
		*w = pendingWrite{iov: w.iov[:0]}
	}
	*c = connSlot{fd: -1, gen: c.gen, pw: c.pw}
}

// pending returns slot i's pending-write state, making it the first time.
func (p *poller) pending(i uint32, c *connSlot) *pendingWrite {
	if c.pw {
		return p.pws[i]
	}
	if p.pws == nil {
		p.pws = make(map[uint32]*pendingWrite)
	}
	w := new(pendingWrite)
	p.pws[i], c.pw = w, true
	return w
}

type lnSlot struct {
	fd    int
	gen   uint32
	local netip.AddrPort // the bound address, or zero when bound to a wildcard
	on    bool
	opts  driver.SockOptions // set on each accepted socket
}

type poller struct {
	epfd    int
	wakefd  int
	events  []unix.EpollEvent
	nready  int   // events found by the last wait
	waitErr error // the last wait's epoll_wait error

	// The loop never blocks in epoll_wait: it waits for the epoll
	// descriptor itself to become readable in Go's network poller (park),
	// as a goroutine of Go's net package waits for its socket. A loop
	// goroutine blocked in a system call would keep its thread and make
	// the runtime hand its P to another thread, and wake that thread
	// again when the call returns: several context switches per sleep.
	epf      *os.File
	epc      syscall.RawConn
	tryWait  func(fd uintptr) bool // p.poll0, bound once so that waiting allocates nothing
	deadline bool                  // a read deadline is set on epf
	rbuf     []byte
	conns    driver.Table[connSlot]
	pws      map[uint32]*pendingWrite // by slot: see connSlot
	lns      []lnSlot
	w        sock.Writer
	pkts     []pktSlot  // datagram sockets (packet_linux.go)
	tx       *sock.Mmsg // sendmmsg scratch, made on the first send
}

func (epollDriver) NewPoller(cfg driver.Config) (driver.Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, sock.Wrap("epoll_create1", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, sock.Wrap("eventfd", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Pad: padWake}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, sock.Wrap("epoll_ctl", err)
	}
	size := cfg.ReadBufferSize
	if size <= 0 {
		size = 64 << 10
	}
	// Non-blocking, so that os.NewFile registers it with Go's poller
	// (epoll_wait itself ignores the flag: its timeout says how it waits).
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, sock.Wrap("fcntl", err)
	}
	epf := os.NewFile(uintptr(epfd), "epoll")
	epc, err := epf.SyscallConn()
	if err != nil {
		unix.Close(wakefd)
		epf.Close()
		return nil, err
	}
	p := &poller{
		epfd:   epfd,
		wakefd: wakefd,
		events: make([]unix.EpollEvent, 256),
		rbuf:   make([]byte, size),
		epf:    epf,
		epc:    epc,
	}
	p.tryWait = p.poll0
	return p, nil
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

func (p *poller) ctl(op, fd int, interest uint32, slot uint32, pad int32) error {
	ev := unix.EpollEvent{Events: interest, Fd: int32(slot), Pad: pad}
	return sock.Wrap("epoll_ctl", unix.EpollCtl(p.epfd, op, fd, &ev))
}

func (p *poller) Listen(t driver.Token, ln net.Listener, o driver.SockOptions) error {
	fd, local, err := sock.DupListener(ln)
	if err != nil {
		return err
	}
	for int(t.Slot()) >= len(p.lns) {
		p.lns = append(p.lns, lnSlot{fd: -1})
	}
	if err := p.ctl(unix.EPOLL_CTL_ADD, fd, unix.EPOLLIN, t.Slot()|lnFlag, int32(t.Gen())); err != nil {
		unix.Close(fd)
		return err
	}
	p.lns[t.Slot()] = lnSlot{fd: fd, gen: t.Gen(), local: local, on: true, opts: o}
	return nil
}

func (p *poller) SetAccepting(t driver.Token, on bool) error {
	l := p.listener(t)
	if l == nil {
		return net.ErrClosed
	}
	if l.on == on {
		return nil
	}
	var interest uint32
	if on {
		interest = unix.EPOLLIN
	}
	if err := p.ctl(unix.EPOLL_CTL_MOD, l.fd, interest, t.Slot()|lnFlag, int32(t.Gen())); err != nil {
		return err
	}
	l.on = on
	return nil
}

func (p *poller) Unlisten(t driver.Token) error {
	l := p.listener(t)
	if l == nil {
		return net.ErrClosed
	}
	// The registration belongs to the socket, not the descriptor: if the
	// socket lives on elsewhere (a dup the user keeps), closing alone would
	// leave it in the set.
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, l.fd, nil)
	err := unix.Close(l.fd)
	l.fd = -1
	return sock.Wrap("close", err)
}

func (p *poller) Attach(t driver.Token, s driver.Sock) error {
	p.conns.Grow(t.Slot(), freshSlot)
	if err := p.ctl(unix.EPOLL_CTL_ADD, s.FD, evRead, t.Slot(), int32(t.Gen())); err != nil {
		return err
	}
	c := p.conns.At(t.Slot())
	c.fd, c.gen, c.interest = int32(s.FD), t.Gen(), evRead
	return nil
}

// Discard resets a socket that never became a connection, so that a
// refused client fails fast.
func (p *poller) Connect(t driver.Token, addr netip.AddrPort, o driver.SockOptions) error {
	fd, err := sock.Connect(addr, o)
	if err != nil {
		return err
	}
	p.conns.Grow(t.Slot(), freshSlot)
	// Writable means connected or failed: SO_ERROR tells which.
	if err := p.ctl(unix.EPOLL_CTL_ADD, fd, evWrite, t.Slot(), int32(t.Gen())); err != nil {
		unix.Close(fd)
		return err
	}
	c := p.conns.At(t.Slot())
	c.fd, c.gen, c.interest, c.connecting = int32(fd), t.Gen(), evWrite, true
	return nil
}

// connected finishes a connect: the socket starts reading, or is released.
func (p *poller) connected(t driver.Token, c *connSlot, s driver.Sink) {
	fd := int(c.fd)
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && soerr != 0 {
		err = unix.Errno(soerr)
	}
	if err != nil {
		unix.Close(fd)
		p.release(t.Slot(), c)
		s.Connected(t, driver.Sock{FD: -1}, sock.Wrap("connect", err))
		return
	}
	c.connecting = false
	so := driver.Sock{FD: fd}
	so.Local, so.Peer = sock.Names(fd)
	if err := p.setInterest(t, c, evRead); err != nil {
		unix.Close(fd)
		p.release(t.Slot(), c)
		s.Connected(t, driver.Sock{FD: -1}, err)
		return
	}
	s.Connected(t, so, nil)
}

func (p *poller) Discard(s driver.Sock) {
	_ = unix.SetsockoptLinger(s.FD, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	unix.Close(s.FD)
}

func (p *poller) setInterest(t driver.Token, c *connSlot, interest uint32) error {
	if c.interest == interest {
		return nil
	}
	c.interest = interest
	op := unix.EPOLL_CTL_MOD
	if c.detached {
		op, c.detached = unix.EPOLL_CTL_ADD, false
	}
	return p.ctl(op, int(c.fd), interest, t.Slot(), int32(c.gen))
}

func (p *poller) SetReading(t driver.Token, on bool) error {
	c := p.conn(t)
	if c == nil {
		return net.ErrClosed
	}
	if on {
		return p.setInterest(t, c, c.interest|evRead)
	}
	return p.setInterest(t, c, c.interest&^evRead)
}

// writeNow writes what the socket takes at once and returns the slot and
// what is left of iov; a full socket is not an error.
func (p *poller) writeNow(t driver.Token, iov [][]byte) (*connSlot, int, [][]byte, error) {
	c := p.conn(t)
	if c == nil {
		return nil, 0, nil, net.ErrClosed
	}
	n, rest, err := p.w.WriteNow(int(c.fd), iov)
	return c, n, rest, err
}

func (p *poller) Write(t driver.Token, iov [][]byte) (int, bool, error) {
	c, n, rest, err := p.writeNow(t, iov)
	if err != nil || len(rest) == 0 {
		return n, false, err
	}
	// The socket buffer is full: keep the rest and finish on EPOLLOUT.
	w := p.pending(t.Slot(), c)
	w.iov = append(w.iov[:0], rest...)
	w.written = n
	if err := p.setInterest(t, c, c.interest|evWrite); err != nil {
		clear(w.iov)
		w.iov = w.iov[:0]
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

// TryWrite writes what the socket takes now; it never arms EPOLLOUT.
// Once per echoed message: the slot is looked up here rather than through
// writeNow, whose four results cost more than the lookup.
func (p *poller) TryWrite(t driver.Token, iov [][]byte) (int, error) {
	c := p.conn(t)
	if c == nil {
		return 0, net.ErrClosed
	}
	n, _, err := p.w.WriteNow(int(c.fd), iov)
	return n, err
}

func (p *poller) SendFile(t driver.Token, f *os.File, off int64, n int) (int, bool, error) {
	c := p.conn(t)
	if c == nil {
		return 0, false, net.ErrClosed
	}
	sent, err := sock.Sendfile(int(c.fd), f, &off, n)
	if err != nil && err != unix.EAGAIN {
		return sent, false, sock.Wrap("sendfile", err)
	}
	if sent == n {
		return sent, false, nil
	}
	w := p.pending(t.Slot(), c)
	w.file, w.foff, w.fleft, w.written = f, off, n-sent, sent
	if err := p.setInterest(t, c, c.interest|evWrite); err != nil {
		w.file = nil
		return sent, false, err
	}
	return sent, true, nil
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
	if abort {
		// An error here only means the peer is already gone; close anyway.
		_ = unix.SetsockoptLinger(int(c.fd), unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	}
	err := unix.Close(int(c.fd))
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

func (p *poller) Release() error {
	p.conns.All(func(i uint32, c *connSlot) {
		if c.fd >= 0 {
			p.Close(driver.MakeToken(i, c.gen), true)
		}
	})
	for i := range p.lns {
		if l := &p.lns[i]; l.fd >= 0 {
			unix.Close(l.fd)
			l.fd = -1
		}
	}
	p.releasePackets()
	unix.Close(p.wakefd)
	return p.epf.Close()
}

// poll0 collects the ready events without waiting. Called by epc.Read, it
// reports whether the wait is over: events were found, or an error.
func (p *poller) poll0(fd uintptr) bool {
	for {
		// SAFETY: p.events outlives the call; the kernel writes at most
		// len(p.events) entries into it during the call.
		r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, fd, uintptr(unsafe.Pointer(&p.events[0])), uintptr(len(p.events)), 0, 0, 0)
		switch e {
		case 0:
			p.nready = int(r)
			return r > 0
		case unix.EINTR:
			continue
		}
		p.nready, p.waitErr = 0, e
		return true
	}
}

// kernelWait is how long a loop that would sleep first waits in the
// kernel, in one epoll_pwait2 made as a raw system call, before it parks
// in Go's poller. Under load the next event comes within microseconds:
// the short wait catches it in one system call, where parking costs a
// non-blocking epoll_wait of ours, the runtime's own and one more of ours
// on waking (measured at 10×16KiB×4: 0.91 system calls per message
// without it, 0.73 with it, gnet's 0.82-0.92; docs/BENCHMARKS.md, issue
// 14). A raw call is one the runtime does not know of: the loop keeps its
// P through it, so no thread is woken to take the P over (what a blocking
// wait the runtime knows of costs once it lasts past a tick of sysmon:
// io_uring's case, see ARCHITECTURE), and nothing else runs on that P
// meanwhile, which this bound keeps short. Wake's eventfd is in the set,
// so a task pushed meanwhile ends the wait at once.
const kernelWait = 20 * time.Microsecond

// noPwait2 is set when the kernel has no epoll_pwait2 (before 5.11): the
// loop then parks at once.
var noPwait2 atomic.Bool

// waitKernel waits up to d in the kernel for ready events, holding the
// loop's P (see kernelWait). It reports whether the wait is over: events
// were found, or an error.
func (p *poller) waitKernel(d time.Duration) bool {
	ts := unix.NsecToTimespec(int64(d))
	// SAFETY: p.events and ts outlive the call; the kernel writes at most
	// len(p.events) entries into p.events.
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT2, uintptr(p.epfd), uintptr(unsafe.Pointer(&p.events[0])), uintptr(len(p.events)), uintptr(unsafe.Pointer(&ts)), 0, 0)
	switch e {
	case 0:
		p.nready = int(r)
		return r > 0
	case unix.EINTR:
		return false
	case unix.ENOSYS:
		noPwait2.Store(true)
		return false
	}
	p.nready, p.waitErr = 0, e
	return true
}

// wait collects the ready events, waiting up to timeout (forever if
// negative) for some: first briefly in the kernel (kernelWait), then
// parked in Go's poller.
func (p *poller) wait(timeout time.Duration) error {
	p.nready, p.waitErr = 0, nil
	if timeout == 0 {
		p.poll0(uintptr(p.epfd))
		return p.waitErr
	}
	if !noPwait2.Load() {
		d := kernelWait
		if timeout > 0 && timeout < d {
			d = timeout
		}
		if p.waitKernel(d) {
			return p.waitErr
		}
		if timeout > 0 && timeout <= kernelWait {
			return nil
		}
	}
	if timeout > 0 {
		p.epf.SetReadDeadline(time.Now().Add(timeout))
		p.deadline = true
	} else if p.deadline {
		p.epf.SetReadDeadline(time.Time{})
		p.deadline = false
	}
	err := p.epc.Read(p.tryWait)
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return p.waitErr
}

func (p *poller) Poll(timeout time.Duration, s driver.Sink) error {
	err := p.wait(timeout)
	s.Awake()
	if err != nil {
		return sock.Wrap("epoll_wait", err)
	}
	for i := 0; i < p.nready; i++ {
		ev := &p.events[i]
		switch {
		case ev.Pad == padWake:
			var buf [8]byte
			unix.Read(p.wakefd, buf[:])
		case ev.Fd&pktFlag != 0:
			p.receive(driver.MakeToken(uint32(ev.Fd&^pktFlag), uint32(ev.Pad)))
		case ev.Fd&lnFlag != 0:
			p.accept(driver.MakeToken(uint32(ev.Fd&^lnFlag), uint32(ev.Pad)), s)
		default:
			p.ready(driver.MakeToken(uint32(ev.Fd), uint32(ev.Pad)), ev.Events, s)
		}
	}
	return nil
}

// maxAccepts bounds the accepts per readiness event so that one busy
// listener cannot starve the loop's connections, unless the listener's
// AcceptBatch says otherwise.
const maxAccepts = 64

func (p *poller) accept(t driver.Token, s driver.Sink) {
	n := maxAccepts
	if l := p.listener(t); l != nil && l.opts.AcceptBatch > 0 {
		n = l.opts.AcceptBatch
	}
	for range n {
		l := p.listener(t)
		if l == nil || !l.on {
			return
		}
		so, err := accept(l.fd, l.local, l.opts)
		switch err {
		case nil:
			s.Accepted(t, so)
		case unix.EAGAIN:
			return
		case unix.EINTR, unix.ECONNABORTED:
			continue
		default:
			s.AcceptFailed(t, sock.Wrap("accept4", err))
			return
		}
	}
}

// ready turns one readiness event into completions. A Sink call may close
// the connection or reuse its slot, so the slot is looked up again after each.
func (p *poller) ready(t driver.Token, events uint32, s driver.Sink) {
	c := p.conn(t)
	if c == nil {
		return
	}
	if c.connecting {
		p.connected(t, c, s)
		return
	}
	if c.interest&evWrite != 0 && events&(evWrite|evErr) != 0 {
		p.finishWrite(t, c, s)
		if c = p.conn(t); c == nil {
			return
		}
	}
	if c.interest&evRead != 0 && events&(evRead|evErr) != 0 {
		p.read(t, c, s)
		return
	}
	if c.interest == 0 && events&evErr != 0 {
		// Nobody reads or writes, yet the socket hung up. Level-triggered
		// epoll would report it at every wait (a MOD, even to
		// edge-triggered, re-queues it at once), so the descriptor leaves
		// the set. A clean hang-up (both FINs) may still have input unread
		// for when reading resumes; setInterest puts the descriptor back.
		soerr, _ := unix.GetsockoptInt(int(c.fd), unix.SOL_SOCKET, unix.SO_ERROR)
		unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(c.fd), nil)
		c.detached = true
		if soerr == 0 {
			s.Hangup(t, nil)
			return
		}
		s.Hangup(t, sock.Wrap("read", unix.Errno(soerr)))
	}
}

func (p *poller) read(t driver.Token, c *connSlot, s driver.Sink) {
	n, err := sock.Read(int(c.fd), p.rbuf)
	switch {
	case n > 0:
		s.Read(t, p.rbuf[:n], nil)
	case err == unix.EAGAIN || err == unix.EINTR:
	case err == nil:
		p.setInterest(t, c, c.interest&^evRead)
		s.Read(t, nil, io.EOF)
	default:
		p.setInterest(t, c, c.interest&^evRead)
		s.Read(t, nil, sock.Wrap("read", err))
	}
}

func (p *poller) finishWrite(t driver.Token, c *connSlot, s driver.Sink) {
	var err error
	w := p.pending(t.Slot(), c)
	if w.file != nil {
		var n int
		n, err = sock.Sendfile(int(c.fd), w.file, &w.foff, w.fleft)
		w.written += n
		w.fleft -= n
		if err == unix.EAGAIN || err == nil && w.fleft > 0 {
			return
		}
		w.file = nil
	} else {
		var n int
		var rest [][]byte
		n, rest, err = p.w.Writev(int(c.fd), w.iov)
		w.written += n
		if err == unix.EAGAIN && len(rest) > 0 {
			w.iov = append(w.iov[:0], rest...)
			return
		}
	}
	total := w.written
	clear(w.iov)
	w.iov = w.iov[:0]
	w.written = 0
	if err != nil && err != unix.EAGAIN {
		err = sock.Wrap("writev", err)
	} else {
		err = nil
	}
	if ierr := p.setInterest(t, c, c.interest&^evWrite); ierr != nil && err == nil {
		err = ierr
	}
	s.Wrote(t, total, err)
}

func (epollDriver) Adopt(c net.Conn) (driver.Sock, error) { return sock.Adopt(c) }

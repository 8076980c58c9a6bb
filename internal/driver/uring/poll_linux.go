package uring

import (
	"io"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/sock"
	"github.com/seed487d475b/proactor/internal/uring"
)

// wakeRetry bounds a Poll's wait while the eventfd's read cannot be
// re-armed (poller.wakeLost).
const wakeRetry = time.Millisecond

// Poll submits what is queued and waits for completions: up to timeout
// (forever if negative) for at least one, not at all when some are ready.
// The kernel's overflow list, if the completion ring filled up, is flushed
// and reaped in the same call.
func (p *poller) Poll(timeout time.Duration, s driver.Sink) error {
	if err := p.own(); err != nil {
		return err
	}
	if p.wakeLost {
		// Without its read armed, a wake from another goroutine is not
		// seen: wait in short steps until the read is armed again.
		if p.wakeLost = p.armWake() != nil; p.wakeLost && (timeout < 0 || timeout > wakeRetry) {
			timeout = wakeRetry
		}
	}
	var want uint32 = 1
	if timeout == 0 || p.ring.Ready() > 0 {
		want = 0
	}
	err := p.ring.Wait(want, timeout)
	s.Awake()
	if err != nil {
		return err
	}
	p.reap(s)
	if p.ring.Overflowed() {
		p.overflow++
		if err := p.ring.Wait(0, 0); err != nil {
			return err
		}
		p.reap(s)
	}
	p.rearmStarved(s)
	p.freeDeadPackets()
	return nil
}

// reap delivers the completions in the ring, a bounded number of rounds so
// that a flood cannot keep the loop from its tasks.
func (p *poller) reap(s driver.Sink) {
	for range cqEntries/len(p.cqes) + 1 {
		n := p.ring.Reap(p.cqes)
		for i := range n {
			p.dispatch(&p.cqes[i], s)
		}
		p.flushPackets()
		if n < len(p.cqes) {
			return
		}
	}
}

func (p *poller) dispatch(cqe *uring.CQE, s driver.Sink) {
	if cqe.Flags&uring.CQEFMore == 0 {
		p.inflight--
	}
	switch kind(cqe.UserData >> kindShift) {
	case kWake:
		if cqe.Flags&uring.CQEFMore == 0 && !p.released && cqe.Res != -int32(unix.ECANCELED) {
			// Only a full queue fails it: Poll then retries, and waits
			// no longer than wakeRetry meanwhile.
			p.wakeLost = p.armWake() != nil
		}
	case kAccept:
		p.onAccept(cqe, s)
	case kRecv:
		p.onRecv(cqe, s)
	case kSend:
		p.onSend(cqe, s)
	case kPoll:
		p.onPoll(cqe, s)
	case kPacket:
		p.onPacket(cqe, s)
	}
}

// token returns the token and the slot a completion names, or false when
// the slot has been closed or reused since the operation was submitted.
func (p *poller) token(ud uint64) (driver.Token, *connSlot, bool) {
	slot, gen := uint32(ud), uint32(ud>>genShift)&genBits
	c := p.conns.Get(slot)
	if c == nil || c.fd < 0 || c.gen&genBits != gen {
		return 0, nil, false
	}
	return driver.MakeToken(slot, c.gen), c, true
}

func errno(res int32) unix.Errno { return unix.Errno(-res) }

func (p *poller) onAccept(cqe *uring.CQE, s driver.Sink) {
	slot, gen := uint32(cqe.UserData), uint32(cqe.UserData>>genShift)&genBits
	last := cqe.Flags&uring.CQEFMore == 0
	var l *lnSlot
	if int(slot) < len(p.lns) && p.lns[slot].fd >= 0 && p.lns[slot].gen&genBits == gen {
		l = &p.lns[slot]
	}
	if l == nil {
		p.onClosingAccept(slot, gen, cqe.Res, last)
		return
	}
	t := driver.MakeToken(slot, l.gen)
	if last {
		l.posted--
		if l.posted == 0 {
			l.cancel = false
		}
	}
	switch {
	case cqe.Res >= 0:
		if l.drain {
			l.owed-- // accepted before the cancel: its wake was used
		}
		s.Accepted(t, accepted(int(cqe.Res), l.local, l.opts))
	case errno(cqe.Res) == unix.ECANCELED, errno(cqe.Res) == unix.EINTR,
		errno(cqe.Res) == unix.ECONNABORTED, errno(cqe.Res) == unix.EAGAIN:
	default:
		s.AcceptFailed(t, sock.Wrap("accept4", errno(cqe.Res)))
	}
	// The Sink may have paused, closed or replaced the listener.
	switch l = p.listener(t); {
	case l == nil:
	case l.on && !l.cancel:
		l.drain = false
		if err := p.armAccept(t, l); err != nil {
			s.AcceptFailed(t, err) // the state machine backs off and resumes, which re-arms
		}
	case !l.on && l.posted == 0 && l.drain && last:
		// Only after a cancel: a stop for the accept-failure back-off
		// (nothing cancelled) leaves the queue alone.
		l.drain = false
		p.drainBacklog(t, l, s)
	}
}

// onClosingAccept takes a completion of an accept that Unlisten cancelled:
// a socket is nobody's to serve (closeUnserved), and after the last one
// the listener is drained and closed. A completion that names no closing
// listener either is stale.
func (p *poller) onClosingAccept(slot, gen uint32, res int32, last bool) {
	i := slices.IndexFunc(p.closing, func(l lnSlot) bool { return slot == l.slot && l.gen&genBits == gen })
	if res >= 0 {
		closeUnserved(int(res))
	}
	if i < 0 {
		return
	}
	l := &p.closing[i]
	if res >= 0 {
		l.owed--
	}
	if last {
		if l.posted--; l.posted == 0 {
			p.finishClosing(i)
		}
	}
}

// finishClosing drains the queue of an unlistened listener whose accepts
// have all completed, answering what it accepts with closeUnserved, then
// closes its descriptor.
func (p *poller) finishClosing(i int) {
	l := p.closing[i]
	p.closing = slices.Delete(p.closing, i, i+1)
	l.drainUnserved()
	unix.Close(l.fd)
}

// drainUnserved drains the queue of a listener that Unlisten has closed.
func (l *lnSlot) drainUnserved() {
	for range l.drainBound() {
		fd, _, err := sock.Accept(l.fd)
		if err != nil {
			break
		}
		closeUnserved(fd)
	}
}

// drainBacklog accepts what the listen queue holds once the listener's
// accepts are cancelled, up to drainBound. An accept's poll waits
// exclusively: the kernel wakes one accept waiting on the socket per
// connection, and a wake that reaches an accept being cancelled is lost
// with it. Another process that shares the socket (the new binary of an
// upgrade, whose accept waits too) would then not hear of that connection
// until the next one arrived, and the client could wait for good. So the
// connections whose wakes the cancelled accepts may have swallowed are
// accepted here, with accept4(2), and reported as the accepts before the
// cancel are (the state machine serves them after StopAccepting, and holds
// them during a Pause); a connection that arrives after this finds no
// waiter here and wakes the other's. They are all accepted before the
// first is reported: the Sink may close the listener meanwhile, and the
// rest are then closeUnserved.
func (p *poller) drainBacklog(t driver.Token, l *lnSlot, s driver.Sink) {
	var socks []driver.Sock
	for range l.drainBound() {
		fd, peer, err := sock.Accept(l.fd)
		if err != nil {
			break // EAGAIN: empty; anything else the next accept reports
		}
		sk := accepted(fd, l.local, l.opts)
		sk.Peer = peer
		socks = append(socks, sk)
	}
	for i, sk := range socks {
		if p.listener(t) == nil {
			for _, sk := range socks[i:] {
				closeUnserved(sk.FD)
			}
			return
		}
		s.Accepted(t, sk)
	}
}

func (p *poller) onRecv(cqe *uring.CQE, s driver.Sink) {
	if cqe.Flags&uring.CQEFBuffer == 0 {
		p.recvDone(cqe, nil, s)
		return
	}
	bid := uint16(cqe.Flags >> uring.CQEBufferShift)
	data, done := p.bufs.Received(bid, max(int(cqe.Res), 0), cqe.Flags)
	p.recvDone(cqe, data, s)
	if done {
		p.bufs.Recycle(bid) // the Sink has copied what it keeps
	}
}

// recvDone handles a receive completion whose bytes, if any, are data.
func (p *poller) recvDone(cqe *uring.CQE, data []byte, s driver.Sink) {
	t, c, ok := p.token(cqe.UserData)
	if !ok {
		return
	}
	if cqe.Flags&uring.CQEFMore == 0 {
		c.recvArmed = false
		c.set(fRecvCancel, false)
	}
	switch {
	case cqe.Res > 0 && data != nil:
		p.input(t, c, data, nil, s)
	case cqe.Res == 0:
		p.input(t, c, nil, io.EOF, s)
		return
	case errno(cqe.Res) == unix.ENOBUFS:
		// The ring ran dry in this batch; the buffers come back as the
		// batch is delivered, and the receive is re-armed after it.
		p.starved = append(p.starved, t)
		p.enobufs++
		return
	case errno(cqe.Res) == unix.ECANCELED, errno(cqe.Res) == unix.EINTR, errno(cqe.Res) == unix.EAGAIN:
	case cqe.Res < 0:
		p.input(t, c, nil, sock.Wrap("recv", errno(cqe.Res)), s)
		return
	}
	// The Sink may have closed the connection or turned reading off.
	if c = p.conn(t); c != nil && c.wantRecv() {
		p.rearmRecv(t, c, s)
	}
}

// input delivers a read, its end of stream or its error. Every completion
// is delivered, also one that comes after SetReading(false) (before the
// receive's cancel took effect): the state machine holds what it does not
// want yet (the driver contract).
func (p *poller) input(t driver.Token, c *connSlot, b []byte, err error, s driver.Sink) {
	if err != nil {
		c.reading = false // the contract: reading is off after EOF or an error
		p.watch(t, c)
		s.Read(t, nil, err)
		return
	}
	s.Read(t, b, nil)
}

// rearmRecv re-arms c's receive. If no submission entry can be had (the
// queue full even after a submit), the connection is told with a read
// error rather than left waiting for input that would never be reported.
func (p *poller) rearmRecv(t driver.Token, c *connSlot, s driver.Sink) {
	if err := p.armRecv(t, c); err != nil {
		p.input(t, c, nil, err, s)
	}
}

func (p *poller) rearmStarved(s driver.Sink) {
	for _, t := range p.starved {
		if c := p.conn(t); c != nil && c.wantRecv() {
			p.rearmRecv(t, c, s)
		}
	}
	p.starved = p.starved[:0]
}

func (p *poller) onSend(cqe *uring.CQE, s driver.Sink) {
	t, c, ok := p.token(cqe.UserData)
	if !ok || !c.sending {
		if x, ok := p.orphans[cqe.UserData]; ok {
			delete(p.orphans, cqe.UserData)
			clear(x.iov)
			clear(x.vecs)
		}
		return
	}
	x := p.xs[t.Slot()]
	if x.file != nil {
		p.onFileRoom(t, c, cqe.Res, s)
		return
	}
	var err error
	switch res := cqe.Res; {
	case res >= 0:
		x.written += int(res)
		x.iov = sock.Advance(x.iov, int(res))
		if len(x.iov) > 0 {
			// A short send: the rest goes out in another.
			if err = p.submitSend(t, c); err == nil {
				return
			}
		}
	case errno(res) == unix.EINTR || errno(res) == unix.EAGAIN:
		if err = p.submitSend(t, c); err == nil {
			return
		}
	default:
		err = sock.Wrap("sendmsg", errno(res))
	}
	c.sending = false
	total := x.written
	clear(x.iov)
	clear(x.vecs)
	x.iov, x.written = x.iov[:0], 0
	s.Wrote(t, total, err)
	if c = p.conn(t); c != nil {
		p.watch(t, c)
	}
}

// onFileRoom goes on with a SendFile once the socket has room.
func (p *poller) onFileRoom(t driver.Token, c *connSlot, res int32, s driver.Sink) {
	c.sending = false
	x := p.xs[t.Slot()]
	var err error
	if res < 0 && errno(res) != unix.EINTR && errno(res) != unix.EAGAIN {
		err = sock.Wrap("sendfile", errno(res))
	} else {
		var n int
		n, err = sock.Sendfile(int(c.fd), x.file, &x.foff, x.fleft)
		x.written += n
		x.fleft -= n
		if err == unix.EAGAIN || err == nil && x.fleft > 0 {
			if err = p.armFilePoll(t, c); err == nil {
				return
			}
		}
		err = sock.Wrap("sendfile", err)
	}
	total := x.written
	x.file, x.foff, x.fleft, x.written = nil, 0, 0, 0
	s.Wrote(t, total, err)
	if c = p.conn(t); c != nil {
		p.watch(t, c)
	}
}

func (p *poller) onPoll(cqe *uring.CQE, s driver.Sink) {
	t, c, ok := p.token(cqe.UserData)
	if !ok {
		return
	}
	c.set(fPollArmed, false)
	if c.has(fConnecting) {
		p.connected(t, c, cqe.Res, s)
		return
	}
	if cqe.Res < 0 || c.reading || c.sending {
		// Cancelled, or the receive or the send will report the error.
		return
	}
	// The poll may complete for a wake-up that was not a hang-up (a FIN
	// alone, say): ask the socket itself, without waiting.
	fds := []unix.PollFd{{Fd: c.fd}}
	if n, _ := unix.Poll(fds, 0); n == 0 || fds[0].Revents&(unix.POLLERR|unix.POLLHUP) == 0 {
		// Not re-armed here, which could spin on a wake-up that recurs;
		// the next pause or completed write arms the watch again.
		return
	}
	soerr, _ := unix.GetsockoptInt(int(c.fd), unix.SOL_SOCKET, unix.SO_ERROR)
	var err error
	if soerr != 0 {
		err = sock.Wrap("read", unix.Errno(soerr))
	}
	s.Hangup(t, err)
}

// connected finishes a connect: the socket starts reading, or is released.
func (p *poller) connected(t driver.Token, c *connSlot, res int32, s driver.Sink) {
	c.set(fConnecting, false)
	var err error
	if res < 0 {
		err = errno(res)
	} else if soerr, gerr := unix.GetsockoptInt(int(c.fd), unix.SOL_SOCKET, unix.SO_ERROR); gerr != nil {
		err = gerr
	} else if soerr != 0 {
		err = unix.Errno(soerr)
	}
	if err == nil {
		c.reading = true
		err = p.armRecv(t, c)
	}
	if err != nil {
		unix.Close(int(c.fd))
		p.release(t.Slot(), c)
		s.Connected(t, driver.Sock{FD: -1}, sock.Wrap("connect", err))
		return
	}
	so := driver.Sock{FD: int(c.fd)}
	so.Local, so.Peer = sock.Names(so.FD)
	s.Connected(t, so, nil)
}

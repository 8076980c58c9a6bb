package proactor

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/seed487d475b/proactor/internal/driver"
)

// The connection state machine. Everything here runs on the connection's
// loop goroutine; the engine reports completions, the handler's requests
// arrive through taskService, and each path ends in finish exactly once.

// One write operation takes at most maxIovecs slices (1 MiB of chunks) or
// maxSendFile bytes of a file: a peer that reads slowly but steadily then
// completes operations now and then, and each completion is progress for
// the write timeout and for Buffered.
const (
	maxIovecs   = 64
	maxSendFile = 1 << 20
)

func (c *Conn) callOpen() {
	defer c.recover("OnOpen")
	c.handler().OnOpen(c)
}

func (c *Conn) callData(p []byte) {
	// Once per message: recover called in the deferred closure itself
	// costs less than recover's deferred method call with its argument.
	defer func() {
		if v := recover(); v != nil {
			c.panicked("OnData", v)
		}
	}()
	l := c.loop
	if l.calls++; l.calls%sampleEvery != 0 {
		c.handler().OnData(c, p)
		return
	}
	start := l.eng.clock()
	c.handler().OnData(c, p)
	sh := c.stats()
	sh.observe(histLoopLag, time.Duration(start-l.now))
	sh.observe(histCallback, time.Duration(l.eng.clock()-start))
}

func (c *Conn) callPeerClosed() {
	defer c.recover("OnPeerClosed")
	c.handler().OnPeerClosed(c)
}

func (c *Conn) callClose(err error) {
	defer c.recover("OnClose")
	c.handler().OnClose(c, err)
}

// recover turns a panic in a callback into an aborted connection; the loop
// and every other connection go on.
func (c *Conn) recover(callback string) {
	if v := recover(); v != nil {
		c.panicked(callback, v)
	}
}

// panicked handles a panic v recovered in callback.
func (c *Conn) panicked(callback string, v any) {
	stack := debug.Stack()
	c.stats().panics.Add(1)
	c.srv().log.Error("proactor: panic in callback", "callback", callback, "conn", c.id,
		"remote", c.remote.unpack(), "panic", v, "stack", string(stack))
	if callback != "OnClose" {
		c.finish(&PanicError{Callback: callback, Value: v, Stack: stack}, true)
	}
}

// readDone handles a read completion: bytes, EOF or an error.
func (c *Conn) readDone(p []byte, err error) {
	if err == nil {
		sh := c.stats() // once: an atomic in between keeps the compiler from reusing the address
		sh.reads.Add(1)
		sh.bytesRead.Add(uint64(len(p)))
		c.loop.slot(c).read += uint64(len(p))
		// From the moment Close or Abort is called, even on another
		// goroutine and before the loop has acted on it, input is drained
		// unseen: no OnData after Close. So is input after CloseRead.
		if c.req.Load() >= reqClose {
			if c.lb.has(lbQuick) {
				c.notQuick()
			}
			return
		}
		if c.readShut() {
			return
		}
		c.lastActive = c.loop.now
		c.lb.set(lbGotData, true)
		if c.ext != nil {
			if c.proxyOf() != nil {
				c.proxyInput(p) // the PROXY header first
				return
			}
			if c.ext.tls != nil {
				c.tlsInput(p) // records, decrypted and delivered as plaintext
				return
			}
		}
		c.input(p)
		return
	}
	c.lb.set(lbReading, false) // the engine stops reading after EOF or an error
	if err != io.EOF {
		if c.held() && c.wantsInput() && !c.holdsBack() {
			// After the input the read budget held before it (settleEnd),
			// which the next iteration delivers. Not while reading is
			// paused: a failed socket ends at once, as a hangup with an
			// error does (and as epoll, which reads nothing while paused,
			// reports it), rather than staying open until ResumeRead.
			c.tail.end = err
			return
		}
		c.finish(err, false)
		return
	}
	c.onPeerFIN()
	c.flags.Or(flagPeerEOF)
	if c.proxyOf() != nil {
		c.proxyFailed(io.ErrUnexpectedEOF) // ended before its header
		return
	}
	if t := c.tlsOf(); t != nil {
		t.pipe.end(nil)
		if !t.opened {
			return // the handshake fails on the EOF and closes the connection
		}
		if !c.readShut() {
			c.tlsRead() // the last whole records; a partial one is an error
		}
		switch {
		case c.closed:
		case c.closing():
			// A lingering close ends at the peer's FIN, as on plain TCP
			// (where epoll and uring also see it as a hangup, std not).
			c.peerEOF()
		default:
			c.eofAfterInput()
		}
		return
	}
	c.eofAfterInput()
}

// input hands plain read bytes to the handler; bytes of the read buffer
// that OnData writes back are borrowed, sent from it without a copy (see
// Conn.queue). The replies go out as soon as the read's callbacks are
// over, one write per read as before, rather than after every read of
// this Poll: with a hundred connections ready at once, the first reply no
// longer waits for the last request to be handled, and a closed-loop
// client on another core gets to work sooner.
func (c *Conn) input(p []byte) {
	mine := c.serviceAndBorrow(p)
	c.deliver(p)
	if served := c.settle(mine); mine && !served {
		c.service()
	}
	if l := c.loop; len(l.dirty) > 0 {
		l.serviceDirty()
	}
}

// peerEOF acts on the peer's FIN: OnPeerClosed, or the end of a close.
func (c *Conn) peerEOF() {
	c.abortReceive(io.ErrUnexpectedEOF)
	if c.req.Load() >= reqClose { // no OnPeerClosed once Close was asked for
		if c.closing() && c.idle() {
			c.finish(c.reason(), false)
		}
		return
	}
	if c.readShut() {
		return // CloseRead: no OnPeerClosed, and our side is still open
	}
	c.callPeerClosed()
	if !c.closed && c.finSent() {
		c.finish(nil, false)
	}
}

// deliver hands read bytes to the handler: as frames with a framer, else as
// one OnData, unless PauseRead holds them back.
func (c *Conn) deliver(p []byte) {
	if c.receiving() && c.cfg.framer == nil {
		if c.held() {
			// The receive takes the input held before p first (an OnData
			// of held input started it, and the read budget held the
			// rest): p goes behind it, as its bytes came after.
			c.keep(p)
			c.deliverHeld()
			return
		}
		// done may start another receive, or close the connection.
		for c.receiving() && len(p) > 0 && !c.closed {
			p = p[c.receive(p):]
		}
		if len(p) == 0 || c.closed {
			return
		}
	}
	if c.cfg.framer != nil {
		c.frames(p)
		if c.held() {
			c.deliverHeld() // defers what the read budget held
		}
		return
	}
	if c.unanswered == 0 {
		c.unanswered = c.loop.now
		c.rearm()
	}
	if c.holdsBack() || c.held() || !c.loop.charge(c, len(p)) {
		// Held in the inbox (inbox.go): an engine may have had a read in
		// flight when reading went off (std, uring), input is held
		// already (bytes stay in order), or this iteration's read budget
		// is spent.
		c.keep(p)
		c.tails().held = true
		c.deliverHeld()
		return
	}
	c.callData(p)
}

// serviceAndBorrow marks c scheduled for a service after this read's
// callbacks, as serviceAfterPoll does and under the same lock, and opens
// c's borrowing window on p, the read about to be delivered to it: until
// settle, a Write of some of p queues a borrowed segment instead of a copy
// (see Conn.queue). Not on an engine that cannot write inline: settle
// could not send the bytes before the read buffer is reused, so borrowing
// them would only add a copy later. It reports whether the service is the
// caller's to run: input runs it itself, without the dirty list. When a
// service was due already (a task, or the dirty list), that one runs.
func (c *Conn) serviceAndBorrow(p []byte) (mine bool) {
	l := c.loop
	borrow := l.tryW != nil
	if borrow {
		l.window = p
	}
	c.mu.Lock()
	mine = !c.scheduled
	c.scheduled = true
	c.borrowing = borrow
	c.mu.Unlock()
	return mine
}

// settle closes c's borrowing window, once the read's callbacks are over
// and before the read buffer can be reused: it is the one place where
// borrowed segments end. If a write borrowed, what the socket takes now
// goes at once, in one writev (TryWrite, which keeps no reference to the
// bytes, as a write that went pending would), and what is left of the
// borrowed bytes is copied into chunks, in place; the service that
// follows sends it. An echo the socket takes whole is thus sent from the
// read buffer with no copy, in the one write its read gets.
//
// serve says that the service due after the read is the caller's to run
// (serviceAndBorrow's mine). When all that is queued is what this write
// sends, and nothing is asked for or marked, settle ends that service in
// the lock it takes anyway (a Write from then on queues a service of its
// own), and reports served if the write took it all and the connection
// is steady: the service would have had nothing to do. If it does have
// something to do after all, settle makes it due again, in a second lock,
// unless a service was queued meanwhile (then it reports served too: the
// queued one does the work). Otherwise the caller runs the service, whole.
func (c *Conn) settle(serve bool) (served bool) {
	l := c.loop
	if l.tryW == nil {
		return false
	}
	c.mu.Lock()
	c.borrowing = false // from here on every Write copies
	through := c.out.borrowedThrough()
	var iov [][]byte
	req := c.req.Load()
	if through > 0 && !c.closed && !c.lb.has(lbInflight) && req < reqAbort { // Abort drops the queue
		iov = c.out.iov(l.iov[:0], maxIovecs, l.window)
		if serve && int64(through) == c.out.n.Load() && req == reqNone && !c.marksWaiting() {
			c.scheduled = false
			served = true
		}
	}
	c.mu.Unlock()
	n := 0
	if len(iov) > 0 {
		var err error
		n, err = l.tryW.TryWrite(c.tok, iov)
		l.dropIov(iov)
		c.stats().writes.Add(1)
		more := true
		if n > 0 || err != nil {
			more = c.wrote(n, err)
		}
		if more && !c.closed {
			// What is left waits for the service, which is due already
			// (input scheduled it); the write timeout runs meanwhile. Only
			// here, and not before the write as flush does: an echo the
			// socket takes whole never stalls.
			if c.stalled == 0 {
				c.stalled = l.now
			}
			c.rearm()
		}
	}
	if n < through {
		c.mu.Lock()
		c.out.settle(l.window, &l.chunks)
		c.mu.Unlock()
	}
	l.window = nil
	if !served || n == through && !c.closed && c.steady() {
		return served
	}
	if c.closed {
		// finish has recycled c, or left that to the service a Write
		// queued since: the service ended above has nothing left to do.
		return true
	}
	// The service ended above has work after all (the write left bytes
	// behind, or a callback it ran paused reading). It is due again,
	// unless a Write, a PauseRead or a Close since has queued one: then
	// that one runs it, and the caller must not run another, which would
	// clear scheduled while the queued one waits (a pending service keeps
	// a pooled Conn out of the pool: connpool.go).
	c.mu.Lock()
	queued := c.scheduled
	c.scheduled = true
	c.mu.Unlock()
	return queued
}

// serviceAfterPoll has the loop service c once this Poll's completions are
// delivered (a plain read's input services it sooner, when its callbacks
// are over), without a task: a reply written by the OnData that follows (or
// a PauseRead, a Close) finds the connection scheduled already and queues
// nothing for the loop. It costs one uncontended lock per read and saves a
// trip through the task queue per reply.
func (c *Conn) serviceAfterPoll() {
	c.mu.Lock()
	c.serviceAfterPollLocked()
	c.mu.Unlock()
}

// serviceAfterPollLocked is serviceAfterPoll with c.mu held.
func (c *Conn) serviceAfterPollLocked() {
	if !c.scheduled {
		c.scheduled = true
		c.loop.dirty = append(c.loop.dirty, c)
	}
}

// idle reports whether nothing is queued or in flight.
func (c *Conn) idle() bool { return !c.lb.has(lbInflight) && c.out.n.Load() == 0 }

// service acts on the requests made through the public methods: close
// requests first, then one write of everything queued.
func (c *Conn) service() {
	if c.closed {
		c.mu.Lock()
		c.scheduled = false
		c.mu.Unlock()
		c.recycle() // the service pending kept it
		return
	}
	c.mu.Lock()
	c.scheduled = false
	req := c.req.Load()
	marks := c.marksWaiting()
	empty := c.out.n.Load() == 0
	c.mu.Unlock()
	if req == reqNone && empty && !marks && c.steady() {
		// Nothing asked for, queued or held: every step below would find
		// nothing to do (the service after a reply the socket took whole).
		// A Write from another goroutine after the unlock finds scheduled
		// false and queues a service of its own.
		return
	}
	switch {
	case req == reqAbort:
		c.finish(ErrAborted, true)
		return
	case req == reqOverflow:
		c.stats().overflows.Add(1)
		c.finish(fmt.Errorf("%w: a write would pass WithMaxWriteQueue(%d); the connection is aborted rather than lose it", ErrQueueFull, c.cfg.writeMax), true)
		return
	case req == reqClose:
		c.onClose()
	case req == reqCloseWrite:
		c.onCloseWrite()
	}
	if c.readShut() {
		c.onShutRead()
		c.dropInput()
	}
	c.flush()
	if marks {
		c.reportWritten() // marks on an empty queue, or behind bytes already out
	}
	// queued counts file bytes too, so at or below high nothing in memory
	// can be above it: only then is the lock behind Writable needed.
	if high, _ := c.cfg.watermarks(); !c.closed && !c.lb.has(lbBPPaused) && !c.cfg.noReadPause &&
		int(c.out.n.Load()) > high && !c.Writable() {
		c.lb.set(lbBPPaused, true)
		c.stats().readPauses.Add(1)
	}
	c.updateReading()
	c.deliverHeld()
	c.settleEnd()
}

// steady reports whether c is open both ways and reading, with nothing
// holding its input back (PauseRead, CloseRead, backpressure) and no
// input or end of input held in its inbox: with nothing requested or
// queued besides, a service leaves it as it is.
func (c *Conn) steady() bool {
	return c.lb.has(lbReading) && !c.lb.has(lbBPPaused) && c.tx == outOpen && c.rx == inOpen &&
		c.flags.Load()&(flagPaused|flagReadShut) == 0 &&
		(c.tail == nil || !c.tail.held && c.tail.end == nil)
}

// updateReading reads or stops reading as PauseRead, backpressure and the
// close state ask. A closing connection, or one whose receive side is shut,
// keeps reading to drain its input.
func (c *Conn) updateReading() {
	if c.closed {
		return
	}
	if c.held() && !c.holdsBack() {
		c.loop.deferInput(c) // reading resumes: the next iteration delivers what waited
	}
	want := !c.ended() && !c.endHeld() && (c.closing() || c.readShut() || (!c.paused() && !c.lb.has(lbBPPaused) && !c.inboxFull()))
	if want == c.lb.has(lbReading) {
		return
	}
	c.lb.set(lbReading, want)
	if err := c.loop.poller.SetReading(c.tok, want); err != nil {
		c.finish(err, true)
	}
}

// flush submits one write of the queue unless one is in flight. Not while
// the connection is borrowing (a close made in OnData, say a framing
// error's, flushes from inside the read's callbacks): its queue may hold
// borrowed segments, which a write that went pending would go on pointing
// at after the read buffer is reused. settle writes them instead, and the
// service after it flushes.
func (c *Conn) flush() {
	if c.lb.has(lbInflight) || c.closed || c.borrowing {
		return
	}
	if c.out.n.Load() == 0 {
		// Nothing to write, known without the lock: a Write racing this
		// schedules a service of its own, and none comes once a FIN is
		// owed.
		c.drained()
		return
	}
	l := c.loop
	c.mu.Lock()
	f, off, size, isFile := c.out.headFile()
	iov := c.out.iov(l.iov[:0], maxIovecs, nil) // no borrowed segment is left outside the window
	c.mu.Unlock()
	if len(iov) == 0 && !isFile {
		c.drained()
		return
	}
	if c.stalled == 0 {
		c.stalled = l.now
		c.rearm()
	}
	var n int
	var pending bool
	var err error
	if isFile {
		n, pending, err = l.poller.SendFile(c.tok, f, off, min(size, maxSendFile))
	} else {
		n, pending, err = l.poller.Write(c.tok, iov)
	}
	l.dropIov(iov)
	c.stats().writes.Add(1)
	if pending {
		c.lb.set(lbInflight, true)
		return
	}
	if c.wrote(n, err) {
		// More was queued than one write takes (or arrived meanwhile with
		// a service already due): the next iteration sends it.
		c.mu.Lock()
		sched := c.markScheduled()
		c.mu.Unlock()
		if sched {
			c.schedule()
		}
	}
}

// writeDone handles the completion of a write that went pending.
func (c *Conn) writeDone(n int, err error) {
	c.lb.set(lbInflight, false)
	if c.wrote(n, err) {
		c.flush()
	}
}

// wrote drops n sent bytes from the queue. It reports whether more is
// queued; on an error or an empty queue it moves the state machine on.
func (c *Conn) wrote(n int, err error) bool {
	// owed: an OnWritable may be owed, which drainedToLow decides. Looked
	// at in the lock taken for the queue anyway, so that a queue that
	// never passed its high watermark (nearly every one) costs no second
	// lock: overHigh false here stays false until a Write passes high,
	// and then the queue is above low, for only the loop drains it.
	more, marks, owed := false, false, true
	if n > 0 {
		c.mu.Lock()
		c.out.consume(n, &c.loop.chunks)
		more = c.out.n.Load() > 0
		owed = c.overHigh
		if x := c.more; x != nil {
			x.marks.sent += uint64(n)
			marks = x.marks.waiting() > 0
		}
		c.mu.Unlock()
		sh := c.stats() // looked up once: the atomics between keep the compiler from reusing it
		sh.queued.Add(int64(-n))
		sh.bytesWr.Add(uint64(n))
		c.loop.slot(c).written += uint64(n)
		c.lastActive, c.stalled = c.loop.now, 0
		if c.cfg.framer == nil && c.answers() {
			c.unanswered = 0 // answered: the read timeout's rule without a framer
		}
		if more {
			c.stalled = c.loop.now // progress: the write timeout starts again
		} else if c.unanswered != 0 {
			c.rearm() // output no longer stalled: the read timeout applies again
		}
	}
	if marks {
		c.reportWritten()
	}
	if err != nil {
		c.finish(err, false)
		return false
	}
	if owed && c.drainedToLow() {
		c.lb.set(lbBPPaused, false)
		c.updateReading()
		c.callWritable()
	}
	if !more && !c.closed {
		c.drained()
	}
	return more && !c.closed
}

func (c *Conn) callWritable() {
	if w, ok := c.handler().(WritableHandler); ok && !c.closed {
		defer c.recover("OnWritable")
		w.OnWritable(c)
	}
}

// drained runs when every queued byte has been sent: the lifecycle decides
// whether a FIN goes out, and whether the connection ends or lingers.
//
// Small enough to be inlined: while no close is asked for, onDrained has
// nothing to do (stepNone), and the message path pays no call.
func (c *Conn) drained() {
	if c.tx != outOpen {
		c.drainedStep()
	}
}

// drainedStep is drained's work once a close is asked for.
func (c *Conn) drainedStep() {
	st := c.onDrained(c.reason() != nil, !c.eofOwed())
	switch st {
	case stepNone:
		return
	case stepEnd:
		c.finish(c.reason(), false) // an error close does not linger
		return
	case stepFIN, stepFINEnd, stepFINLinger:
		if err := c.loop.poller.Shutdown(c.tok); err != nil {
			c.finish(err, false)
			return
		}
	}
	switch st {
	case stepFINEnd:
		c.finish(nil, false)
	case stepFINLinger, stepLinger:
		c.linger()
	}
}

// linger starts the bounded wait for the peer's FIN after Close's FIN,
// unless the close is bounded already (a goodbye written in OnClosing).
func (c *Conn) linger() {
	if c.lingerUntil() != 0 {
		return
	}
	d := c.cfg.lingerTime()
	if c.lb.has(lbQuick) && !c.owes() {
		// Asked to close by Shutdown, and owing nothing now that the
		// queue is out: judged here rather than when Shutdown came, when
		// a reply already in the kernel may not have been reported yet
		// (std and TLS complete writes later).
		d = min(d, shutdownLinger)
	}
	if d == 0 {
		c.finish(nil, false)
		return
	}
	c.tails().lingerUntil = c.loop.now + int64(d)
	c.rearm()
}

// closeWith closes gracefully, as Close does, but with err as the OnClose
// reason: what is queued (replies to earlier, good input) is still sent.
func (c *Conn) closeWith(err error) {
	c.mu.Lock()
	if c.req.Load() < reqClose {
		c.req.Store(reqClose)
	}
	c.mu.Unlock()
	if err != nil || c.tail != nil {
		c.tails().reason = err // a close without a reason makes no tail
	}
	c.onClose()
	c.updateReading()
	c.flush()
}

// shutdownLinger bounds the lingering close of a connection that Shutdown
// finds with nothing owed: no reply can be lost there, so it waits for the
// peer's FIN only briefly (a client like nc may never send one).
const shutdownLinger = 200 * time.Millisecond

// owes reports whether the connection has something the peer has not got:
// bytes queued or in flight, input read and not answered, or a frame begun.
func (c *Conn) owes() bool { return !c.idle() || c.unanswered != 0 || c.hasTail() }

// notQuick gives a connection that Shutdown found idle the whole lingering
// close after all: its peer is sending, so closing it soon would meet
// unread input, and the reset that sends would destroy the replies still
// on their way to the peer.
func (c *Conn) notQuick() {
	c.lb.set(lbQuick, false)
	if c.lingerUntil() != 0 {
		c.tail.lingerUntil = max(c.tail.lingerUntil, c.loop.now+int64(c.cfg.lingerTime()))
	}
}

// unsent reports whether some of a TCP connection's output, its FIN
// included, waits in the kernel for room in the peer's window, where the
// engine can tell (driver.Unsender).
func (c *Conn) unsent() bool {
	u, ok := c.loop.poller.(driver.Unsender)
	return ok && c.local.kind != kindUnix && u.Unsent(c.tok) > 0
}

// shutdown tells the connection that its server is shutting down. Like
// net/http's Shutdown, a connection with nothing owed closes at once (a
// FIN and a short linger); a busy one is closed gracefully, its queue
// drained first.
func (c *Conn) shutdown() {
	if c.closed {
		return
	}
	if c.proxyOf() != nil {
		c.finish(ErrServerClosed, true) // never opened: nothing is owed
		return
	}
	c.lb.set(lbQuick, true)
	if sh, ok := c.handler().(ShutdownHandler); ok {
		defer c.recover("OnShutdown")
		sh.OnShutdown(c)
		return
	}
	c.Close()
}

// finish closes the socket and calls OnClose, once. abort sends a reset.
func (c *Conn) finish(err error, abort bool) {
	if c.connecting {
		c.failDial(err) // never opened: the dial fails instead
		return
	}
	if c.closed {
		return
	}
	c.closed = true
	if t := c.tlsOf(); t != nil {
		// A handshake's place under the limit is free before the peer can
		// see the close, so that its next attempt finds it free.
		c.leaveLimit(t)
	}
	l := c.loop
	l.wheel.cancel(&c.timer)
	c.stopTimers()
	// A failed close(2) leaves nothing to do; the reason that matters is err.
	_ = l.poller.Close(c.tok, abort)
	l.freeSlot(c.tok)
	c.mu.Lock()
	if c.req.Load() < reqAbort {
		c.req.Store(reqAbort)
	}
	queued := c.out.n.Load()
	c.out.reset(&l.chunks)
	c.mu.Unlock()
	c.abortReceive(cmp.Or(err, ErrClosed))
	c.clearInbox()
	c.stats().queued.Add(-queued)
	t := c.tlsOf()
	if t != nil {
		// A handshake in progress ends, with the reason if there is one.
		t.pipe.end(cmp.Or(err, ErrClosed))
	}
	// A TLS connection opens after its handshake, a PROXY listener's after
	// its header.
	waited := c.proxyOf() != nil
	opened := (t == nil || t.opened) && !waited
	if opened {
		c.stats().closed.Add(1)
		c.stats().observe(histLifetime, time.Duration(l.eng.clock()-c.openedAt))
	}
	if err != nil {
		if opened {
			c.stats().closedByErr.Add(1)
		}
		if log := c.srv().log; log.Enabled(context.Background(), slog.LevelDebug) {
			log.Debug("proactor: connection closed", "conn", c.id, "remote", c.remote.unpack(), "reason", err, "reset", abort)
		}
	}
	// Out of the registry before OnClose, so that OnClose sees the final
	// ConnCount; counted as gone only after it, so that Shutdown returns
	// after every OnClose.
	c.srv().registry.remove(c)
	// Hold fails from here on (connpool.go).
	c.flags.Or(pinEnded)
	if s := c.srv().server; s != nil && !waited { // admitted only once its header was read
		s.unadmit(c.remote.unpack())
	}
	if opened {
		c.failMarks(err)
		c.callClose(err)
	}
	if c.ext != nil && c.ext.closed != nil {
		close(c.ext.closed)
	}
	c.srv().untrack()
	c.recycle()
}

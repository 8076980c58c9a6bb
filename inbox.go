package proactor

import "io"

// The inbox: every byte read and not yet handed to the handler waits in
// one place, the connection's tail (framing.go), whatever held it back:
//
//   - a partial frame, until the rest of it comes;
//   - input that arrives while reading is off (PauseRead, or backpressure:
//     the write queue above its high watermark): an engine may report
//     reads after SetReading(false) (std's blocking read, io_uring's
//     multishot receive until its cancel takes effect), and the driver
//     contract leaves holding them to the state machine;
//   - input past the read budget: a connection is handed at most
//     readBudget bytes per loop iteration, and the rest waits for the next
//     iteration, so that one fast sender cannot keep the loop from the
//     others. An io_uring receive brings a burst of completions for one
//     socket in a batch; epoll and std read at most one buffer per
//     connection per Poll, so there the budget rarely holds anything.
//
// Input held by the budget puts its connection on the loop's deferred list,
// which the next iteration serves after its Poll without waiting for an
// event (a Poll with deferred input does not block). The end of input (the
// peer's FIN, a read error) that comes behind held input waits in the tail
// too and is acted on once the input before it is delivered. While more
// than inboxMax bytes wait, reading is off (updateReading), so that the
// kernel's flow control, not memory, takes a fast peer's excess. The held
// bytes live in a buffer of the engine's pool (appendTail), given back the
// moment the tail empties and trimmed with the pool.
const (
	readBudget = 64 << 10
	inboxMax   = 256 << 10
)

// deferredConn is an entry of the loop's deferred list: a connection and
// its ID then, so that an entry outlived by its connection (closed, or its
// pooled Conn serving another) is dropped.
type deferredConn struct {
	c  *Conn
	id uint64
}

// spent returns the bytes handed to c's handler in this loop iteration.
// The count lives in c's loop slot (connRef.link): the loop iteration's
// sequence number's low 8 bits in the high 8, the bytes (saturating) in
// the low 24. A count 256 iterations old taken for a current one only
// defers input to the next iteration.
func (l *loop) spent(c *Conn) int { return l.spentIn(l.slot(c)) }

func (l *loop) spentIn(r *connRef) int {
	if r.link>>24 != l.seq&0xff {
		return 0
	}
	return int(r.link & 0xffffff)
}

// spend counts n more bytes handed to c's handler in this iteration.
func (l *loop) spend(c *Conn, n int) {
	r := l.slot(c)
	r.link = (l.seq&0xff)<<24 | uint32(min(l.spentIn(r)+n, 0xffffff))
}

// charge counts n more bytes handed to c's handler in this iteration and
// reports true, unless c has had its read budget already: then it counts
// nothing and reports false. One look at the slot, for a plain read.
func (l *loop) charge(c *Conn, n int) bool {
	r := l.slot(c)
	spent := l.spentIn(r)
	if spent >= readBudget {
		return false
	}
	r.link = (l.seq&0xff)<<24 | uint32(min(spent+n, 0xffffff))
	return true
}

// overBudget reports whether c has had its read budget in this iteration.
func (l *loop) overBudget(c *Conn) bool { return l.spent(c) >= readBudget }

// deferInput puts c, whose held input waits for the next iteration's
// budget, on the deferred list, once.
func (l *loop) deferInput(c *Conn) {
	if c.tail.deferred {
		return
	}
	c.tail.deferred = true
	l.deferred = append(l.deferred, deferredConn{c, c.id})
}

// serveDeferred delivers the input the read budget held in the last
// iterations, each connection up to its budget in this one; what is still
// left goes back on the list. The connections are serviced after (their
// replies flushed) as the reads of this Poll are.
func (l *loop) serveDeferred() {
	list := l.deferred
	l.deferred = l.deferredSpare
	for i, d := range list {
		list[i] = deferredConn{}
		c := d.c
		if c.id != d.id || c.closed {
			continue
		}
		c.tail.deferred = false
		c.serviceAfterPoll()
		c.deliverHeld()
	}
	l.deferredSpare = list[:0]
}

// deliverHeld hands over the input held back once nothing holds it any
// more: as frames with a framer, else as OnData, at most what is left of
// this iteration's budget (the rest is deferred). Input held at a Close or
// a CloseRead is dropped: no OnData after them. Then reading resumes if
// the inbox's bound stopped it, and an end of input that waited behind
// the input is acted on.
func (c *Conn) deliverHeld() {
	if !c.held() {
		return
	}
	for c.held() && !c.closed {
		switch {
		case !c.wantsInput():
			c.releaseTail()
		case c.holdsBack():
			return // updateReading defers it once reading resumes
		case c.loop.overBudget(c):
			c.loop.deferInput(c)
			c.updateReading()
			return
		case c.cfg.framer != nil:
			c.tail.held = false
			c.frames(nil) // holds again what the budget or a PauseRead stops
		default:
			c.tail.held = false
			c.dataHeld()
		}
	}
	if !c.closed {
		c.updateReading()
		c.settleEnd()
	}
}

// dataHeld hands held input to OnData (to a ReceiveFile first), up to the
// iteration's budget; what is left is held again.
func (c *Conn) dataHeld() {
	held := c.tailBytes()
	if c.receiving() {
		for c.receiving() && len(held) > 0 && !c.closed {
			c.tail.off += c.receive(held)
			held = c.tailBytes()
		}
		if c.closed {
			return
		}
		if len(held) == 0 {
			c.releaseTail()
			return
		}
	}
	l := c.loop
	n := min(len(held), readBudget-l.spent(c))
	l.spend(c, n)
	c.callData(held[:n])
	if c.closed {
		return
	}
	c.dropTail(n)
	if c.hasTail() {
		c.tail.held = true
	}
}

// holdsBack reports whether input waits while reading is off: PauseRead,
// or backpressure (the write queue above its high watermark: an echo of
// input that came in flight would only grow it).
func (c *Conn) holdsBack() bool { return c.paused() || c.lb.has(lbBPPaused) }

// wantsInput reports whether input is still for the handler: no Close,
// Abort or CloseRead.
func (c *Conn) wantsInput() bool { return c.req.Load() < reqClose && !c.readShut() }

// inboxFull reports whether more input is held back than the inbox keeps
// while reading: reading stops until it is delivered. A partial frame does
// not count: it needs more input to be delivered at all.
func (c *Conn) inboxFull() bool {
	return c.held() && c.hasTail() && len(c.tailBytes()) > inboxMax
}

// endHeld reports whether the end of input waits behind held input.
func (c *Conn) endHeld() bool { return c.tail != nil && c.tail.end != nil }

// eofOwed reports whether the peer's FIN waits behind held input or for
// ResumeRead.
func (c *Conn) eofOwed() bool { return c.tail != nil && c.tail.end == io.EOF }

// eofAfterInput acts on the peer's FIN once the input before it has been
// delivered: input held back (PauseRead, the read budget), or not read yet
// because reading is paused. OnPeerClosed waits for ResumeRead, as on
// epoll, where a paused connection does not read its FIN; an engine that
// reports a read in flight after the pause (std, io_uring) may bring it.
func (c *Conn) eofAfterInput() {
	if (c.paused() || c.held()) && c.wantsInput() {
		c.tails().end = io.EOF
		return
	}
	if c.tail != nil {
		c.tail.end = nil
	}
	c.peerEOF()
}

// settleEnd acts on the end of input that waited behind held input once
// that input is delivered: a read error closes the connection, the FIN is
// the peer's (unless it must still wait for ResumeRead). A closing
// connection's FIN is its close's business (drained).
func (c *Conn) settleEnd() {
	t := c.tail
	if t == nil || t.end == nil || c.closed || c.held() {
		return
	}
	if t.end != io.EOF {
		err := t.end
		t.end = nil
		c.finish(err, false)
		return
	}
	if !c.closing() {
		c.eofAfterInput()
	}
}

// clearInbox empties the inbox of a connection that has ended, for the
// next connection a pooled Conn serves: its place on the deferred list,
// if any, is dropped by the ID check.
func (c *Conn) clearInbox() {
	if c.tail == nil {
		return
	}
	c.releaseTail()
	t := c.tail
	t.end, t.deferred, t.reason, t.lingerUntil = nil, false, nil, 0
}

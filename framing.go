package proactor

import (
	"github.com/seed487d475b/proactor/buffer"
	"github.com/seed487d475b/proactor/codec"
)

// Errors of framing, the OnClose reasons of a connection whose peer broke
// its framer's rules. They are codec's sentinels.
var (
	ErrFrameTooLarge = codec.ErrFrameTooLarge
	ErrBadFrame      = codec.ErrBadFrame
)

// WithFramer makes OnData receive exactly one whole frame per call, as f
// finds them in the stream (see package codec). A frame that lies whole in
// the read buffer is handed over without a copy; only a partial frame is
// kept, in a pooled buffer of the connection that goes back to the pool as
// soon as it empties. A frame over the framer's MaxFrame, or a malformed
// one, ends the input: the replies already queued (to the good frames
// before it) are sent, then the connection closes, without lingering, with
// ErrFrameTooLarge or ErrBadFrame in OnClose; counted in Stats.FrameErrors. With a framer the read timeout bounds the time a
// partial frame may wait for its end. Per server or per listener; default:
// none (OnData gets each read as it comes).
func WithFramer(f codec.Framer) Option {
	return scoped("WithFramer", onListener|onClient, func(c *config) { c.framer = f })
}

// tail is a connection's inbox: its partial frame, and the input held back
// (while reading is off, or past the loop's read budget: inbox.go), bytes
// [off:len] of buf. It also keeps the loop-owned state of a close (its
// reason, the end of a lingering wait), which most connections never have
// and which would otherwise take 24 bytes of every Conn (docs/ARCHITECTURE.md,
// "Memory per connection"). A connection makes its tail the first time it
// needs one and keeps it; most never do.
type tail struct {
	buf      *buffer.Buffer
	off      int
	need     int  // total bytes the pending frame needs, if the framer knows
	scanned  int  // for a ResumableFramer: the length already searched
	held     bool // bytes wait for reading to resume, or for the next iteration's read budget
	deferred bool // on the loop's deferred list (loop.deferInput)

	// The rest survives the release of the tail's bytes.
	rx *recvFile // a ReceiveFile in progress
	// end is the end of input (io.EOF, or a read error) that came behind
	// held input, or while paused: acted on once that input is delivered
	// (settleEnd).
	end         error
	reason      error // why a closing connection closes (nil: asked to)
	lingerUntil int64 // end of a lingering close (0: not lingering)
}

// frames hands every whole frame in the tail and then in p to OnData and
// keeps what is left, unless the connection closes or pauses meanwhile.
func (c *Conn) frames(p []byte) {
	f := c.cfg.framer
	for !c.closed && c.req.Load() < reqClose && !c.readShut() {
		if c.receiving() {
			// A ReceiveFile started by the last frame's OnData takes
			// what follows it: the tail's bytes first, then p's.
			if c.hasTail() {
				c.dropTail(c.receive(c.tailBytes()))
			}
			if c.receiving() {
				p = p[c.receive(p):]
			}
			if c.receiving() || len(p) == 0 && !c.hasTail() {
				break
			}
			continue
		}
		if c.holdsBack() || c.loop.overBudget(c) {
			c.keep(p)
			if c.tail != nil {
				// Delivered once reading resumes, or by the next
				// iteration (deliverHeld, which the caller runs).
				c.tail.held = c.tail.buf != nil
			}
			return
		}
		var frame []byte
		var n, need int
		var err error
		in := p
		fromTail := c.hasTail()
		if fromTail {
			p = c.fill(p)
			in = c.tailBytes()
			frame, n, need, err = c.next(f, in)
		} else {
			if len(p) == 0 {
				break
			}
			frame, n, need, err = f.Next(p)
		}
		if err != nil {
			c.stats().frameErrors.Add(1)
			c.closeOwn(c.badFrame(err, in), ownGraceful)
			return
		}
		if n == 0 {
			if !fromTail {
				c.keep(p)
				c.tails().need = need
				break
			}
			c.tail.need = need
			c.tail.scanned = len(c.tailBytes())
			if len(p) == 0 {
				break
			}
			continue
		}
		if fromTail {
			c.tail.scanned = 0
		}
		c.loop.spend(c, len(frame))
		c.callData(frame)
		if c.closed {
			return
		}
		if fromTail {
			c.dropTail(n)
		} else {
			p = p[n:]
		}
	}
	// The read timeout runs while a frame is begun and not finished.
	switch {
	case !c.hasTail():
		c.unanswered = 0
	case c.unanswered == 0:
		c.unanswered = c.loop.now
		c.rearm()
	}
}

func (c *Conn) next(f codec.Framer, b []byte) ([]byte, int, int, error) {
	if rf, ok := f.(codec.ResumableFramer); ok {
		return rf.NextFrom(b, c.tail.scanned)
	}
	return f.Next(b)
}

func (c *Conn) tailBytes() []byte { return c.tail.buf.Bytes()[c.tail.off:] }

// hasTail reports whether bytes wait in the tail.
func (c *Conn) hasTail() bool { return c.tail != nil && c.tail.buf != nil }

// held reports whether the tail's bytes wait for ResumeRead.
func (c *Conn) held() bool { return c.tail != nil && c.tail.held }

// tails returns the connection's tail, making it the first time.
func (c *Conn) tails() *tail {
	if c.tail == nil {
		c.tail = new(tail)
	}
	return c.tail
}

// keep appends p to the tail.
func (c *Conn) keep(p []byte) {
	if len(p) > 0 {
		c.appendTail(p)
	}
}

// fill moves bytes of p into the tail: just enough for the pending frame if
// its size is known (the rest of p is then parsed in place, without a
// copy), else all of p. It returns what is left of p.
func (c *Conn) fill(p []byte) []byte {
	take := len(p)
	if need := c.tail.need - len(c.tailBytes()); c.tail.need > 0 && need < take {
		take = max(need, 0)
	}
	c.appendTail(p[:take])
	return p[take:]
}

func (c *Conn) appendTail(p []byte) {
	t := c.tails()
	if t.buf == nil {
		t.buf = c.loop.eng.bufs.Get(max(len(p), t.need))
		t.buf.SetLen(0)
		t.off = 0
	}
	have := len(t.buf.Bytes()) - t.off
	if have+len(p) > t.buf.Cap()-t.off {
		// Grow once to what the frame needs, or compact what is there.
		nb := c.loop.eng.bufs.Get(max(have+len(p), t.need, 2*have))
		copy(nb.Bytes(), t.buf.Bytes()[t.off:])
		nb.SetLen(have)
		t.buf.Release()
		t.buf, t.off = nb, 0
	}
	b := t.buf.Bytes()
	t.buf.SetLen(len(b) + len(p))
	copy(t.buf.Bytes()[len(b):], p)
}

// dropTail removes n delivered bytes; an empty tail goes back to the pool.
func (c *Conn) dropTail(n int) {
	t := c.tail
	t.off += n
	t.need = 0
	if t.off == len(t.buf.Bytes()) {
		c.releaseTail()
	}
}

// releaseTail returns the tail's bytes to the pool; a ReceiveFile, an end
// of input owed, a place on the deferred list and a close's state stay.
func (c *Conn) releaseTail() {
	t := c.tail
	if t == nil {
		return
	}
	if t.buf != nil {
		t.buf.Release()
	}
	t.buf, t.off, t.need, t.scanned, t.held = nil, 0, 0, 0, false
}

// reason returns why the closing connection closes (nil: asked to).
func (c *Conn) reason() error {
	if c.tail == nil {
		return nil
	}
	return c.tail.reason
}

// lingerUntil returns the end of the lingering close, or 0.
func (c *Conn) lingerUntil() int64 {
	if c.tail == nil {
		return 0
	}
	return c.tail.lingerUntil
}

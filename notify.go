package proactor

import (
	"cmp"
	"errors"
	"fmt"
)

// Completion notices: Mark puts a mark behind what is queued, and the loop
// reports it (WrittenHandler.OnWritten) once every byte before it has been
// handed to the kernel. A mark is a stream offset: the bytes consumed from
// the queue since the connection made its connMore, plus what was queued
// then. Nothing on the message path changes for a connection that never
// marks but one nil check in wrote.

// WrittenHandler is an optional Handler interface: the completion notices
// of Conn.Mark. OnWritten runs on the connection's loop, in order with its
// other callbacks, exactly once for each mark and in the order of the
// marks: with a nil err once every byte queued before the mark (Write,
// Writev, WriteBuffer, SendFile) has been handed to the kernel, or, if
// the connection ends first, with the reason (OnClose's err, or ErrClosed
// after a clean close) just before OnClose. A SendFile followed by a Mark
// is thus told when the file has been sent or why it was not.
type WrittenHandler interface {
	OnWritten(c *Conn, mark uint64, err error)
}

// errNoWrittenHandler is Mark's error on a connection whose handler is not
// a WrittenHandler: its marks would never be reported.
var errNoWrittenHandler = fmt.Errorf("proactor: Mark needs a handler that implements WrittenHandler: %w", errors.ErrUnsupported)

// markQueue is a connection's marks not yet reported, oldest first, as
// stream offsets (see connMore.sent). Marks are numbered 1, 2, ... in the
// order Mark made them, so the oldest one's number follows from issued and
// the count waiting, and no number is stored.
type markQueue struct {
	offs   []uint64 // offs[head:] wait; the array is reused
	head   int
	issued uint64 // marks made so far: the number of the newest
	sent   uint64 // bytes consumed from the queue since connMore was made
}

func (m *markQueue) waiting() int { return len(m.offs) - m.head }

// pop removes the oldest mark and returns its number.
func (m *markQueue) pop() uint64 {
	n := m.issued - uint64(m.waiting()) + 1
	m.head++
	if m.head == len(m.offs) {
		m.offs, m.head = m.offs[:0], 0
	}
	return n
}

// Mark returns a mark for everything queued on the connection so far,
// numbered 1 for the connection's first mark, then 2, 3, ...: the
// handler's OnWritten(c, mark, nil) follows once all those bytes have been
// handed to the kernel (over TLS: their records, as ciphertext), or
// OnWritten(c, mark, err) if the connection ends first. Bytes written
// after Mark returns are not covered, so a Mark right after a SendFile
// reports the end of that file. The handler must implement
// WrittenHandler (else Mark returns an error matching
// errors.ErrUnsupported); Mark returns ErrClosed once the connection is
// aborted or closed, and works after CloseWrite and Close, whose queued
// bytes still go out. Safe from any goroutine. Once the connection has
// marked, marking and reporting allocate nothing.
func (c *Conn) Mark() (uint64, error) {
	if _, ok := c.handler().(WrittenHandler); !ok {
		return 0, errNoWrittenHandler
	}
	c.mu.Lock()
	if c.req.Load() >= reqAbort {
		c.mu.Unlock()
		return 0, ErrClosed
	}
	m := &c.extra().marks
	m.offs = append(m.offs, m.sent+uint64(c.out.n.Load()))
	m.issued++
	n := m.issued
	sched := c.markScheduled() // an empty queue's mark is reported by the service
	c.mu.Unlock()
	if sched {
		c.schedule()
	}
	return n, nil
}

// marksWaiting reports whether marks wait to be reported. c.mu must be held.
func (c *Conn) marksWaiting() bool { return c.more != nil && c.more.marks.waiting() > 0 }

// reportWritten calls OnWritten for every mark whose bytes have all been
// handed to the kernel.
func (c *Conn) reportWritten() {
	h, _ := c.handler().(WrittenHandler)
	for h != nil && !c.closed {
		c.mu.Lock()
		m := &c.more.marks
		if m.waiting() == 0 || m.offs[m.head] > m.sent {
			c.mu.Unlock()
			return
		}
		n := m.pop()
		c.mu.Unlock()
		c.callWritten(h, n, nil)
	}
}

// failMarks reports the marks still waiting when the connection ends, with
// its reason. Called by finish, after the queue has been dropped and no
// Mark can succeed any more.
func (c *Conn) failMarks(err error) {
	c.mu.Lock()
	if !c.marksWaiting() {
		c.mu.Unlock()
		return
	}
	m := &c.more.marks
	last := m.issued
	first := last - uint64(m.waiting()) + 1
	m.offs, m.head = nil, 0
	c.mu.Unlock()
	h := c.handler().(WrittenHandler)
	err = cmp.Or(err, ErrClosed)
	for n := first; n <= last; n++ {
		c.callWritten(h, n, err)
	}
}

func (c *Conn) callWritten(h WrittenHandler, mark uint64, err error) {
	defer c.recover("OnWritten")
	h.OnWritten(c, mark, err)
}

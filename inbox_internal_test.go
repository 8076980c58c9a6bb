package proactor

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/seed487d475b/proactor/buffer"
	"github.com/seed487d475b/proactor/internal/driver"
)

// inboxPoller stands in for an engine: the tests hand reads to the loop's
// Sink themselves, as an io_uring batch would, and the poller records
// what the state machine asks of reading.
type inboxPoller struct {
	driver.Poller // nil: a call the tests do not expect panics
	reading       map[driver.Token]bool
	offs          int // SetReading(false) calls
}

func (p *inboxPoller) SetReading(t driver.Token, on bool) error {
	p.reading[t] = on
	if !on {
		p.offs++
	}
	return nil
}

func (p *inboxPoller) Close(driver.Token, bool) error { return nil }

// inboxHandler records what each connection was handed, and in which loop
// iteration.
type inboxHandler struct {
	BaseHandler
	got    map[*Conn][]byte
	per    map[*Conn]map[uint32]int // bytes by iteration
	closed map[*Conn]int            // OnPeerClosed: the bytes handed before it
}

func (h *inboxHandler) OnData(c *Conn, p []byte) {
	h.got[c] = append(h.got[c], p...)
	h.per[c][c.loop.seq] += len(p)
}

func (h *inboxHandler) OnPeerClosed(c *Conn) { h.closed[c] = len(h.got[c]) }

// inboxLoop is a loop that is never run: the test drives its iterations.
type inboxLoop struct {
	*loop
	srv  *Server
	p    *inboxPoller
	h    *inboxHandler
	pool *buffer.Pool
}

func newInboxLoop(t *testing.T) *inboxLoop {
	h := &inboxHandler{got: map[*Conn][]byte{}, per: map[*Conn]map[uint32]int{}, closed: map[*Conn]int{}}
	pool := buffer.NewPool()
	srv, err := NewServer(h, WithLoops(1), WithBufferPool(pool))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	p := &inboxPoller{reading: map[driver.Token]bool{}}
	return &inboxLoop{loop: newLoop(srv.eng, 0, p), srv: srv, p: p, h: h, pool: pool}
}

// conn opens a connection on the loop without a socket. It is finished
// before the server closes (whose Close would wait for this loop).
func (l *inboxLoop) conn(t *testing.T) *Conn {
	c := newConn(&l.srv.cfg, l.loop, l.allocSlot(), driver.Sock{})
	if !l.srv.track(c) {
		t.Fatal("server closed")
	}
	l.setConn(c)
	l.h.per[c] = map[uint32]int{}
	t.Cleanup(func() { c.finish(nil, true) })
	return c
}

// iterate runs one loop iteration whose Poll brings the reads that reads
// makes.
func (l *inboxLoop) iterate(reads func()) {
	l.runTasks()
	l.seq++
	if reads != nil {
		reads()
	}
	l.serveDeferred()
	l.serviceDirty()
}

// reads hands data to c in reads of size read (the last may be shorter),
// as one Poll's batch of completions would.
func (l *inboxLoop) reads(c *Conn, data []byte, read int) {
	for i := 0; i < len(data); i += read {
		l.Read(c.tok, data[i:min(i+read, len(data))], nil)
	}
}

// stream is n bytes that say where they lie in it, so that a change of
// order shows.
func stream(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i / 1000)
	}
	return b
}

// TestInboxBudget: a connection whose Poll brings a flood (sixteen reads
// of 16 KiB, as an io_uring batch may) is handed a read budget of it per
// loop iteration, the rest held in its inbox and delivered by the next
// iterations without any new event, in order; a quiet connection's input
// in the same batches is handed over at once, every time.
func TestInboxBudget(t *testing.T) {
	l := newInboxLoop(t)
	fast, quiet := l.conn(t), l.conn(t)
	const read = 16 << 10
	flood := stream(16 * read)
	l.iterate(func() {
		for i := 0; i < len(flood); i += read {
			l.Read(fast.tok, flood[i:i+read], nil)
			if i == len(flood)/2 {
				l.Read(quiet.tok, []byte("ping"), nil)
			}
		}
	})
	if n := l.h.per[fast][l.seq]; n != readBudget {
		t.Fatalf("the flooding connection was handed %d bytes in the iteration of its reads; want the budget, %d", n, readBudget)
	}
	if string(l.h.got[quiet]) != "ping" {
		t.Fatalf("the quiet connection got %q in the same iteration", l.h.got[quiet])
	}
	if len(l.deferred) != 1 {
		t.Fatalf("%d connections deferred, want 1", len(l.deferred))
	}
	first := l.seq
	for i := range 3 {
		l.iterate(func() { l.Read(quiet.tok, []byte("ping"), nil) })
		if n := l.h.per[fast][l.seq]; n != readBudget {
			t.Fatalf("iteration %d after the flood handed %d bytes; want %d", i+1, n, readBudget)
		}
		if n := l.h.per[quiet][l.seq]; n != 4 {
			t.Fatalf("iteration %d after the flood: the quiet connection got %d bytes, want 4", i+1, n)
		}
	}
	if !bytes.Equal(l.h.got[fast], flood) {
		t.Fatal("the flood's bytes came out of order or not all")
	}
	if len(l.deferred) != 0 || fast.hasTail() {
		t.Fatalf("after %d iterations: %d deferred, tail %v; want nothing left", l.seq-first+1, len(l.deferred), fast.hasTail())
	}
	if l.p.offs != 0 {
		t.Fatal("reading was turned off for input within the inbox's bound")
	}
}

// TestInboxBound: past inboxMax bytes held, reading is off until the
// inbox is delivered down to its bound, so that a fast peer meets TCP's
// flow control; the end of stream that came behind the held bytes is acted
// on after them.
func TestInboxBound(t *testing.T) {
	l := newInboxLoop(t)
	c := l.conn(t)
	const read = 16 << 10
	flood := stream(readBudget + inboxMax + read)
	l.iterate(func() {
		l.reads(c, flood, read)
		l.Read(c.tok, nil, io.EOF)
	})
	if on, ok := l.p.reading[c.tok]; !ok || on {
		t.Fatalf("reading on (%v, asked %v) with %d bytes held; the bound is %d", on, ok, len(c.tailBytes()), inboxMax)
	}
	if _, ok := l.h.closed[c]; ok {
		t.Fatal("OnPeerClosed came before the input held ahead of the FIN")
	}
	for range 8 {
		if len(l.h.got[c]) == len(flood) {
			break
		}
		l.iterate(nil)
	}
	if !bytes.Equal(l.h.got[c], flood) {
		t.Fatalf("%d of %d bytes delivered, or out of order", len(l.h.got[c]), len(flood))
	}
	if n, ok := l.h.closed[c]; !ok || n != len(flood) {
		t.Fatalf("OnPeerClosed %v after %d bytes; want it after all %d", ok, n, len(flood))
	}
	// Reading went off once; the FIN keeps it off after.
	if l.p.offs != 1 {
		t.Fatalf("reading turned off %d times, want 1", l.p.offs)
	}
}

// TestInboxBoundResumes: reading comes back on once the held input is at
// or below the bound again.
func TestInboxBoundResumes(t *testing.T) {
	l := newInboxLoop(t)
	c := l.conn(t)
	const read = 16 << 10
	flood := stream(readBudget + inboxMax + read)
	l.iterate(func() {
		l.reads(c, flood, read)
	})
	if l.p.reading[c.tok] {
		t.Fatal("reading on past the bound")
	}
	l.iterate(nil)
	if !l.p.reading[c.tok] || len(c.tailBytes()) > inboxMax {
		t.Fatalf("reading %v with %d bytes held; want on at or below %d", l.p.reading[c.tok], len(c.tailBytes()), inboxMax)
	}
}

// TestInboxBufferPooled: input held while PauseRead is on goes to a
// buffer of the engine's pool, which goes back the moment the inbox is
// delivered; the next hold takes it again rather than a new one, and the
// pool's Trim lets go of it once a period passes without use. (io_uring
// held input in buffers of its own before, which TestHeldBufferReused
// checked there.)
func TestInboxBufferPooled(t *testing.T) {
	l := newInboxLoop(t)
	c := l.conn(t)
	const read = 16 << 10
	msg := stream(200 << 10)
	var bufs []*buffer.Buffer
	round := func() {
		t.Helper()
		base := len(l.h.got[c])
		c.PauseRead()
		l.iterate(func() {
			for i := 0; i < len(msg); i += read {
				l.Read(c.tok, msg[i:min(i+read, len(msg))], nil)
			}
		})
		if len(l.h.got[c]) != base || !c.hasTail() {
			t.Fatalf("%d bytes handed over while paused, tail %v", len(l.h.got[c])-base, c.hasTail())
		}
		bufs = append(bufs, c.tail.buf)
		c.ResumeRead()
		for range 8 {
			l.iterate(nil)
		}
		if !bytes.Equal(l.h.got[c][base:], msg) {
			t.Fatalf("%d of %d bytes delivered after ResumeRead, or out of order", len(l.h.got[c])-base, len(msg))
		}
		if c.hasTail() {
			t.Fatal("the inbox kept its buffer once delivered")
		}
	}
	round()
	allocs := l.pool.Stats().Allocs
	round()
	if bufs[0] != bufs[1] {
		t.Fatal("the second hold took a new buffer instead of the first's")
	}
	if n := l.pool.Stats().Allocs - allocs; n != 0 {
		t.Fatalf("the second hold allocated %d buffers; want all from the pool", n)
	}
	l.pool.Trim()
	if n := l.pool.Trim(); n < 256<<10 {
		t.Fatalf("Trim after a period unused let go of %d bytes; want the held buffer's, at least %d", n, 256<<10)
	}
}

// TestInboxReadError: a read error behind input the read budget held waits
// for that input (the next iteration delivers it, then the connection
// ends); behind input held by PauseRead it ends the connection at once, as
// a hangup with an error does, instead of leaving a failed socket open
// until ResumeRead.
func TestInboxReadError(t *testing.T) {
	l := newInboxLoop(t)
	reset := errors.New("connection reset")

	c := l.conn(t)
	const read = 16 << 10
	flood := stream(readBudget + read)
	l.iterate(func() {
		l.reads(c, flood, read)
		l.Read(c.tok, nil, reset)
	})
	if c.closed {
		t.Fatal("the read error overtook the input the budget held")
	}
	l.iterate(nil)
	if !bytes.Equal(l.h.got[c], flood) || !c.closed {
		t.Fatalf("%d of %d bytes delivered, closed %v; want all, then closed", len(l.h.got[c]), len(flood), c.closed)
	}

	p := l.conn(t)
	p.PauseRead()
	l.iterate(func() {
		l.Read(p.tok, stream(read), nil) // a read in flight when the pause came
		l.Read(p.tok, nil, reset)
	})
	if !p.closed {
		t.Fatal("a paused connection whose read failed stays open until ResumeRead")
	}
}

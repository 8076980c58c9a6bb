package proactor

import (
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/seed487d475b/proactor/internal/driver"
)

type taskKind uint8

const (
	taskService   taskKind = iota // serve a connection's write and close requests
	taskOpen                      // open an accepted socket handed over by another loop
	taskAbort                     // abort a connection with err
	taskShutdown                  // tell a connection that its server shuts down
	taskDial                      // start a Client's connect
	taskFunc                      // run fn
	taskTimer                     // arm tm
	taskTimerStop                 // take a stopped tm off the wheel
	taskRecycle                   // pool c, released by its last pin, if it is still connection id's
)

type task struct {
	kind taskKind
	c    *Conn
	id   uint64 // if set, c's ID when queued: the task is dropped if c has moved on (connpool.go)
	ln   *listener
	sock driver.Sock
	err  error
	fn   func()
	tm   *Timer
}

// taskQueue is a loop's multi-producer, single-consumer queue. Producers
// append under the mutex; the loop swaps the whole batch out at once. n
// mirrors the length so the loop can check for work without the lock.
type taskQueue struct {
	mu     sync.Mutex
	q      []task
	n      atomic.Int32
	closed bool
}

func (t *taskQueue) push(x task) bool {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return false
	}
	t.q = append(t.q, x)
	t.n.Store(int32(len(t.q)))
	t.mu.Unlock()
	return true
}

// take swaps the queued tasks with spare, which must be empty.
func (t *taskQueue) take(spare []task) []task {
	t.mu.Lock()
	q := t.q
	t.q = spare
	t.n.Store(0)
	t.mu.Unlock()
	return q
}

// loop is one event loop: a goroutine, a poller, and the connections and
// listeners it owns. Fields without a comment are touched only by the loop
// goroutine.
type loop struct {
	eng    *Engine
	idx    int
	poller driver.Poller

	tasks    taskQueue
	sleeping atomic.Bool // set while the loop may block in Poll; cleared by whoever wakes it
	spare    []task

	conns  driver.Table[connRef] // by slot
	inUse  atomic.Int32          // slots in use: connections open or opening on this loop
	coming atomic.Int32          // accepted sockets handed to this loop and not yet opened
	used   uint32                // slots handed out so far
	free   uint32                // a free slot + 1, heading a list through connRef.link; 0: none
	lns    []*listener           // by slot
	lnGen  uint32
	iov    [][]byte   // scratch for building a write
	dirty  []*Conn    // connections to service after this Poll (serviceAfterPoll)
	chunks chunkCache // write-queue chunks of this loop's connections
	wheel  wheel      // the connections' timers
	timers wheel      // Timers (timer.go)
	now    int64      // the loop's clock, refreshed after each Poll
	calls  uint32     // OnData calls made, for sampling them (see sampleEvery)

	// Connections whose input the read budget held, served after the
	// next Poll (inbox.go); seq counts Polls, for the budget.
	deferred, deferredSpare []deferredConn
	seq                     uint32

	// Busy polling (WithBusyPoll): after a Poll that delivered a
	// completion (active set by the Sink methods), the loop polls without
	// blocking until busyPoll nanoseconds have passed since lastActive.
	busyPoll   int64
	lastActive int64
	active     bool

	// Borrowing (see Conn.queue): the read whose callbacks run, for
	// the one connection it is delivered to. Set before that connection's
	// window opens and left alone until it closes, both under the
	// connection's mu, so a Write that finds the window open under that
	// lock may read it from any goroutine. tryW is nil where the engine
	// cannot write inline, and then no window opens.
	tryW   driver.TryWriter
	window []byte

	plain []byte // TLS: decrypted bytes being delivered, made on first use

	pkts   []*PacketConn // datagram sockets by slot (packet.go)
	pktGen uint32

	stopping bool
	done     chan struct{}
}

func newLoop(e *Engine, idx int, p driver.Poller) *loop {
	l := &loop{eng: e, idx: idx, poller: p, done: make(chan struct{}), chunks: newChunkCache(&e.chunks)}
	l.now = e.clock()
	l.wheel, l.timers = newWheel(l.now), newWheel(l.now)
	l.tryW, _ = p.(driver.TryWriter)
	return l
}

// push queues a task for the loop and wakes it if it sleeps. It reports
// false if the loop has stopped.
func (l *loop) push(t task) bool {
	if !l.tasks.push(t) {
		return false
	}
	if l.sleeping.Swap(false) {
		if err := l.poller.Wake(); err != nil {
			l.eng.log.Error("proactor: wake failed", "loop", l.idx, "err", err)
		}
	}
	return true
}

// call runs fn on the loop and waits for it. It must not be called from the
// loop itself.
func (l *loop) call(fn func()) error {
	done := make(chan struct{})
	if !l.push(task{kind: taskFunc, fn: func() { fn(); close(done) }}) {
		return ErrEngineClosed
	}
	<-done
	return nil
}

func (l *loop) stop() {
	l.push(task{kind: taskFunc, fn: func() { l.stopping = true }})
}

func (l *loop) run() {
	defer close(l.done)
	for {
		l.runTasks()
		if l.stopping {
			l.teardown()
			return
		}
		timeout := l.wheel.timeout(l.now)
		if l.timers.n != 0 {
			timeout = timeout2(timeout, l.timers.timeout(l.now))
		}
		if l.spin() || len(l.deferred) > 0 {
			// Not sleeping: a push needs no wake-up, the next turn
			// runs its task. Deferred input is delivered after this
			// Poll, which must not wait for an event.
			timeout = 0
		} else {
			l.sleeping.Store(true)
			if l.tasks.n.Load() != 0 {
				timeout = 0
			}
		}
		l.active = false
		l.seq++ // a new read budget for every connection
		err := l.poller.Poll(time.Duration(timeout), l)
		l.sleeping.Store(false)
		if l.active {
			l.lastActive = l.now
		}
		l.serveDeferred()
		l.serviceDirty()
		if err != nil {
			l.eng.log.Error("proactor: poll failed; loop stops", "loop", l.idx, "err", err)
			l.teardown()
			return
		}
		l.wheel.advance(l.now, l.connTimerFired)
		if l.timers.n != 0 { // most loops never have a Timer: see catchUp
			l.timers.advance(l.now, l.userTimerFired)
		}
	}
}

// spin reports whether the next Poll is to be a non-blocking one of busy
// polling: WithBusyPoll is on and its time since the last completion has
// not passed. An idle loop never spins.
func (l *loop) spin() bool {
	return l.busyPoll > 0 && l.now-l.lastActive < l.busyPoll
}

// dropIov forgets the references a write's iov held, so that the scratch
// keeps no chunk or buffer alive, and keeps its array for the next write.
// A loop rather than clear, and a backward one, which the compiler does
// not turn into clear's call: for the one or two slices of a message it
// costs a few instructions, where that call, with its write barrier
// check, costs fifty (callgrind).
func (l *loop) dropIov(iov [][]byte) {
	for i := len(iov) - 1; i >= 0; i-- {
		iov[i] = nil
	}
	l.iov = iov[:0]
}

// serviceDirty services the connections that serviceAfterPoll marked.
func (l *loop) serviceDirty() {
	for i, c := range l.dirty {
		l.dirty[i] = nil
		c.service()
	}
	l.dirty = l.dirty[:0]
}

func (l *loop) connTimerFired(e *timerEntry) { connOfTimer(e).timerFired(l.now) }

func (l *loop) userTimerFired(e *timerEntry) { timerOf(e).fire(l.now) }

// connOfTimer returns the connection whose timer e is: every timerEntry is
// a Conn's timer field, and a back pointer would cost each Conn 8 bytes.
func connOfTimer(e *timerEntry) *Conn {
	return (*Conn)(unsafe.Add(unsafe.Pointer(e), -int(unsafe.Offsetof(Conn{}.timer))))
}

// runTasks runs the queued tasks. Tasks queued meanwhile (writes made in
// OnOpen, say) get one more round so they are flushed in this iteration.
func (l *loop) runTasks() {
	for range 2 {
		if l.tasks.n.Load() == 0 {
			return
		}
		batch := l.tasks.take(l.spare)
		for i := range batch {
			l.runTask(&batch[i])
			batch[i] = task{}
		}
		l.spare = batch[:0]
	}
}

func (l *loop) runTask(t *task) {
	if t.id != 0 && t.c.id != t.id {
		return // queued for a connection whose pooled Conn has moved on (connpool.go)
	}
	switch t.kind {
	case taskService:
		t.c.service()
	case taskOpen:
		l.coming.Add(-1)
		l.open(t.ln, t.sock)
	case taskAbort:
		t.c.finish(t.err, true)
	case taskShutdown:
		t.c.shutdown()
	case taskDial:
		l.startDial(t.c, t.sock)
	case taskFunc:
		t.fn()
	case taskTimer:
		t.tm.arm()
	case taskTimerStop:
		t.tm.cancel()
	case taskRecycle:
		t.c.recycle()
	}
}

// teardown aborts what is left when the engine stops and releases the poller.
func (l *loop) teardown() {
	l.tasks.mu.Lock()
	l.tasks.closed = true
	l.tasks.mu.Unlock()
	for {
		batch := l.tasks.take(nil)
		if len(batch) == 0 {
			break
		}
		for i := range batch {
			l.runTask(&batch[i])
		}
	}
	l.conns.All(func(_ uint32, r *connRef) {
		if r.c != nil {
			r.c.finish(ErrEngineClosed, true)
		}
	})
	for _, ln := range l.lns {
		if ln != nil {
			ln.unlisten()
		}
	}
	l.closePackets()
	if err := l.poller.Release(); err != nil {
		l.eng.log.Error("proactor: releasing poller", "loop", l.idx, "err", err)
	}
}

// connRef is a loop's slot: the connection in it, the generation of its
// latest token, link, and the bytes its connection read and wrote (for
// Server.Conns; here rather than in Conn, which is at the top of its size
// class). link is the next free slot + 1 while the slot is free, and the
// read budget's count while it is in use (loop.spent): one word for both
// keeps the slot at 32 bytes. Free slots are reused last-freed first, so
// the busy part of the tables stays small.
type connRef struct {
	c             *Conn
	gen           uint32
	link          uint32
	read, written uint64
}

func (l *loop) allocSlot() driver.Token {
	l.inUse.Add(1)
	if l.free != 0 {
		s := l.free - 1
		r := l.conns.At(s)
		l.free, r.link = r.link, 0
		r.gen++
		r.read, r.written = 0, 0
		return driver.MakeToken(s, r.gen)
	}
	s := l.used
	l.used++
	l.conns.Grow(s, nil)
	l.conns.At(s).gen = 1
	return driver.MakeToken(s, 1)
}

func (l *loop) freeSlot(t driver.Token) {
	l.inUse.Add(-1)
	r := l.conns.At(t.Slot())
	r.c, r.link = nil, l.free
	l.free = t.Slot() + 1
}

// setConn puts c in its token's slot.
func (l *loop) setConn(c *Conn) { l.conns.At(c.tok.Slot()).c = c }

// slot returns the slot of c, which must be open on l.
func (l *loop) slot(c *Conn) *connRef { return l.conns.At(c.tok.Slot()) }

func (l *loop) conn(t driver.Token) *Conn {
	if r := l.conns.Get(t.Slot()); r != nil {
		if c := r.c; c != nil && c.tok == t {
			return c
		}
	}
	return nil
}

// Sink methods: completions from the poller.

// Awake clears sleeping as soon as Poll's wait ends, so that writes made in
// the callbacks that follow do not write the eventfd for nothing, and reads
// the clock, so that the completions are stamped with the time they arrive.
func (l *loop) Awake() {
	l.sleeping.Store(false)
	l.now = l.eng.clock()
}

func (l *loop) Read(t driver.Token, p []byte, err error) {
	l.active = true
	if c := l.conn(t); c != nil {
		c.readDone(p, err)
	}
}

func (l *loop) Wrote(t driver.Token, n int, err error) {
	l.active = true
	if c := l.conn(t); c != nil {
		c.writeDone(n, err)
	}
}

func (l *loop) Hangup(t driver.Token, err error) {
	if c := l.conn(t); c != nil {
		if err == nil && (!c.ended() && !c.lb.has(lbReading) || c.eofOwed()) {
			// Both directions are shut, cleanly, while reading is only
			// paused: input may still wait in the socket. ResumeRead reads
			// it and then the end of stream, as if nothing had happened.
			return
		}
		c.finish(err, false)
	}
}

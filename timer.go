package proactor

import (
	"sync/atomic"
	"time"
	"unsafe"
)

// Loop timers: a function run after a delay, or every interval, on a loop,
// in turn with the callbacks of the loop's connections. They sit on the
// loop's timing wheel (wheel.go) beside the connections' own timers, so
// they cost no goroutine and fire at the wheel's tick (20 ms): never
// early, late by up to a tick plus what the loop is busy with.

// Timer states.
const (
	timerPending uint32 = iota // on its way to the loop, or armed
	timerFired                 // an AfterFunc's function has run
	timerStopped               // by Stop, or by the end of its connection or server
)

// Timer is a function scheduled on a loop by Conn.AfterFunc, Conn.Every,
// Engine.AfterFunc, Engine.Every, Server.AfterFunc or Server.Every. Its
// methods are safe from any goroutine.
type Timer struct {
	e     timerEntry // first: timerOf finds the Timer from its entry
	loop  *loop
	c     *Conn   // the connection it runs for; nil for an engine's or a server's
	cid   uint64  // c's ID: a pooled Conn may serve another connection since
	srv   *Server // a server's: it stops with the server
	fc    func(*Conn)
	f     func()
	every int64 // the period of an Every, 0 for an AfterFunc
	state atomic.Uint32

	// c's list of its armed timers, which its end stops (loop-owned).
	next, prev *Timer
	linked     bool
}

// timerOf returns the Timer whose entry e is (an entry of a loop's timers).
func timerOf(e *timerEntry) *Timer {
	// SAFETY: an entry on the timers wheel is the first field of a Timer,
	// so its address is the Timer's.
	return (*Timer)(unsafe.Pointer(e))
}

// newTimer returns a timer due d from now on l, not yet started.
func newTimer(l *loop, d time.Duration, every bool) *Timer {
	t := &Timer{loop: l}
	if every {
		// A period under the wheel's tick is a tick: the wheel fires no
		// more often.
		t.every = max(int64(d), wheelTick)
		d = time.Duration(t.every)
	}
	t.e.when = l.eng.clock() + max(int64(d), 0)
	return t
}

// start hands the timer to its loop, which arms it.
func (t *Timer) start() *Timer {
	if !t.loop.push(task{kind: taskTimer, tm: t}) {
		t.state.Store(timerStopped) // the engine is gone
	}
	return t
}

// Stop keeps the timer from running again and reports whether it did: false
// if an AfterFunc's function has run (or is running) already, or the
// timer was stopped before, by Stop or by the end of its connection or
// server. It does not wait for a run in progress. Safe from any goroutine,
// the timer's own function included.
func (t *Timer) Stop() bool {
	if !t.state.CompareAndSwap(timerPending, timerStopped) {
		return false
	}
	// Off the wheel at once rather than when due, which may be hours: an
	// armed entry keeps the loop ticking.
	t.loop.push(task{kind: taskTimerStop, tm: t})
	return true
}

// AfterFunc runs f(c) on the connection's loop once d has passed, in turn
// with the connection's callbacks, never at the same time as one, so f may
// use the state they keep without a lock. f does not run if the connection
// has closed by then (OnClose has run): the connection's end stops its
// timers. The delay is measured on the loop's timing wheel, whose tick is
// 20 ms: f runs no earlier than d, and up to a tick later. A panic in f
// aborts the connection, as one in a callback does. Safe from any
// goroutine; no goroutine is started.
func (c *Conn) AfterFunc(d time.Duration, f func(c *Conn)) *Timer {
	t := newTimer(c.loop, d, false)
	t.c, t.cid, t.fc = c, c.id, f
	return t.start()
}

// Every runs f(c) on the connection's loop every d, first after d, as
// AfterFunc runs it once, until Stop or the connection's end. A period
// under the timing wheel's tick (20 ms) is a tick. A run that comes late
// does not bring the next ones closer: missed periods are skipped.
func (c *Conn) Every(d time.Duration, f func(c *Conn)) *Timer {
	t := newTimer(c.loop, d, true)
	t.c, t.cid, t.fc = c, c.id, f
	return t.start()
}

// AfterFunc runs f once d has passed, on one of the engine's loops (chosen
// round-robin), in turn with the callbacks of that loop's connections. It
// is the engine-wide timer: for work that belongs to no connection, run
// without a goroutine of its own. The delay is measured as Conn.AfterFunc
// measures it. A panic in f is recovered and logged. Safe from any
// goroutine.
func (e *Engine) AfterFunc(d time.Duration, f func()) *Timer {
	t := newTimer(e.pick(), d, false)
	t.f = f
	return t.start()
}

// Every runs f every d on one of the engine's loops, as Conn.Every runs a
// connection's function, until Stop; a panic in f stops it.
func (e *Engine) Every(d time.Duration, f func()) *Timer {
	t := newTimer(e.pick(), d, true)
	t.f = f
	return t.start()
}

// AfterFunc runs f once d has passed on one of the server's loops, as
// Engine.AfterFunc does, unless the server has stopped by then (Shutdown or
// Close has returned).
func (s *Server) AfterFunc(d time.Duration, f func()) *Timer {
	t := newTimer(s.eng.pick(), d, false)
	t.f, t.srv = f, s
	return t.start()
}

// Every runs f every d on one of the server's loops, as Engine.Every does,
// until Stop or the server stops.
func (s *Server) Every(d time.Duration, f func()) *Timer {
	t := newTimer(s.eng.pick(), d, true)
	t.f, t.srv = f, s
	return t.start()
}

// arm puts the timer on its loop's wheel, on the loop.
func (t *Timer) arm() {
	if t.state.Load() != timerPending {
		return
	}
	if c := t.c; c != nil {
		if c.closed || c.id != t.cid {
			t.state.CompareAndSwap(timerPending, timerStopped)
			return
		}
		c.link(t)
	}
	t.loop.timers.catchUp(t.loop.now) // the loop advances it only while armed
	t.loop.timers.arm(&t.e, t.e.when)
}

// cancel takes a stopped timer off the wheel, on the loop.
func (t *Timer) cancel() {
	t.loop.timers.cancel(&t.e)
	t.unlink()
}

// fire runs a timer that is due, on the loop; the wheel has taken it off.
func (t *Timer) fire(now int64) {
	if t.every == 0 {
		ok := t.state.CompareAndSwap(timerPending, timerFired)
		t.unlink()
		if ok {
			t.run()
		}
		return
	}
	if t.state.Load() == timerPending {
		t.run()
	}
	if t.state.Load() != timerPending {
		t.unlink()
		return
	}
	next := t.e.when + t.every
	if next <= now {
		next += ((now-next)/t.every + 1) * t.every // skip the periods missed
	}
	t.loop.timers.arm(&t.e, next)
}

// run calls the timer's function.
func (t *Timer) run() {
	if c := t.c; c != nil {
		if c.closed || c.id != t.cid {
			return // stopped by finish already; kept for safety
		}
		defer c.recover("timer")
		t.fc(c)
		return
	}
	if s := t.srv; s != nil && s.stopped() {
		t.state.Store(timerStopped)
		return
	}
	defer t.recoverEngine()
	t.f()
}

// recoverEngine turns a panic in an engine's or server's timer function
// into a log entry and a stopped timer; the loop goes on.
func (t *Timer) recoverEngine() {
	if v := recover(); v != nil {
		t.state.Store(timerStopped)
		t.loop.eng.log.Error("proactor: panic in a timer's function; the timer stops", "loop", t.loop.idx, "panic", v)
	}
}

// link adds t to c's armed timers, on the loop.
func (c *Conn) link(t *Timer) {
	c.mu.Lock()
	x := c.extra()
	c.mu.Unlock()
	t.prev, t.next = nil, x.timers
	if t.next != nil {
		t.next.prev = t
	}
	x.timers, t.linked = t, true
}

// unlink takes t out of its connection's list, on the loop.
func (t *Timer) unlink() {
	if !t.linked {
		return
	}
	// c.more was read under c.mu by link on this goroutine and never
	// changes once made.
	x := t.c.more
	if t.prev != nil {
		t.prev.next = t.next
	} else {
		x.timers = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	}
	t.next, t.prev, t.linked = nil, nil, false
}

// stopTimers stops the connection's timers when it ends, on the loop.
func (c *Conn) stopTimers() {
	c.mu.Lock()
	x := c.more
	c.mu.Unlock()
	if x == nil {
		return
	}
	for x.timers != nil {
		t := x.timers
		t.state.CompareAndSwap(timerPending, timerStopped)
		t.cancel()
	}
}

// stopped reports whether the server has stopped.
func (s *Server) stopped() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

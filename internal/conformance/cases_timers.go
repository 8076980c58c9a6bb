package conformance

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// timerState is a connection's state kept without a lock: the callbacks and
// the timer functions touch it, which the race detector allows only if
// they never run at the same time.
type timerState struct {
	inData bool
	runs   int
	every  *proactor.Timer
}

// testTimerOrder: a timer set in OnData runs on the loop after that OnData
// has returned, never during a callback, and its writes take their place
// in the stream: each message is echoed, then the timer's mark follows.
func testTimerOrder(t *testing.T, b Backend) {
	r := newRecorder(t)
	r.onOpen = func(c *proactor.Conn) { c.SetContext(&timerState{}) }
	r.onData = func(c *proactor.Conn, p []byte) {
		s := c.Context().(*timerState)
		s.inData = true
		c.Write(p)
		c.AfterFunc(0, func(c *proactor.Conn) {
			rec := r.enter(c, "timer")
			defer r.leave(rec)
			if s.inData {
				t.Error("timer ran inside OnData")
			}
			s.runs++
			c.Write([]byte("t"))
		})
		s.inData = false
	}
	_, addr := serve(t, b, r)
	c := dial(t, b, addr)
	for range 20 {
		c.Write([]byte("x"))
		readExactly(t, c, []byte("xt"))
	}
	c.Close()
	if ev := r.waitClose(t); ev.err != nil {
		t.Fatalf("%v", ev)
	}
}

// testTimerStop: Every runs until stopped (here by its own function, at the
// fifth run), and not again: a timer set at that run, due three periods
// later, checks; a timer stopped before it is due never runs; Stop reports
// whether it stopped anything. A later timer of the same connection, due
// after the others' first turns, checks that the wheel fires them in the
// order they are due. (It checked the fifth run too, at 300 ms, but a
// loop held up 200 ms on a loaded machine skips the periods it missed, as
// Every's contract says, and the count fell short.)
func testTimerStop(t *testing.T, b Backend) {
	result := make(chan string, 2)
	report := func(out []string) { result <- strings.Join(out, "; ") }
	r := newRecorder(t)
	r.onOpen = func(c *proactor.Conn) {
		s := &timerState{}
		c.SetContext(s)
		s.every = c.Every(20*time.Millisecond, func(c *proactor.Conn) {
			if s.runs++; s.runs != 5 {
				return
			}
			if !s.every.Stop() {
				t.Error("Stop of a running Every reported false")
			}
			c.AfterFunc(60*time.Millisecond, func(*proactor.Conn) {
				var out []string
				if s.runs != 5 {
					out = append(out, fmt.Sprintf("every ran %d times", s.runs))
				}
				if s.every.Stop() {
					out = append(out, "second Stop of Every reported true")
				}
				report(out)
			})
		})
		stopped := c.AfterFunc(40*time.Millisecond, func(*proactor.Conn) { t.Error("a stopped timer ran") })
		if !stopped.Stop() || stopped.Stop() {
			t.Error("Stop did not report true, then false")
		}
		once := c.AfterFunc(0, func(*proactor.Conn) {})
		c.AfterFunc(300*time.Millisecond, func(c *proactor.Conn) {
			var out []string
			if s.runs == 0 {
				out = append(out, "the Every due at 20 ms had not run")
			}
			if once.Stop() {
				out = append(out, "Stop of a timer that ran reported true")
			}
			report(out)
		})
	}
	_, addr := serve(t, b, r)
	c := dial(t, b, addr)
	for range 2 {
		if msg := wait(t, result, "the checking timers"); msg != "" {
			t.Fatal(msg)
		}
	}
	c.Close()
	r.waitClose(t)
}

// testTimerClose: a connection's end stops its timers: none runs after
// OnClose (a server timer on the same loop, due after them, checks), Stop
// then reports false, and a timer set on a closed connection never runs.
// Thousands of timers cost no goroutine.
func testTimerClose(t *testing.T, b Backend) {
	const many = 2000
	var ran atomic.Int32
	timers := make(chan []*proactor.Timer, 1)
	r := newRecorder(t)
	before := runtime.NumGoroutine()
	r.onOpen = func(c *proactor.Conn) {
		var ts []*proactor.Timer
		for i := range many {
			f := func(*proactor.Conn) { ran.Add(1) }
			if i%2 == 0 {
				ts = append(ts, c.AfterFunc(100*time.Millisecond+time.Duration(i)*time.Microsecond, f))
			} else {
				ts = append(ts, c.Every(50*time.Millisecond, f))
			}
		}
		timers <- ts
		c.Close()
	}
	srv, addr := serve(t, b, r, proactor.WithLoops(1))
	c := dial(t, b, addr)
	ts := wait(t, timers, "OnOpen")
	if n := runtime.NumGoroutine() - before; n > 100 {
		t.Errorf("%d goroutines more with %d timers armed", n, many)
	}
	c.Close()
	ev := r.waitClose(t)
	after := ran.Load()
	for _, tm := range ts {
		if tm.Stop() {
			t.Fatal("Stop of a closed connection's timer reported true")
		}
	}
	late := make(chan int32, 1)
	ev.c.AfterFunc(0, func(*proactor.Conn) { t.Error("a closed connection's timer ran") })
	srv.AfterFunc(250*time.Millisecond, func() { late <- ran.Load() })
	if n := wait(t, late, "the server's timer"); n != after {
		t.Fatalf("%d timer runs after OnClose", n-after)
	}
}

// testServerTimer: a server's Every runs on a loop until stopped; a panic
// in an engine's timer function is logged and stops that timer only; a
// server's timers stop with the server, on an engine that goes on.
func testServerTimer(t *testing.T, b Backend) {
	var logs logBuffer
	e, err := proactor.NewEngine(append(append([]proactor.Option{}, b.Options...),
		proactor.WithLoops(1), proactor.WithLogger(logs.logger()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	// Not serve: the backend's engine options would clash with WithEngine.
	srv, err := proactor.NewServer(newRecorder(t), append(b.serverOptions(), proactor.WithEngine(e))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if _, err := srv.Listen(b.listenAddr(t)); err != nil {
		t.Fatal(err)
	}

	runs := make(chan int, 100)
	n := 0
	var tm *proactor.Timer
	ready := make(chan struct{})
	tm = srv.Every(20*time.Millisecond, func() {
		<-ready // tm is set
		n++
		runs <- n
		if n == 3 && !tm.Stop() {
			t.Error("Stop of a running Every reported false")
		}
	})
	close(ready)
	for i := 1; i <= 3; i++ {
		if got := wait(t, runs, "the server's Every"); got != i {
			t.Fatalf("run %d reported %d", i, got)
		}
	}
	panicked := e.Every(20*time.Millisecond, func() { panic("boom") })
	done := make(chan struct{})
	srv.AfterFunc(200*time.Millisecond, func() { close(done) })
	wait(t, done, "the timer after the panic")
	if panicked.Stop() {
		t.Error("a timer whose function panicked was still running")
	}
	if !strings.Contains(logs.String(), "panic in a timer") {
		t.Errorf("no log of the panic: %s", logs.String())
	}
	if len(runs) != 0 {
		t.Fatal("the server's Every ran after Stop")
	}

	var ticks atomic.Int32
	first := make(chan struct{}, 1)
	srv.Every(20*time.Millisecond, func() {
		if ticks.Add(1) == 1 {
			first <- struct{}{}
		}
	})
	wait(t, first, "the second Every")
	srv.Close()
	at := ticks.Load()
	srv.AfterFunc(0, func() { ticks.Add(1000) })
	late := make(chan int32, 1)
	e.AfterFunc(200*time.Millisecond, func() { late <- ticks.Load() })
	if got := wait(t, late, "the engine's timer"); got != at {
		t.Fatalf("the stopped server's timers ran %d times", got-at)
	}
}

// testTimerPanic: a panic in a connection's timer function aborts the
// connection with a *PanicError, as one in a callback does.
func testTimerPanic(t *testing.T, b Backend) {
	r := newRecorder(t)
	r.onData = func(c *proactor.Conn, _ []byte) {
		// Set on the client's word, not in OnOpen: a reset that came
		// before a loaded client's connect returned failed its dial.
		c.AfterFunc(0, func(*proactor.Conn) { panic("boom") })
	}
	_, addr := serve(t, b, r, proactor.WithLogger(new(logBuffer).logger()))
	dial(t, b, addr).Write([]byte("go"))
	ev := r.waitClose(t)
	var pe *proactor.PanicError
	if !errors.As(ev.err, &pe) {
		t.Fatalf("%v; want a *PanicError", ev)
	}
}

package conformance

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/codec"
)

// sides returns Open's answer as a string, for messages.
func sides(c *proactor.Conn) string {
	r, w := c.Open()
	s := []byte("--")
	if r {
		s[0] = 'r'
	}
	if w {
		s[1] = 'w'
	}
	return string(s)
}

// testCloseRead: after CloseRead no OnData comes, even for bytes of the
// same read; what the peer goes on sending is read and dropped, so it is
// never stuck writing; the server still writes, a megabyte, and its
// CloseWrite then closes the connection gracefully, with no reset.
func testCloseRead(t *testing.T, b Backend) {
	reply := pattern(1<<20, 8)
	states := make(chan string, 4)
	r := newRecorder(t)
	r.onOpen = func(c *proactor.Conn) { states <- sides(c) }
	r.onData = func(c *proactor.Conn, p []byte) {
		if err := c.CloseRead(); err != nil {
			t.Errorf("CloseRead: %v", err)
		}
		if err := c.CloseRead(); !errors.Is(err, proactor.ErrClosed) {
			t.Errorf("second CloseRead: %v; want ErrClosed", err)
		}
		states <- sides(c)
		c.Write(reply)
		c.CloseWrite()
		states <- sides(c)
	}
	_, addr := serve(t, b, r, proactor.WithFramer(codec.Delimited{Delimiter: []byte("\n")}))
	c := dial(t, b, addr)
	c.Write([]byte("stop\nnot seen\n"))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // far more than socket buffers hold: dropped as it comes
		defer wg.Done()
		junk := bytes.Repeat([]byte("junk\n"), 2000)
		for range 400 {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := c.Write(junk); err != nil {
				t.Errorf("the server stopped taking input: %v", err)
				return
			}
		}
	}()
	got, err := readAll(c)
	close(stop)
	wg.Wait()
	if err != nil || !bytes.Equal(got, reply) {
		t.Fatalf("read %d bytes, %v; want %d and EOF", len(got), err, len(reply))
	}
	c.CloseWrite() // ends the server's lingering close
	ev := r.waitClose(t)
	if ev.err != nil || string(ev.rec.data) != "stop" {
		t.Fatalf("%v, OnData saw %q; want nil and only %q", ev, ev.rec.data, "stop")
	}
	for _, want := range []string{"rw", "-w", "--"} {
		if got := wait(t, states, "Open"); got != want {
			t.Fatalf("Open = %s; want %s", got, want)
		}
	}
}

// testCloseReadPeerFIN: after CloseRead the peer's FIN brings no
// OnPeerClosed; the server may still answer, and its CloseWrite then ends
// the connection at once, both sides being shut.
func testCloseReadPeerFIN(t *testing.T, b Backend) {
	r := newRecorder(t)
	r.onData = func(c *proactor.Conn, p []byte) {
		c.CloseRead()
		c.AfterFunc(100*time.Millisecond, func(c *proactor.Conn) {
			if rd, wr := c.Open(); rd || !wr {
				t.Errorf("Open = %v, %v after CloseRead and the peer's FIN; want false, true", rd, wr)
			}
			c.Write([]byte("late answer"))
			c.CloseWrite()
		})
	}
	r.onPeer = func(*proactor.Conn) { t.Error("OnPeerClosed after CloseRead") }
	_, addr := serve(t, b, r)
	c := dial(t, b, addr)
	c.Write([]byte("question"))
	c.CloseWrite()
	got, err := readAll(c)
	if err != nil || string(got) != "late answer" {
		t.Fatalf("got %q, %v; want the answer and EOF", got, err)
	}
	if ev := r.waitClose(t); ev.err != nil || ev.rec.peerFIN {
		t.Fatalf("%v, record %+v", ev, ev.rec)
	}
}

// testCloseReadHeld: input that PauseRead held back, and a partial frame,
// are dropped by CloseRead, never delivered; the peer's FIN then closes a
// connection whose write side is shut.
func testCloseReadHeld(t *testing.T, b Backend) {
	r := newRecorder(t)
	paused := make(chan *proactor.Conn, 1)
	r.onData = func(c *proactor.Conn, p []byte) {
		if string(p) == "pause" {
			c.PauseRead()
			paused <- c
		}
	}
	_, addr := serve(t, b, r, proactor.WithFramer(codec.Delimited{Delimiter: []byte("\n")}))
	c := dial(t, b, addr)
	c.Write([]byte("pause\nheld\npartial"))
	sc := wait(t, paused, "OnData")
	sc.Do(func(c *proactor.Conn) {
		c.CloseRead()
		c.ResumeRead()
		c.Write([]byte("done"))
		c.CloseWrite()
	})
	readExactly(t, c, []byte("done"))
	c.CloseWrite()
	ev := r.waitClose(t)
	if ev.err != nil || string(ev.rec.data) != "pause" {
		t.Fatalf("%v, OnData saw %q; want only %q", ev, ev.rec.data, "pause")
	}
}

// closer is a recorder that is also a ClosingHandler.
type closer struct {
	*recorder
	onClosing func(c *proactor.Conn, err error) bool
	asked     chan error
}

func (h *closer) OnClosing(c *proactor.Conn, err error) bool {
	rec := h.enter(c, "OnClosing")
	defer h.leave(rec)
	h.asked <- err
	if rd, _ := c.Open(); rd {
		h.t.Error("OnClosing with the receive side open")
	}
	return h.onClosing(c, err)
}

func newCloser(t *testing.T, f func(c *proactor.Conn, err error) bool) *closer {
	return &closer{recorder: newRecorder(t), onClosing: f, asked: make(chan error, 16)}
}

// testClosingGoodbye: OnClosing may write a goodbye and let the close go
// on: after an idle timeout and a framing error the goodbye is sent before
// the close, and OnClose gets the reason.
func testClosingGoodbye(t *testing.T, b Backend) {
	for _, tc := range []struct {
		name string
		opts []proactor.Option
		send []byte
		want error
	}{
		{"Idle", []proactor.Option{proactor.WithIdleTimeout(150 * time.Millisecond)}, []byte("hi"), proactor.ErrTimeout},
		{"Frame", []proactor.Option{proactor.WithFramer(codec.LengthPrefixed{HeaderSize: 2, MaxFrame: 8})},
			[]byte{0, 2, 'h', 'i', 0, 200}, proactor.ErrFrameTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newCloser(t, func(c *proactor.Conn, err error) bool {
				c.Write([]byte("goodbye"))
				return false
			})
			h.onData = func(*proactor.Conn, []byte) {}
			_, addr := serve(t, b, h, tc.opts...)
			c := dial(t, b, addr)
			c.Write(tc.send)
			got, _ := readAll(c)
			if string(got) != "goodbye" {
				t.Fatalf("got %q; want the goodbye", got)
			}
			ev := h.waitClose(t)
			if !errors.Is(ev.err, tc.want) {
				t.Fatalf("%v; want %v", ev, tc.want)
			}
			if err := wait(t, h.asked, "OnClosing"); !errors.Is(err, tc.want) {
				t.Fatalf("OnClosing(%v); want %v", err, tc.want)
			}
		})
	}
}

// testClosingTakeOver: a read timeout would reset a slow client; OnClosing
// takes the close over, answers, and closes gracefully later. No OnData
// comes once it has been called, and no second OnClosing.
func testClosingTakeOver(t *testing.T, b Backend) {
	h := newCloser(t, func(c *proactor.Conn, err error) bool {
		c.Write([]byte("408 too slow\n"))
		c.AfterFunc(100*time.Millisecond, func(c *proactor.Conn) { c.Close() })
		return true
	})
	h.onData = func(*proactor.Conn, []byte) {}
	_, addr := serve(t, b, h, proactor.WithReadTimeout(150*time.Millisecond))
	c := dial(t, b, addr)
	c.Write([]byte("GET / HT"))
	readExactly(t, c, []byte("408 too slow\n"))
	c.Write([]byte("TP/1.1\r\n")) // dropped unseen
	if rest, err := readAll(c); err != nil || len(rest) != 0 {
		t.Fatalf("after the answer: %q, %v; want a clean EOF", rest, err)
	}
	c.Close()
	ev := h.waitClose(t)
	if ev.err != nil || string(ev.rec.data) != "GET / HT" {
		t.Fatalf("%v, OnData saw %q", ev, ev.rec.data)
	}
	if err := wait(t, h.asked, "OnClosing"); !errors.Is(err, proactor.ErrTimeout) {
		t.Fatalf("OnClosing(%v); want a read timeout", err)
	}
	if len(h.asked) != 0 {
		t.Fatal("OnClosing called twice")
	}
}

// testClosingNotCalled: OnClosing is not called for the peer's FIN, a
// peer's reset, a close the handler asked for, or a server's Close.
func testClosingNotCalled(t *testing.T, b Backend) {
	h := newCloser(t, func(*proactor.Conn, error) bool { return false })
	h.onData = func(c *proactor.Conn, p []byte) {
		if string(p) == "close" {
			c.Close()
		}
	}
	srv, addr := serve(t, b, h)
	fin := dial(t, b, addr)
	wait(t, h.opened, "OnOpen")
	fin.CloseWrite()
	io.Copy(io.Discard, fin)
	h.waitClose(t)
	reset := dial(t, b, addr)
	wait(t, h.opened, "OnOpen")
	reset.SetLinger(0)
	reset.Close()
	h.waitClose(t)
	asked := dial(t, b, addr)
	wait(t, h.opened, "OnOpen")
	asked.Write([]byte("close"))
	io.Copy(io.Discard, asked)
	asked.Close()
	h.waitClose(t)
	dial(t, b, addr)
	wait(t, h.opened, "OnOpen")
	srv.Close()
	h.waitClose(t)
	if len(h.asked) != 0 {
		t.Fatalf("OnClosing called (%v)", <-h.asked)
	}
}

// testClosingPanic: a panic in OnClosing aborts the connection with a
// *PanicError.
func testClosingPanic(t *testing.T, b Backend) {
	h := newCloser(t, func(*proactor.Conn, error) bool { panic("boom") })
	_, addr := serve(t, b, h, proactor.WithIdleTimeout(100*time.Millisecond),
		proactor.WithLogger(new(logBuffer).logger()))
	dial(t, b, addr)
	ev := h.waitClose(t)
	var pe *proactor.PanicError
	if !errors.As(ev.err, &pe) || pe.Callback != "OnClosing" {
		t.Fatalf("%v; want a *PanicError from OnClosing", ev)
	}
}

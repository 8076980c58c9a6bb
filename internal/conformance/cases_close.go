package conformance

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/seed487d475b/proactor"
)

// testPeerReset: a peer that resets its side gives OnClose a wrapped
// ECONNRESET.
func testPeerReset(t *testing.T, b Backend) {
	r := newRecorder(t)
	_, addr := serve(t, b, r)
	c := dial(t, b, addr)
	expectEcho(t, c, []byte("ping"))
	c.SetLinger(0)
	c.Close()
	ev := r.waitClose(t)
	if !errors.Is(ev.err, syscall.ECONNRESET) {
		t.Fatalf("OnClose(%v); want ECONNRESET", ev.err)
	}
}

// testHalfClose: after the peer's FIN the server may still write.
func testHalfClose(t *testing.T, b Backend) {
	r := newRecorder(t)
	r.onData = func(*proactor.Conn, []byte) {} // collect only
	r.onPeer = func(c *proactor.Conn) {
		got := r.received(c)
		for i := range got { // answer after FIN: the request reversed
			c.Write(got[len(got)-1-i : len(got)-i])
		}
		c.Close()
	}
	_, addr := serve(t, b, r)
	c := dial(t, b, addr)
	c.Write([]byte("request"))
	c.CloseWrite()
	got, err := readAll(c)
	if err != nil || string(got) != "tseuqer" {
		t.Fatalf("got %q, %v; want %q and EOF", got, err, "tseuqer")
	}
	if ev := r.waitClose(t); ev.err != nil || !ev.rec.peerFIN {
		t.Fatalf("%v, record %+v", ev, ev.rec)
	}
}

// testCloseWrite: the server's FIN follows every queued byte, and the
// server keeps reading afterwards.
func testCloseWrite(t *testing.T, b Backend) {
	payload := pattern(256<<10, 3)
	writeErr := make(chan error, 1)
	r := newRecorder(t)
	r.onOpen = func(c *proactor.Conn) {
		c.Write(payload)
		if err := c.CloseWrite(); err != nil {
			t.Errorf("CloseWrite: %v", err)
		}
	}
	r.onData = func(c *proactor.Conn, p []byte) {
		_, err := c.Write(p)
		writeErr <- err
	}
	r.onPeer = func(*proactor.Conn) {} // both sides are shut: the server closes by itself
	_, addr := serve(t, b, r)
	c := dial(t, b, addr)
	got, err := readAll(c)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("read %d bytes, %v; want %d and EOF", len(got), err, len(payload))
	}
	c.Write([]byte("after"))
	if err := wait(t, writeErr, "OnData after CloseWrite"); !errors.Is(err, proactor.ErrClosed) {
		t.Fatalf("Write after CloseWrite: %v; want ErrClosed", err)
	}
	c.CloseWrite()
	ev := r.waitClose(t)
	if ev.err != nil || string(ev.rec.data) != "after" || !ev.rec.peerFIN {
		t.Fatalf("%v, record %+v", ev, ev.rec)
	}
}

// testGracefulClose: Close sends every queued byte, then closes, even while
// the peer is still sending (the lingering close keeps a reset from
// destroying the reply).
func testGracefulClose(t *testing.T, b Backend) {
	payload := pattern(1<<20, 5)
	r := newRecorder(t)
	r.onOpen = func(c *proactor.Conn) {
		c.Write(payload)
		c.Close()
		if _, err := c.Write([]byte("late")); !errors.Is(err, proactor.ErrClosed) {
			t.Errorf("Write after Close: %v; want ErrClosed", err)
		}
	}
	r.onData = func(*proactor.Conn, []byte) { t.Errorf("OnData after Close") }
	_, addr := serve(t, b, r)
	c := dial(t, b, addr)
	stop := make(chan struct{})
	go func() { // unread input at the server while it closes
		junk := make([]byte, 1024)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := c.Write(junk); err != nil {
				return
			}
		}
	}()
	got, err := readAll(c)
	close(stop)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("read %d bytes, %v; want %d and EOF", len(got), err, len(payload))
	}
	c.Close()
	if ev := r.waitClose(t); ev.err != nil {
		t.Fatalf("%v", ev)
	}
}

// testAbort: the peer sees a reset and the queued bytes are dropped.
func testAbort(t *testing.T, b Backend) {
	r := newRecorder(t)
	r.onOpen = func(c *proactor.Conn) {
		c.Write(pattern(4<<20, 1))
		c.Abort()
	}
	_, addr := serve(t, b, r)
	c := dial(t, b, addr)
	ev := r.waitClose(t)
	if !errors.Is(ev.err, proactor.ErrAborted) {
		t.Fatalf("OnClose(%v); want ErrAborted", ev.err)
	}
	got, err := readAll(c)
	if !b.reset(err) {
		t.Fatalf("peer read %d bytes then %v; want ECONNRESET", len(got), err)
	}
	if len(got) >= 4<<20 {
		t.Fatalf("peer got all %d bytes; an abort drops the queue", len(got))
	}
}

// testPanic: a panicking callback closes its connection only.
func testPanic(t *testing.T, b Backend) {
	var logs logBuffer
	r := newRecorder(t)
	r.onData = func(c *proactor.Conn, p []byte) {
		if string(p) == "boom" {
			panic("boom requested")
		}
		c.Write(p)
	}
	srv, addr := serve(t, b, r, proactor.WithLogger(logs.logger()))
	bystander := dial(t, b, addr)
	expectEcho(t, bystander, []byte("hello"))
	victim := dial(t, b, addr)
	victim.Write([]byte("boom"))
	ev := r.waitClose(t)
	var pe *proactor.PanicError
	if !errors.Is(ev.err, proactor.ErrPanic) || !errors.As(ev.err, &pe) || pe.Callback != "OnData" {
		t.Fatalf("OnClose(%v); want a PanicError in OnData", ev.err)
	}
	if _, err := readAll(victim); err == nil && !b.Unix { // a unix socket has no reset
		t.Fatalf("victim: clean EOF; want a reset")
	}
	expectEcho(t, bystander, []byte("still here"))
	expectEcho(t, dial(t, b, addr), []byte("newcomer"))
	if st := srv.Stats(); st.Panics != 1 {
		t.Fatalf("Stats.Panics = %d; want 1", st.Panics)
	}
	if out := logs.String(); !strings.Contains(out, "boom requested") || !strings.Contains(out, "OnData") {
		t.Fatalf("log lacks the panic: %q", out)
	}
}

// testWriteAfterClose: every operation on a closed connection says so.
func testWriteAfterClose(t *testing.T, b Backend) {
	r := newRecorder(t)
	_, addr := serve(t, b, r)
	c := dial(t, b, addr)
	sc := wait(t, r.opened, "OnOpen")
	c.Close()
	r.waitClose(t)
	if _, err := sc.Write([]byte("x")); !errors.Is(err, proactor.ErrClosed) {
		t.Fatalf("Write: %v", err)
	}
	if _, err := sc.Writev([][]byte{[]byte("x")}); !errors.Is(err, proactor.ErrClosed) {
		t.Fatalf("Writev: %v", err)
	}
	for name, f := range map[string]func() error{"Close": sc.Close, "CloseWrite": sc.CloseWrite, "Abort": sc.Abort} {
		if err := f(); !errors.Is(err, proactor.ErrClosed) {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

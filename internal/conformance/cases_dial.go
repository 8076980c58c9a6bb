package conformance

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// testDial: a Client's connection is a Conn like any other, on the same
// engine as a server, with the same callbacks.
func testDial(t *testing.T, b Backend) {
	eng, err := proactor.NewEngine(append(b.Options, proactor.WithLoops(2))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	srvRec := newRecorder(t)
	srv, err := proactor.NewServer(srvRec, append(b.serverOptions(), proactor.WithEngine(eng))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	a1, _ := srv.Listen(b.listenAddr(t))
	a2, _ := srv.Listen(b.listenAddr(t))

	cliRec := newRecorder(t)
	cliRec.onData = func(*proactor.Conn, []byte) {} // collect only
	cl, err := proactor.NewClient(cliRec, append(b.clientTLS(), proactor.WithEngine(eng))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	for _, a := range []net.Addr{a1, a2} {
		c, err := cl.Dial(ctxTimeout(t), b.network(), a.String())
		if err != nil {
			t.Fatal(err)
		}
		if c.Server() != nil || c.RemoteAddr().String() != a.String() {
			t.Fatalf("dialed conn: server %v, remote %v", c.Server(), c.RemoteAddr())
		}
		if got := wait(t, cliRec.opened, "the client's OnOpen"); got != c {
			t.Fatalf("OnOpen for another conn")
		}
		c.Write([]byte("ping"))
		c.CloseWrite()
		// The echo server answers and closes on our FIN; the client's
		// recorder closes on the server's.
		if ev := cliRec.waitClose(t); ev.err != nil || string(ev.rec.data) != "ping" {
			t.Fatalf("client %v, received %q", ev, ev.rec.data)
		}
		srvRec.waitClose(t)
	}
	if st := cl.Stats(); st.Accepted != 2 || st.Closed != 2 || cl.ConnCount() != 0 {
		t.Fatalf("client stats %+v", st)
	}
}

// testDialErrors: refused, unresolvable and cancelled dials fail clearly,
// and the one-off Dial leaves nothing behind.
func testDialErrors(t *testing.T, b Backend) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	r := newRecorder(t)
	_, err = proactor.Dial(ctxTimeout(t), "tcp", closed, r, b.clientOptions()...)
	var op *net.OpError
	if !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &op) || op.Op != "dial" {
		t.Fatalf("dial to a closed port: %v; want a dial OpError with ECONNREFUSED", err)
	}
	if _, err := proactor.Dial(ctxTimeout(t), "tcp", "no-such-host.invalid:80", r, b.clientOptions()...); err == nil {
		t.Fatalf("dial to an unresolvable name succeeded")
	}
	if _, err := proactor.Dial(ctxTimeout(t), "udp", closed, r, b.clientOptions()...); err == nil {
		t.Fatalf("dial over udp succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := proactor.Dial(ctx, "tcp", closed, r, b.clientOptions()...); !errors.Is(err, context.Canceled) && !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial with a cancelled context: %v", err)
	}
}

// testDialOneShot: the one-off Dial's connection works, and closing it
// releases its private engine (the leak check verifies).
func testDialOneShot(t *testing.T, b Backend) {
	_, addr := serve(t, b, newRecorder(t))
	r := newRecorder(t)
	r.onData = func(*proactor.Conn, []byte) {}
	c, err := proactor.Dial(ctxTimeout(t), b.network(), addr, r, b.clientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("hi"))
	c.CloseWrite()
	if ev := r.waitClose(t); ev.err != nil || string(ev.rec.data) != "hi" {
		t.Fatalf("%v, %q", ev, ev.rec.data)
	}
}

// testReconnect: a Reconnector opens a connection again after each loss,
// gives up after its attempt limit when the server is gone, and Stop leaves
// no goroutine behind.
func testReconnect(t *testing.T, b Backend) {
	srvRec := newRecorder(t)
	srv, addr := serve(t, b, srvRec)
	cliRec := newRecorder(t)
	cl, err := proactor.NewClient(cliRec, b.clientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	fast := proactor.Backoff{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, MaxAttempts: 3}
	rc := cl.Reconnect(b.network(), addr, fast)
	for round := range 3 {
		wait(t, cliRec.opened, "a connection")
		wait(t, srvRec.opened, "the server's side")
		if round < 2 {
			srv.CloseAll() // the link drops; the Reconnector dials again
			cliRec.waitClose(t)
			srvRec.waitClose(t)
		}
	}
	srv.Close()
	cliRec.waitClose(t)
	wait(t, rc.Done(), "the Reconnector to give up")
	if !b.refused(rc.Err()) || rc.Conn() != nil {
		t.Fatalf("gave up with %v, conn %v", rc.Err(), rc.Conn())
	}
	rc.Stop() // idempotent after giving up

	_, addr2 := serve(t, b, newRecorder(t))
	rc2 := cl.Reconnect(b.network(), addr2, fast)
	wait(t, cliRec.opened, "a connection")
	rc2.Stop()
	if ev := cliRec.waitClose(t); ev.err != nil {
		t.Fatalf("Stop closed with %v; want a graceful close", ev.err)
	}
}

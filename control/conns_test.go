package control_test

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/control"
	"github.com/seed487d475b/proactor/examples/echo"
	"github.com/seed487d475b/proactor/internal/servertest"
)

// TestConns, on every engine: the listing shows the open connections with
// their addresses and bytes; close and abort act on one each (the peers see
// a FIN and a reset); an unknown ID and a second close are errors that
// errors.Is tells apart.
func TestConns(t *testing.T) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			srv, addr := servertest.Start(t, echo.Handler{}, proactor.WithEngineName(engine))
			_, cl := endpoint(t, srv)
			a := servertest.Echo(t, addr, "hello")
			b := servertest.Echo(t, addr, "hi")

			cs, err := cl.Conns(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != 2 {
				t.Fatalf("%d connections listed; want 2: %+v", len(cs), cs)
			}
			for i, c := range []net.Conn{a, b} {
				ci := cs[i]
				if ci.Peer.String() != c.LocalAddr().String() || ci.Local.String() != addr ||
					ci.BytesRead != uint64(5-3*i) || ci.State != "open" || ci.Input != "reading" {
					t.Fatalf("connection %d listed as %+v", i, ci)
				}
			}

			if err := cl.CloseConn(ctx(t), cs[0].ID); err != nil {
				t.Fatal(err)
			}
			if err := cl.CloseConn(ctx(t), cs[0].ID); !errors.Is(err, control.ErrClosing) && !errors.Is(err, control.ErrNoConn) {
				t.Fatalf("a second close: %v; want ErrClosing (or ErrNoConn once gone)", err)
			}
			a.SetReadDeadline(time.Now().Add(10 * time.Second))
			if n, err := a.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Fatalf("closed: read %d, %v; want EOF", n, err)
			}

			if err := cl.AbortConn(ctx(t), cs[1].ID); err != nil {
				t.Fatal(err)
			}
			b.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := b.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("aborted: %v; want a reset", err)
			}

			err = cl.AbortConn(ctx(t), 1<<40)
			if !errors.Is(err, control.ErrNoConn) || errors.Is(err, control.ErrClosing) {
				t.Fatalf("an unknown ID: %v; want ErrNoConn", err)
			}
		})
	}
}

package proactor

import (
	"bytes"
	"context"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// unsentEcho echoes, and says when it has echoed want bytes.
type unsentEcho struct {
	BaseHandler
	want  int
	n     int // echoed, on the loop
	whole chan struct{}
}

func (h *unsentEcho) OnData(c *Conn, p []byte) {
	c.Write(p)
	if h.n += len(p); h.n == h.want {
		close(h.whole)
	}
}

// TestShutdownUnsentReplies: Shutdown finds a connection with nothing
// owed as far as the server's queue goes, but its replies still wait in
// the kernel behind a peer that reads slowly: its receive window is full,
// so our FIN waits behind them too. The peer then sends again after the
// short linger (200 ms). Closing at the short linger's end left an
// orphaned socket that answered that input with a reset, and the peer
// lost the replies it had not got yet ("connection reset by peer"). A
// connection whose output has not all left gets the whole lingering
// close, as one still sending does.
func TestShutdownUnsentReplies(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			sent := bytes.Repeat([]byte("0123456789abcdef"), (64<<10)/16)
			h := &unsentEcho{want: len(sent), whole: make(chan struct{})}
			srv, err := NewServer(h, WithEngineName(engine), WithLoops(1))
			if err != nil {
				t.Skip(err)
			}
			t.Cleanup(func() { srv.Close() })
			// The accepted socket inherits a send buffer that holds every
			// reply; the client's receive buffer holds few of them.
			lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
				return rc.Control(func(fd uintptr) {
					unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, 256<<10)
				})
			}}
			ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve(ln)
			d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
				return rc.Control(func(fd uintptr) {
					unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<10)
				})
			}}
			nc, err := d.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := nc.Write(sent); err != nil {
				t.Fatal(err)
			}
			// Every request is answered, so the connection owes nothing
			// once its queue is out: its linger is the short one.
			recv(t, (<-chan struct{})(h.whole))
			stopped := make(chan error, 1)
			go func() { stopped <- srv.Shutdown(context.Background()) }()
			// Quiet for longer than the short linger, then sending again,
			// as a client whose writer was held up.
			time.Sleep(3 * shutdownLinger / 2)
			if _, err := nc.Write([]byte("more")); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(nc)
			if err != nil || !bytes.Equal(got, sent) {
				t.Fatalf("client read %d of %d bytes, %v; want every reply, then EOF", len(got), len(sent), err)
			}
			nc.Close()
			if err := recv(t, stopped); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
		})
	}
}

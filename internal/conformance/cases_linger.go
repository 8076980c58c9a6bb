package conformance

import (
	"io"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// gatedShutdown is a recorder whose OnShutdown closes, as the default
// does, only once the case has sent more: the peer's bytes then wait in
// the server's socket, unread, when Shutdown's close begins, however late
// the case's goroutine runs.
type gatedShutdown struct {
	*recorder
	asked chan struct{}
	sent  chan struct{}
}

func (h gatedShutdown) OnShutdown(c *proactor.Conn) {
	h.asked <- struct{}{}
	select {
	case <-h.sent:
	case <-time.After(testTimeout):
	}
	c.Close()
}

// testShutdownPeerSending: Shutdown closes a connection with nothing owed
// quickly (a FIN and a short linger), but a peer that goes on sending has
// not gone quiet like an idle nc: it is a client whose writer has not
// stopped yet, as ShutdownInFlight's keep writing for a while after their
// reader saw the FIN (long on a loaded machine). It gets the whole linger,
// so its writes are not reset, and closing ends the connection cleanly.
//
// The peer's first bytes after the request to stop are sent while
// OnShutdown holds the close, so that they come after it whatever the
// scheduling: sent only once the client has seen the FIN, they had to
// arrive within the short linger, which a client descheduled for 200 ms
// on a loaded machine missed, and the case failed on the reset.
func testShutdownPeerSending(t *testing.T, b Backend) {
	h := gatedShutdown{recorder: newRecorder(t), asked: make(chan struct{}, 1), sent: make(chan struct{})}
	srv, addr := serve(t, b, h)
	c := dial(t, b, addr)
	got := make([]byte, 2)
	if _, err := c.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "hi" {
		t.Fatalf("echo: %q, %v", got, err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Shutdown(ctxTimeout(t)) }()
	wait(t, h.asked, "OnShutdown")
	if _, err := c.Write([]byte("more")); err != nil {
		t.Fatalf("write before the close: %v", err)
	}
	close(h.sent)
	// The FIN comes at once: nothing was owed, the bytes sent after the
	// request to stop being dropped unseen.
	if rest, err := io.ReadAll(c); err != nil || len(rest) != 0 {
		t.Fatalf("client read %q, %v; want a clean end", rest, err)
	}
	// Well past the short linger (200 ms) and well within WithLinger's 5 s.
	// A reset takes a round trip to come back, so it fails a later write.
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		if _, err := c.Write([]byte("more")); err != nil {
			t.Fatalf("write while the server lingers: %v; want the linger to wait for a peer that is still sending", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.Close()
	if ev := h.waitClose(t); ev.err != nil {
		t.Fatalf("%v; want a clean close", ev)
	}
	if err := wait(t, stopped, "Shutdown"); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

package conformance

import (
	"io"
	"testing"
	"time"
)

// testShutdownPeerSending: Shutdown closes a connection with nothing owed
// quickly (a FIN and a short linger), but a peer that goes on sending has
// not gone quiet like an idle nc: it is a client whose writer has not
// stopped yet, as ShutdownInFlight's keep writing for a while after their
// reader saw the FIN (long on a loaded machine). It gets the whole linger,
// so its writes are not reset, and closing ends the connection cleanly.
func testShutdownPeerSending(t *testing.T, b Backend) {
	r := newRecorder(t)
	srv, addr := serve(t, b, r)
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
	// The FIN comes at once: nothing was owed.
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
	if ev := r.waitClose(t); ev.err != nil {
		t.Fatalf("%v; want a clean close", ev)
	}
	if err := wait(t, stopped, "Shutdown"); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

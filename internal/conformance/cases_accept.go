package conformance

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"testing"

	"github.com/seed487d475b/proactor"
)

// testLocalAddr: a Client with WithLocalAddr connects from that address,
// as the server sees it, and from a fixed port when one is given: a second
// dial from the same address and port to the same peer then fails with
// EADDRINUSE.
func testLocalAddr(t *testing.T, b Backend) {
	if runtime.GOOS != "linux" {
		t.Skip("127.0.0.2 is a loopback address only on Linux")
	}
	srvRec := newRecorder(t)
	_, addr := serve(t, b, srvRec)
	local := netip.MustParseAddrPort("127.0.0.2:0")
	cliRec := newRecorder(t)
	cliRec.onData = func(*proactor.Conn, []byte) {}
	cl, err := proactor.NewClient(cliRec, append(b.clientOptions(), proactor.WithLocalAddr(local))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	c, err := cl.Dial(ctxTimeout(t), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	sc := wait(t, srvRec.opened, "the server's OnOpen")
	if got := sc.RemoteAddrPort(); got.Addr() != local.Addr() || got != c.LocalAddrPort() {
		t.Fatalf("the server sees %v, the client is %v; want %v", got, c.LocalAddrPort(), local.Addr())
	}

	// The same address and port again, to the same server: refused.
	fixed := c.LocalAddrPort()
	cl2, err := proactor.NewClient(newRecorder(t), append(b.clientOptions(), proactor.WithLocalAddr(fixed))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl2.Close() })
	_, err = cl2.Dial(ctxTimeout(t), "tcp", addr)
	var op *net.OpError
	if !errors.Is(err, syscall.EADDRINUSE) || !errors.As(err, &op) {
		t.Fatalf("a second dial from %v: %v; want EADDRINUSE", fixed, err)
	}
}

// testAcceptBatch: a listener with a small WithAcceptBatch still accepts
// and serves every connection of a burst larger than the batch, and
// pausing and resuming it keeps working.
func testAcceptBatch(t *testing.T, b Backend) {
	r := newRecorder(t)
	srv, addr := serve(t, b, r, proactor.WithAcceptBatch(2))
	var conns []*clientConn
	for range 9 {
		conns = append(conns, dial(t, b, addr))
	}
	for i, c := range conns {
		expectEcho(t, c, pattern(64, byte(i)))
	}
	srv.Pause()
	late := dialLazy(t, b, addr) // waits in the backlog
	srv.Resume()
	expectEcho(t, late, []byte("late"))
	if st := srv.Stats(); st.Accepted != 10 {
		t.Fatalf("accepted %d, want 10", st.Accepted)
	}
}

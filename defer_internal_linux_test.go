package proactor

import (
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestDeferAcceptDefaultBound: a deferred listener given no first-data
// timeout bounds a silent client at 30s, not never; the kernel holds the
// client the longest wait that fits (15s), the connection's timer the rest.
func TestDeferAcceptDefaultBound(t *testing.T) {
	srv, err := NewServer(BaseHandler{}, WithLoops(1))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := srv.Listen("127.0.0.1:0", WithDeferAccept(true)); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	x := srv.listeners[0]
	srv.mu.Unlock()
	if got := time.Duration(x.cfg.timeouts[FirstDataTimeout]); got != defaultDeferBound {
		t.Errorf("first-data timeout %v, want %v", got, defaultDeferBound)
	}
	if x.cfg.deferHeld != 15*time.Second {
		t.Errorf("the kernel holds a silent client %v, want 15s", x.cfg.deferHeld)
	}
	rc, err := x.ln.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var secs int
	rc.Control(func(fd uintptr) { secs, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT) })
	if err != nil || secs != 15 {
		t.Errorf("TCP_DEFER_ACCEPT %d, %v; want 15", secs, err)
	}
}

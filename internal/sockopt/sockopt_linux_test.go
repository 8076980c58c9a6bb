package sockopt

import (
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestDeferWait checks the waits Linux can honour: sums of a timer that
// starts at 1s and doubles up to 120s.
func TestDeferWait(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct{ max, want time.Duration }{
		{max: 0, want: 0},
		{max: 999 * ms, want: 0},
		{max: time.Second, want: time.Second},
		{max: 2750 * ms, want: time.Second},
		{max: 3 * time.Second, want: 3 * time.Second},
		{max: 6999 * ms, want: 3 * time.Second},
		{max: 29750 * ms, want: 15 * time.Second},
		{max: 31 * time.Second, want: 31 * time.Second},
		{max: 246 * time.Second, want: 127 * time.Second},
		{max: 247 * time.Second, want: 247 * time.Second}, // 127 + 120: the timer stops doubling
		{max: 400 * time.Second, want: 367 * time.Second},
	}
	for _, tt := range tests {
		if got := deferWait(tt.max); got != tt.want {
			t.Errorf("deferWait(%v) = %v, want %v", tt.max, got, tt.want)
		}
	}
}

// TestSetDeferAcceptKernel checks the model against the kernel: Linux
// reports TCP_DEFER_ACCEPT back as the wait its retransmission count
// amounts to, which must be the wait SetDeferAccept returned.
func TestSetDeferAcceptKernel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, max := range []time.Duration{2 * time.Second, 5 * time.Second, 29750 * time.Millisecond, 100 * time.Second, 500 * time.Millisecond} {
		wait, supported, err := SetDeferAccept(ln, max)
		if err != nil || !supported {
			t.Fatalf("SetDeferAccept(%v): %v, supported %v", max, err, supported)
		}
		rc, _ := ln.(syscall.Conn).SyscallConn()
		var secs int
		var gerr error
		rc.Control(func(fd uintptr) { secs, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT) })
		if gerr != nil {
			t.Fatal(gerr)
		}
		if time.Duration(secs)*time.Second != wait {
			t.Errorf("SetDeferAccept(%v) = %v; the kernel holds %ds", max, wait, secs)
		}
	}
}

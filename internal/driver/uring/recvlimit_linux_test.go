package uring

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seed487d475b/proactor/internal/driver/drivertest"
)

// TestRecvLimitShares: two connections whose sockets hold more than the
// whole buffer ring both get bytes in the first Poll. Without the
// receive's byte limit the first receive took buffer after buffer until
// the ring was dry and the second got ENOBUFS: under load (20 connections
// streaming to an echo) a new connection waited a Poll for every busy one,
// seconds each, before its first byte.
func TestRecvLimitShares(t *testing.T) {
	const size = 4 << 10
	p := newTestPoller(t, options{bufCount: 4, bufSize: size, recvLimit: size})
	if p.recvLimit == 0 {
		t.Skip("this kernel has no byte limit for a multishot receive (IORING_RECV_MSHOT_LIM)")
	}
	s := drivertest.NewSink()
	peers, toks, socks := connectPeers(t, p, s, listen(t, p), 2)
	msg := bytes.Repeat([]byte("x"), 8*size) // twice the ring
	for i, c := range peers {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		// The receives, armed by Attach, are submitted by the next Poll:
		// wait until both sockets hold the whole message by then.
		deadline := time.Now().Add(5 * time.Second)
		for {
			n, err := unix.IoctlGetInt(socks[i].FD, unix.SIOCINQ)
			if err != nil {
				t.Fatal(err)
			}
			if n == len(msg) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("conn %d: %d bytes queued, want %d", i, n, len(msg))
			}
			time.Sleep(time.Millisecond)
		}
	}
	if err := p.Poll(0, s); err != nil {
		t.Fatal(err)
	}
	for i, tok := range toks {
		if len(s.Reads[tok]) == 0 {
			t.Errorf("conn %d got nothing in the first Poll (%d ENOBUFS): the other receive took the ring", i, p.enobufs)
		}
	}
	// And everything arrives, in order, through the re-armed receives.
	drivertest.PollUntil(t, p, s, func() bool {
		return len(s.Reads[toks[0]]) == len(msg) && len(s.Reads[toks[1]]) == len(msg)
	})
	for i, tok := range toks {
		if !bytes.Equal(s.Reads[tok], msg) {
			t.Fatalf("conn %d: bytes differ", i)
		}
	}
}

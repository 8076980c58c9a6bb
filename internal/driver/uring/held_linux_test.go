package uring

import (
	"bytes"
	"testing"
	"time"
	"unsafe"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/driver/drivertest"
)

// TestHeldBufferReused: input held while reading is paused goes to a
// buffer that a drained connection gives back, and the next connection
// that holds gets that buffer instead of growing a new one; Trim lets go
// of it once a period passes without use. (Held buffers used to be
// dropped as each connection drained and grown again by append, which
// came to eight times the bytes received in garbage.)
func TestHeldBufferReused(t *testing.T) {
	p, s, ct, peer, _ := setup(t, options{})
	msg := bytes.Repeat([]byte("x"), 200<<10)
	var held []unsafe.Pointer // the held buffer seen in each round
	round := func() {
		t.Helper()
		base := len(s.Reads[ct])
		paused := false
		s.OnRead = func(t driver.Token, b []byte) {
			if !paused {
				paused = true
				p.SetReading(t, false)
			}
		}
		go peer.Write(msg)
		drivertest.PollUntil(t, p, s, func() bool { return paused })
		// Let what the peer sent arrive and be held.
		for range 5 {
			p.Poll(20*time.Millisecond, s)
		}
		x := p.conn(ct).x
		if x == nil || len(x.held) == 0 {
			t.Fatal("nothing held while reading was paused")
		}
		held = append(held, unsafe.Pointer(unsafe.SliceData(x.held)))
		s.OnRead = nil
		if err := p.SetReading(ct, true); err != nil {
			t.Fatal(err)
		}
		drivertest.PollUntil(t, p, s, func() bool { return len(s.Reads[ct]) == base+len(msg) })
		if x.held != nil || len(p.spareHeld) != 1 {
			t.Fatalf("after draining: held cap %d, %d spare buffers; want none held, 1 spare", cap(x.held), len(p.spareHeld))
		}
	}
	round()
	round()
	if held[0] != held[1] {
		t.Fatal("the second hold grew a new buffer instead of reusing the first's")
	}
	if n := p.Trim(); n != 0 {
		t.Fatalf("Trim right after use let go of %d bytes, want 0", n)
	}
	if n := p.Trim(); n < holdCap || len(p.spareHeld) != 0 {
		t.Fatalf("Trim after a period unused let go of %d bytes and kept %d buffers; want at least %d and none", n, len(p.spareHeld), holdCap)
	}
}

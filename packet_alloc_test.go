//go:build !race

package proactor_test

import (
	"testing"

	"github.com/seed487d475b/proactor"
)

// TestPacketPathAllocs asserts that, once warm, a datagram through the
// server (receive, OnPacket, WriteTo, send) allocates nothing on any
// engine. AllocsPerRun counts every goroutine, the client's too; Go's
// ReadFromUDPAddrPort and WriteToUDPAddrPort allocate nothing. Run
// without -race, which allocates on its own.
func TestPacketPathAllocs(t *testing.T) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			_, _, addr := startUDP(t, engine, newUDPEcho())
			c := udpClient(t)
			msg := make([]byte, 64)
			buf := make([]byte, 128)
			roundTrip := func() {
				if _, err := c.WriteToUDPAddrPort(msg, addr); err != nil {
					t.Fatal(err)
				}
				if n, _, err := c.ReadFromUDPAddrPort(buf); err != nil || n != len(msg) {
					t.Fatalf("read %d, %v", n, err)
				}
			}
			for range 200 {
				roundTrip() // warm: queues and scratch grow to their size
			}
			if n := testing.AllocsPerRun(2000, roundTrip); n != 0 {
				t.Fatalf("%v allocations per datagram, want 0", n)
			}
		})
	}
}

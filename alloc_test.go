//go:build !race

package proactor_test

import (
	"io"
	"net"
	"testing"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/codec"
)

// TestEchoPathAllocs asserts that, once warm, a message through the server
// (read, OnData, Write, writev) allocates nothing, with and without a
// framer. AllocsPerRun counts every goroutine, so the client's side is in the
// count too; Go's net package allocates nothing per Read or Write. Only the
// epoll engine is asserted: the std engine hands each write to a goroutine.
// Run without -race, which allocates on its own.
func TestEchoPathAllocs(t *testing.T) {
	frame, _ := codec.LengthPrefixed{HeaderSize: 2}.Append(nil, make([]byte, 62))
	for _, tc := range []struct {
		name string
		opts []proactor.Option
	}{
		{"Raw", nil},
		{"Framed", []proactor.Option{proactor.WithFramer(codec.LengthPrefixed{HeaderSize: 2})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startEcho(t, "epoll", tc.opts...)
			c, err := net.Dial("tcp", addr.String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			buf := make([]byte, len(frame))
			roundTrip := func() {
				if _, err := c.Write(frame); err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					t.Fatal(err)
				}
			}
			for range 200 { // warm the pools and queues
				roundTrip()
			}
			if n := testing.AllocsPerRun(2000, roundTrip); n != 0 {
				t.Fatalf("%v allocations per message; want 0", n)
			}
		})
	}
}

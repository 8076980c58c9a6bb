package main

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/line"
)

// TestListenKeepsFramer checks that the servers whose protocol needs a
// framer keep it when --listen replaces their default address: the framer
// is one of the listener's options, which overrideAddrs keeps. Each case
// sends what only a framed server answers as wanted, and reads the whole
// reply up to the server's close.
func TestListenKeepsFramer(t *testing.T) {
	tests := []struct {
		name   string
		server string
		send   string
		want   string
	}{
		// Unframed, the header 0 would be echoed; framed, it is a bad
		// frame that resets the connection.
		{name: "PacketBadHeader", server: "packet", send: "\x00", want: ""},
		// Unframed, the handler would take the three lines as one.
		{name: "LineCommands", server: "line", send: "ECHO a\r\nECHO b\nQUIT\r\n", want: line.Greeting + "+OK a\r\n+OK b\r\n+OK bye\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, specs := servers[tt.server]()
			specs = overrideAddrs(specs, addrList{"127.0.0.1:0"})
			srv, err := proactor.NewServer(h, proactor.WithLoops(1))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			addr, err := srv.Listen(specs[0].addr, specs[0].opts...)
			if err != nil {
				t.Fatal(err)
			}
			c, err := net.Dial("tcp", addr.String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, tt.send); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(c)
			if err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("reading the reply: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("reply %q, want %q", got, tt.want)
			}
		})
	}
}

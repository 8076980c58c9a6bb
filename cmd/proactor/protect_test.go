package main

import (
	"errors"
	"flag"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/internal/conformance"
)

// TestTCPOptionFlags checks that --keepalive and --nodelay reach the
// sockets the server accepts, read back from the kernel. (The conformance
// suite checks the options themselves on every engine.)
func TestTCPOptionFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want conformance.TCPOptions
	}{
		{name: "Default", want: conformance.TCPOptions{KeepAlive: true, Idle: 15, Interval: 15, Count: 9, NoDelay: true}},
		{name: "KeepAlive", args: []string{"--keepalive", "40s"}, want: conformance.TCPOptions{KeepAlive: true, Idle: 40, Interval: 40, Count: 9, NoDelay: true}},
		{name: "Off", args: []string{"--keepalive", "off", "--nodelay=false"}, want: conformance.TCPOptions{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p protectFlags
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			p.register(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := p.check(); err != nil {
				t.Fatal(err)
			}
			h, _ := servers["echo"]()
			srv, err := proactor.NewServer(h, append(p.options(), proactor.WithLoops(1))...)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			addr, err := srv.Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			c, err := net.Dial("tcp", addr.String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			// The echo says the server has opened the connection.
			if _, err := io.WriteString(c, "x"); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
				t.Fatal(err)
			}
			got, err := conformance.SocketOptions(c.RemoteAddr(), c.LocalAddr())
			if errors.Is(err, errors.ErrUnsupported) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("server socket %+v; want %+v", got, tt.want)
			}
		})
	}
}

// TestKeepAliveFlagRefuses checks that --keepalive takes a positive
// duration or off, and nothing else.
func TestKeepAliveFlagRefuses(t *testing.T) {
	for _, v := range []string{"0", "-5s", "soon", "on"} {
		var p protectFlags
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		p.register(fs)
		err := fs.Parse([]string{"--keepalive", v})
		if err == nil || !strings.Contains(err.Error(), "not a keepalive") {
			t.Errorf("--keepalive %s: %v; want a refusal", v, err)
		}
	}
}

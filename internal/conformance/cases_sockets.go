package conformance

import (
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// TCPOptions are the options of a socket that the engines set; with
// keepalive off, its three settings read as zero.
type TCPOptions struct {
	KeepAlive             bool
	Idle, Interval, Count int // seconds, seconds, probes
	NoDelay               bool
}

func addrPort(a net.Addr) netip.AddrPort {
	ap := a.(*net.TCPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// testSocketOptions: every engine sets the same TCP keepalive and
// TCP_NODELAY on the sockets it accepts and dials: Go's 15s keepalive and
// no delay by default, whatever WithKeepAlive and WithNoDelay ask for
// otherwise. (std connections had Go's keepalive, epoll and uring none.)
func testSocketOptions(t *testing.T, b Backend) {
	tests := []struct {
		name string
		opts []proactor.Option
		want TCPOptions
	}{
		{name: "default", want: TCPOptions{KeepAlive: true, Idle: 15, Interval: 15, Count: 9, NoDelay: true}},
		{
			name: "set",
			opts: []proactor.Option{proactor.WithKeepAlive(6500 * time.Millisecond), proactor.WithNoDelay(false)},
			want: TCPOptions{KeepAlive: true, Idle: 7, Interval: 7, Count: 9, NoDelay: false},
		},
		{name: "off", opts: []proactor.Option{proactor.WithKeepAlive(-1)}, want: TCPOptions{NoDelay: true}},
	}
	check := func(t *testing.T, side string, local, peer net.Addr, want TCPOptions) {
		t.Helper()
		got, err := SocketOptions(local, peer)
		if errors.Is(err, errors.ErrUnsupported) {
			t.Skip("finding an engine's socket needs /proc/self/fd")
		}
		if err != nil {
			t.Fatalf("%s socket: %v", side, err)
		}
		if got != want {
			t.Errorf("%s socket: %+v; want %+v", side, got, want)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := serve(t, b, newRecorder(t), tc.opts...)
			c := dial(t, b, addr)
			expectEcho(t, c, []byte("accepted and opened"))
			check(t, "accepted", c.RemoteAddr(), c.LocalAddr(), tc.want)

			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			cl, err := proactor.NewClient(newRecorder(t), append(b.clientOptions(), tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cl.Close() })
			// The peer accepts (and over TLS shakes hands) while the
			// Client dials: a TLS Dial returns after the handshake.
			accepted := make(chan net.Conn, 1)
			go func() {
				a, err := ln.Accept()
				if err != nil {
					accepted <- nil
					return
				}
				if b.TLS != nil {
					a.SetDeadline(time.Now().Add(testTimeout))
					ta := tls.Server(a, b.TLS.Server)
					if err := ta.Handshake(); err != nil {
						t.Errorf("the peer's handshake: %v", err)
					}
					a = ta
				}
				accepted <- a
			}()
			if _, err := cl.Dial(ctxTimeout(t), "tcp", ln.Addr().String()); err != nil {
				t.Fatal(err)
			}
			a := wait(t, accepted, "the peer's accept")
			if a == nil {
				t.Fatal("the peer's accept failed")
			}
			t.Cleanup(func() { a.Close() })
			check(t, "dialed", a.RemoteAddr(), a.LocalAddr(), tc.want)
		})
	}
}

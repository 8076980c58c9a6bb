package proactor_test

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// A write cap that ordinary backpressure would hit is refused where it is
// given (server, listener, client), naming the values that clash; a
// relay's settings (reading never paused) and a cap with room are not.
func TestWriteCapClash(t *testing.T) {
	tight := []proactor.Option{proactor.WithLoops(1), proactor.WithMaxWriteQueue(512 << 10)} // below 1 MiB + 64 KiB
	if _, err := proactor.NewServer(proactor.BaseHandler{}, tight...); !errors.Is(err, proactor.ErrBadOptions) ||
		!strings.Contains(err.Error(), "WithMaxWriteQueue(524288)") || !strings.Contains(err.Error(), "1114112") {
		t.Fatalf("NewServer with a cap below high+read: %v; want ErrBadOptions naming the values", err)
	}
	if _, err := proactor.NewClient(proactor.BaseHandler{}, tight...); !errors.Is(err, proactor.ErrBadOptions) {
		t.Fatalf("NewClient with a cap below high+read: %v; want ErrBadOptions", err)
	}
	srv, err := proactor.NewServer(proactor.BaseHandler{}, proactor.WithLoops(1),
		proactor.WithReadBufferSize(16<<10), proactor.WithMaxWriteQueue((1<<20)+(16<<10)))
	if err != nil {
		t.Fatalf("a cap of exactly high+read: %v", err)
	}
	defer srv.Close()
	if _, err := srv.Listen("127.0.0.1:0", proactor.WithWriteWatermarks(4<<20, 0)); !errors.Is(err, proactor.ErrBadOptions) {
		t.Fatalf("Listen raising the watermark over the server's cap: %v; want ErrBadOptions", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(ln, proactor.WithMaxWriteQueue(1<<20)); !errors.Is(err, proactor.ErrBadOptions) {
		t.Fatalf("Serve with a tight cap: %v; want ErrBadOptions", err)
	}
	if _, err := srv.Listen("127.0.0.1:0", proactor.WithMaxWriteQueue(64<<10), proactor.WithReadPause(false)); err != nil {
		t.Fatalf("a relay's small cap with reading never paused: %v", err)
	}
}

// An option given where it cannot apply is refused, naming it and where it
// belongs; one given where it applies is taken.
func TestOptionScopes(t *testing.T) {
	h := proactor.BaseHandler{}
	eng, err := proactor.NewEngine(proactor.WithLoops(1))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	srv, err := proactor.NewServer(h, proactor.WithEngine(eng), proactor.WithMaxConns(10),
		proactor.WithIdleTimeout(time.Minute), proactor.WithAllow(netip.MustParsePrefix("127.0.0.0/8")))
	if err != nil {
		t.Fatalf("NewServer with a server's, a listener's and WithEngine: %v", err)
	}
	defer srv.Close()
	if _, err := srv.Listen("127.0.0.1:0", proactor.WithIdleTimeout(time.Second), proactor.WithAcceptBatch(4)); err != nil {
		t.Fatalf("Listen with a listener's options: %v", err)
	}
	cl, err := proactor.NewClient(h, proactor.WithEngine(eng), proactor.WithConnectTimeout(time.Second),
		proactor.WithIdleTimeout(time.Second), proactor.WithNoDelay(true))
	if err != nil {
		t.Fatalf("NewClient with a client's and a connection's options: %v", err)
	}
	defer cl.Close()

	for _, tc := range []struct {
		name string
		call func() error
		want []string
	}{
		{"a server's to Listen", func() error {
			_, err := srv.Listen("127.0.0.1:0", proactor.WithMaxConns(1))
			return err
		}, []string{"WithMaxConns given to Listen", "server-wide"}},
		{"an engine's to Listen", func() error {
			_, err := srv.Listen("127.0.0.1:0", proactor.WithLoops(2))
			return err
		}, []string{"WithLoops given to Listen"}},
		{"a client's to a server", func() error {
			_, err := proactor.NewServer(h, proactor.WithEngine(eng), proactor.WithConnectTimeout(time.Second))
			return err
		}, []string{"WithConnectTimeout given to NewServer", "NewClient"}},
		{"an engine's beside WithEngine", func() error {
			_, err := proactor.NewServer(h, proactor.WithEngine(eng), proactor.WithLoops(2))
			return err
		}, []string{"WithLoops given to NewServer", "WithEngine supplies one"}},
		{"a listener's to a client", func() error {
			_, err := proactor.NewClient(h, proactor.WithEngine(eng), proactor.WithDeferAccept(true))
			return err
		}, []string{"WithDeferAccept given to NewClient", "accepted connections"}},
		{"a server's to a client", func() error {
			_, err := proactor.NewClient(h, proactor.WithEngine(eng), proactor.WithConnPool(4))
			return err
		}, []string{"WithConnPool given to NewClient"}},
		{"a server's to an engine", func() error {
			_, err := proactor.NewEngine(proactor.WithMaxConns(1))
			return err
		}, []string{"WithMaxConns given to NewEngine"}},
		{"a connection's to a packet server", func() error {
			_, err := proactor.NewPacketServer(nopPacket{},
				proactor.WithEngine(eng), proactor.WithIdleTimeout(time.Second))
			return err
		}, []string{"WithIdleTimeout given to NewPacketServer"}},
	} {
		err := tc.call()
		if !errors.Is(err, proactor.ErrBadOptions) {
			t.Errorf("%s: %v; want ErrBadOptions", tc.name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tc.name, err, w)
			}
		}
	}
}

type nopPacket struct{}

func (nopPacket) OnPacket(*proactor.PacketConn, []byte, netip.AddrPort) {}

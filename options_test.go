package proactor_test

import (
	"errors"
	"net"
	"strings"
	"testing"

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

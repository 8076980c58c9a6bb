package proactor_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// Unix domain stream sockets on every engine: the socket file's life
// (mode, stale and live sockets, removal), Dial, addresses and the
// admission rules that need an IP. The behaviour suite over unix sockets
// is TestConformanceUnix.

// sockPath returns a socket path in a fresh directory, short enough for
// sun_path.
func sockPath(t *testing.T) string {
	dir, err := os.MkdirTemp("", "pu")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s")
}

func unixEcho(t *testing.T, engine string, opts ...proactor.Option) (*proactor.Server, *tlsHandler, string) {
	t.Helper()
	h := newTLSHandler() // an echo that reports opens and closes
	srv, err := proactor.NewServer(h, proactor.WithEngineName(engine), proactor.WithLoops(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	path := sockPath(t)
	addr, err := srv.Listen("unix:"+path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if addr.Network() != "unix" || addr.String() != path {
		t.Fatalf("Listen returned %s %q, want unix %q", addr.Network(), addr, path)
	}
	return srv, h, path
}

// dialPath connects to the unix socket at path, closed when the test ends.
func dialPath(t *testing.T, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func echoOnce(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
		t.Fatalf("echo: %q, %v; want %q", got, err, msg)
	}
}

func TestUnixListen(t *testing.T) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			srv, h, path := unixEcho(t, engine)
			fi, err := os.Lstat(path)
			if err != nil || fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o660 {
				t.Fatalf("socket file: %v, %v; want a socket of mode 0660", fi.Mode(), err)
			}
			c := dialPath(t, path)
			echoOnce(t, c, "over a unix socket")
			sc := await(t, h.opened, "OnOpen")
			if a, ok := sc.LocalAddr().(*net.UnixAddr); !ok || a.Name != path {
				t.Fatalf("LocalAddr %#v, want the socket's path", sc.LocalAddr())
			}
			if _, ok := sc.RemoteAddr().(*net.UnixAddr); !ok || sc.RemoteAddrPort().IsValid() {
				t.Fatalf("RemoteAddr %#v, RemoteAddrPort %v: want a unix address and no IP", sc.RemoteAddr(), sc.RemoteAddrPort())
			}
			// A second server finds the socket live and leaves it alone.
			other, err := proactor.NewServer(h, proactor.WithEngineName(engine), proactor.WithLoops(1))
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			if _, err := other.Listen("unix:" + path); err == nil {
				t.Fatal("a second Listen on a live socket succeeded")
			}
			echoOnce(t, c, "still served")
			srv.Close()
			if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("socket file after Close: %v; want it removed", err)
			}
		})
	}
}

func TestUnixStaleAndMode(t *testing.T) {
	path := sockPath(t)
	// A stale socket: bound, and its listener gone without removing it.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	srv, err := proactor.NewServer(newTLSHandler(), proactor.WithLoops(1))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := srv.Listen("unix:"+path, proactor.WithUnixSocketMode(0o600)); err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	c := dialPath(t, path)
	echoOnce(t, c, "replaced")

	// Anything but a socket is never removed.
	file := sockPath(t)
	if err := os.WriteFile(file, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Listen("unix:" + file); err == nil {
		t.Fatal("Listen replaced a regular file")
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "data" {
		t.Fatalf("the file: %q, %v", b, err)
	}
	if _, err := srv.Listen("unix:"+sockPath(t), proactor.WithReusePort(true)); !errors.Is(err, proactor.ErrReusePort) {
		t.Fatalf("unix Listen with WithReusePort: %v; want ErrReusePort", err)
	}
}

// Serve takes a *net.UnixListener made elsewhere.
func TestUnixServe(t *testing.T) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			path := sockPath(t)
			ln, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			srv, err := proactor.NewServer(newTLSHandler(), proactor.WithEngineName(engine), proactor.WithLoops(1))
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()
			c := dialPath(t, path)
			echoOnce(t, c, "served")
			srv.Close()
			if err := <-served; !errors.Is(err, proactor.ErrServerClosed) {
				t.Fatalf("Serve: %v", err)
			}
		})
	}
}

func TestUnixDial(t *testing.T) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			_, _, path := unixEcho(t, engine)
			got := make(chan []byte, 8)
			h := &dialRecorder{got: got}
			cl, err := proactor.NewClient(h, proactor.WithEngineName(engine), proactor.WithLoops(1))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := cl.Dial(ctx, "unix", path)
			if err != nil {
				t.Fatal(err)
			}
			if a, ok := c.RemoteAddr().(*net.UnixAddr); !ok || a.Name != path || c.Server() != nil {
				t.Fatalf("dialed: RemoteAddr %#v, Server %v", c.RemoteAddr(), c.Server())
			}
			c.Write([]byte("ping"))
			if b := await(t, got, "echo"); string(b) != "ping" {
				t.Fatalf("got %q", b)
			}
			if _, err := cl.Dial(ctx, "unix", path+".none"); err == nil {
				t.Fatal("dialing a missing socket succeeded")
			} else if op := (*net.OpError)(nil); !errors.As(err, &op) || op.Net != "unix" {
				t.Fatalf("dial error %#v; want a *net.OpError for unix", err)
			}
		})
	}
}

type dialRecorder struct {
	proactor.BaseHandler
	got chan []byte
}

func (h *dialRecorder) OnData(_ *proactor.Conn, p []byte) { h.got <- append([]byte(nil), p...) }

// A unix peer has no IP: the allow list and the per-IP cap do not apply
// to it (the socket file's mode does), WithMaxConns does.
func TestUnixAdmission(t *testing.T) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			h := newTLSHandler()
			srv, err := proactor.NewServer(h, proactor.WithEngineName(engine), proactor.WithLoops(1),
				proactor.WithMaxConnsPerIP(1), proactor.WithMaxConns(2),
				proactor.WithAllow(netip.MustParsePrefix("10.0.0.0/8")))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			path := sockPath(t)
			if _, err := srv.Listen("unix:" + path); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				c := dialPath(t, path)
				echoOnce(t, c, "admitted")
			}
			c := dialPath(t, path)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if n, err := c.Read(make([]byte, 1)); err == nil {
				t.Fatalf("a third connection past WithMaxConns(2) read %d bytes", n)
			}
			if st := srv.Stats(); st.RejectedMaxConns != 1 || st.RejectedPerIP != 0 || st.RejectedDenied != 0 {
				t.Fatalf("stats %+v; want one max-conns rejection only", st)
			}
		})
	}
}

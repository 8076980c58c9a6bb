package control_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/control"
	"github.com/seed487d475b/proactor/examples/echo"
	"github.com/seed487d475b/proactor/internal/buildinfo"
	"github.com/seed487d475b/proactor/internal/servertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func echoServer(t *testing.T) (*proactor.Server, string) {
	return servertest.Start(t, echo.Handler{})
}

// endpoint serves srv's control API on a socket in a fresh directory.
func endpoint(t *testing.T, srv *proactor.Server, opts ...control.Option) (*control.Endpoint, *control.Client) {
	t.Helper()
	ep, err := control.Listen(filepath.Join(t.TempDir(), "c.sock"), srv, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	cl := control.NewClient(ep.Path())
	t.Cleanup(cl.Close)
	return ep, cl
}

func TestStatusPauseResume(t *testing.T) {
	srv, addr := echoServer(t)
	_, cl := endpoint(t, srv, control.WithName("echo"))
	servertest.Echo(t, addr, "hello")

	st, err := cl.Status(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Server != "echo" || st.Engine != srv.Engine().Name() || st.Loops != 1 || st.Paused ||
		len(st.Listeners) != 1 || st.Listeners[0] != addr {
		t.Fatalf("status %+v", st)
	}
	if st.Stats.Accepted != 1 || st.Stats.Active != 1 || st.Stats.BytesRead != 5 {
		t.Fatalf("stats %+v", st.Stats)
	}
	if bi := buildinfo.Read(); st.Version != bi.Version || st.GoVersion != bi.GoVersion || st.Revision != bi.Revision {
		t.Fatalf("version %q %q %q; want %+v", st.Version, st.GoVersion, st.Revision, bi)
	}
	if !st.Started.Equal(srv.Started()) || st.Uptime <= 0 || st.Uptime > time.Since(srv.Started()) {
		t.Fatalf("started %v, uptime %v; the server started %v", st.Started, st.Uptime, srv.Started())
	}
	if h := st.Histograms.Callback; len(h.Bounds) == 0 || len(h.Counts) != len(h.Bounds)+1 {
		t.Fatalf("histograms %+v", st.Histograms)
	}

	if st, err = cl.Pause(ctx(t)); err != nil || !st.Paused || !srv.Paused() {
		t.Fatalf("pause: %+v, %v", st, err)
	}
	// A connection made while paused waits in the backlog, and is served
	// once accepting resumes.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := io.WriteString(c2, "later"); err != nil {
		t.Fatal(err)
	}
	if st, err = cl.Resume(ctx(t)); err != nil || st.Paused || srv.Paused() {
		t.Fatalf("resume: %+v, %v", st, err)
	}
	got := make([]byte, 5)
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c2, got); err != nil || string(got) != "later" {
		t.Fatalf("after resume: %q, %v", got, err)
	}
}

func TestShutdown(t *testing.T) {
	t.Run("Default", func(t *testing.T) {
		srv, _ := echoServer(t)
		_, cl := endpoint(t, srv)
		if err := cl.Shutdown(ctx(t)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-srv.Done():
		case <-ctx(t).Done():
			t.Fatal("the server did not stop")
		}
	})
	t.Run("Custom", func(t *testing.T) {
		srv, _ := echoServer(t)
		called := make(chan struct{})
		_, cl := endpoint(t, srv, control.WithShutdown(func() { close(called) }))
		if err := cl.Shutdown(ctx(t)); err != nil {
			t.Fatal(err)
		}
		<-called // the answer came after the function returned
		if _, err := cl.Status(ctx(t)); err != nil {
			t.Fatalf("the server's own stop was bypassed: %v", err)
		}
	})
}

func TestSocketFile(t *testing.T) {
	srv, _ := echoServer(t)
	ep, _ := endpoint(t, srv)
	fi, err := os.Lstat(ep.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket file mode %v, want a socket with 0600", fi.Mode())
	}
	entries, _ := os.ReadDir(filepath.Dir(ep.Path()))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want the socket alone", len(entries))
	}
	// A second endpoint on a live socket is refused.
	if _, err := control.Listen(ep.Path(), srv); !errors.Is(err, control.ErrInUse) {
		t.Fatalf("second Listen: %v; want ErrInUse", err)
	}
	if err := ep.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(ep.Path()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("socket file left after Close: %v", err)
	}
	cl := control.NewClient(ep.Path())
	defer cl.Close()
	if _, err := cl.Status(ctx(t)); !errors.Is(err, control.ErrNoServer) {
		t.Fatalf("status after Close: %v; want ErrNoServer", err)
	}
}

func TestStaleAndForeignFiles(t *testing.T) {
	srv, _ := echoServer(t)
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // the file stays, as after a crash
	ep, err := control.Listen(stale, srv)
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	ep.Close()

	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := control.Listen(plain, srv); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(plain); string(b) != "keep" {
		t.Fatal("the regular file was touched")
	}
}

func TestErrorAnswers(t *testing.T) {
	srv, _ := echoServer(t)
	ep, _ := endpoint(t, srv)
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", ep.Path())
		},
	}}
	defer hc.CloseIdleConnections()
	tests := []struct {
		name, method, path string
		want               int
	}{
		{name: "GetPause", method: http.MethodGet, path: "/pause", want: http.StatusMethodNotAllowed},
		{name: "PostStatus", method: http.MethodPost, path: "/status", want: http.StatusMethodNotAllowed},
		{name: "Unknown", method: http.MethodGet, path: "/nosuch", want: http.StatusNotFound},
		{name: "BadConnID", method: http.MethodPost, path: "/conns/x/close", want: http.StatusBadRequest},
		{name: "NoSuchConn", method: http.MethodPost, path: "/conns/999999/abort", want: http.StatusNotFound},
		{name: "UnknownConnAction", method: http.MethodPost, path: "/conns/1/kill", want: http.StatusNotFound},
		{name: "GetConnClose", method: http.MethodGet, path: "/conns/1/close", want: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx(t), tt.method, "http://x"+tt.path, nil)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want || resp.Header.Get("Content-Type") != "application/json" ||
				!strings.HasPrefix(string(body), `{"error":`) {
				t.Fatalf("%d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		})
	}
	if srv.Paused() {
		t.Fatal("GET /pause paused the server")
	}
}

func TestDefaultPath(t *testing.T) {
	run := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", run)
	p, err := control.DefaultPath("echo")
	if err != nil {
		t.Fatal(err)
	}
	if p != filepath.Join(run, "proactor", "echo.sock") {
		t.Fatalf("path %s", p)
	}
	fi, err := os.Stat(filepath.Dir(p))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("directory: %v, %v", fi.Mode(), err)
	}
	// A directory others may write to is refused, not used.
	if err := os.Chmod(filepath.Dir(p), 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := control.DefaultPath("echo"); err == nil {
		t.Fatal("a world-writable directory was accepted")
	}
}

// TestListenRace: of endpoints started at once on one path, one gets it
// and the others fail with ErrInUse; none takes over another's socket.
func TestListenRace(t *testing.T) {
	srv, _ := echoServer(t)
	for i := range 20 {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("r%d.sock", i))
		eps := make(chan *control.Endpoint, 3)
		errs := make(chan error, 3)
		for range 3 {
			go func() {
				ep, err := control.Listen(path, srv)
				if err != nil {
					errs <- err
					return
				}
				eps <- ep
			}()
		}
		var won []*control.Endpoint
		for range 3 {
			select {
			case ep := <-eps:
				won = append(won, ep)
			case err := <-errs:
				if !errors.Is(err, control.ErrInUse) {
					t.Fatalf("a loser failed with %v; want ErrInUse", err)
				}
			}
		}
		if len(won) != 1 {
			t.Fatalf("%d endpoints on one path", len(won))
		}
		cl := control.NewClient(path)
		_, err := cl.Status(ctx(t))
		cl.Close()
		won[0].Close()
		if err != nil {
			t.Fatalf("the winner does not answer: %v", err)
		}
	}
}

// TestCloseKeepsAnotherSocket: Close removes its own socket file only, not
// one another server has put at the path since.
func TestCloseKeepsAnotherSocket(t *testing.T) {
	srv, _ := echoServer(t)
	ep, _ := endpoint(t, srv)
	os.Remove(ep.Path())
	other, err := net.Listen("unix", ep.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ep.Close()
	if _, err := os.Lstat(ep.Path()); err != nil {
		t.Fatalf("Close removed another server's socket: %v", err)
	}
}

// TestDefaultPathForeignDir: a directory of another user is refused, also
// when running as root (who may change any directory's mode).
func TestDefaultPathForeignDir(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give a directory away")
	}
	run := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", run)
	dir := filepath.Join(run, "proactor")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := control.DefaultPath("echo"); err == nil {
		t.Fatal("another user's directory was accepted")
	}
}

// TestLongPath: a path too long for a socket is a clear error.
func TestLongPath(t *testing.T) {
	srv, _ := echoServer(t)
	path := filepath.Join(t.TempDir(), strings.Repeat("x", 100)+".sock")
	if _, err := control.Listen(path, srv); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Fatalf("Listen on a %d-byte path: %v", len(path), err)
	}
}

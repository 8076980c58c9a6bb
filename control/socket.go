package control

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/seed487d475b/proactor"
)

// Listen serves the API for srv on a unix socket at path until Close. The
// socket is mode 0600: only the server's user (and root) can connect. It is
// bound in a private directory beside path, so that nobody can connect
// before that mode is set, and then linked into place, which fails if path
// was taken meanwhile. A socket file left behind by a server that died is
// replaced; one a live server answers on is not (ErrInUse), nor is
// anything at path that is not a socket.
func Listen(path string, srv *proactor.Server, opts ...Option) (*Endpoint, error) {
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("control: socket path too long for clients to connect (%d bytes, at most %d): %s", len(path), maxSocketPath, path)
	}
	if err := clearStale(path); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".control-") // mode 0700
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	defer os.RemoveAll(dir) // the socket stays reachable at path
	tmp := filepath.Join(dir, "s")
	if len(tmp) > maxSocketPath {
		return nil, fmt.Errorf("control: socket path %s too long: the directory's path must stay under %d bytes", path, maxSocketPath-len(tmp)+len(filepath.Dir(path)))
	}
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	// The socket leaves tmp below; Close removes it from path itself.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	var fi os.FileInfo
	if err = os.Chmod(tmp, 0o600); err == nil {
		err = os.Link(tmp, path)
	}
	if errors.Is(err, fs.ErrExist) {
		err = fmt.Errorf("%w: %s", ErrInUse, path)
	} else if err == nil {
		fi, err = os.Lstat(path)
	}
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("control: %w", err)
	}
	return serve(path, fi, ln, srv, opts), nil
}

// serve runs the API on ln, whose socket file is fi at path.
func serve(path string, fi os.FileInfo, ln net.Listener, srv *proactor.Server, opts []Option) *Endpoint {
	e := &Endpoint{
		path: path,
		file: fi,
		ln:   ln,
		hs:   &http.Server{Handler: Handler(srv, opts...), ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(e.done)
		e.hs.Serve(ln) // returns ErrServerClosed once Close is called
	}()
	return e
}

// maxSocketPath is the longest unix socket path every OS takes (sun_path
// holds 104 bytes on the BSDs, 108 on Linux, with a terminating NUL).
const maxSocketPath = 103

// clearStale makes way for a new socket at path: nothing there, or a
// socket nobody answers on, which it removes.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("control: %s exists and is not a socket", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	switch {
	case err == nil:
		c.Close()
		return fmt.Errorf("%w: %s", ErrInUse, path)
	case errors.Is(err, syscall.ENOENT):
		return nil // its server removed it meanwhile: the path is free
	case !errors.Is(err, syscall.ECONNREFUSED):
		// A full backlog (EAGAIN), another user's socket (EACCES), ...:
		// not proof that nobody answers, so not removed.
		return fmt.Errorf("control: %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control: %w", err)
	}
	return nil
}

// DefaultPath is where a server named name keeps its socket unless told
// otherwise: $XDG_RUNTIME_DIR/proactor/NAME.sock, or, without that
// variable, proactor-UID/NAME.sock in the temporary directory. It creates
// the directory (mode 0700) and refuses one that others may write to or
// that the user does not own, so that nobody else can plant a socket there.
func DefaultPath(name string) (string, error) {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir != "" {
		dir = filepath.Join(dir, "proactor")
	} else {
		dir = filepath.Join(os.TempDir(), "proactor-"+strconv.Itoa(os.Getuid()))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("control: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("control: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("control: %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o022 != 0 || !ownedByUs(fi) || os.Chmod(dir, 0o700) != nil {
		return "", fmt.Errorf("control: %s is writable by others or not ours; give a socket path instead", dir)
	}
	return filepath.Join(dir, name+".sock"), nil
}

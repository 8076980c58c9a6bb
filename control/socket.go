package control

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/seed487d475b/proactor"
)

// Listen serves the API for srv on a unix socket at path until Close. The
// socket is mode 0600: only the server's user (and root) can connect. The
// file appears at path only once that mode is set (it is bound under a
// temporary name beside it and renamed). A socket file left behind by a
// server that died is replaced; one a live server answers on is not
// (ErrInUse), nor is anything at path that is not a socket.
func Listen(path string, srv *proactor.Server, opts ...Option) (*Endpoint, error) {
	if err := clearStale(path); err != nil {
		return nil, err
	}
	tmp := fmt.Sprintf("%s.%d.%s", path, os.Getpid(), rand.Text()[:8])
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	// The name changes below; Close removes the final one itself.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if err = os.Chmod(tmp, 0o600); err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("control: %w", err)
	}
	e := &Endpoint{
		path: path,
		ln:   ln,
		hs:   &http.Server{Handler: Handler(srv, opts...), ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(e.done)
		e.hs.Serve(ln) // returns ErrServerClosed once Close is called
	}()
	return e, nil
}

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
	if err == nil {
		c.Close()
		return fmt.Errorf("%w: %s", ErrInUse, path)
	}
	return removeSocket(path)
}

// removeSocket removes a socket file, and nothing else.
func removeSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil && fi.Mode().Type() == fs.ModeSocket {
		err = os.Remove(path)
	}
	if err != nil {
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
	// Only the owner (or root) may change a directory's mode, so a
	// successful Chmod also proves the ownership.
	if fi.Mode().Perm()&0o022 != 0 || os.Chmod(dir, 0o700) != nil {
		return "", fmt.Errorf("control: %s is writable by others or not ours; give a socket path instead", dir)
	}
	return filepath.Join(dir, name+".sock"), nil
}

package control

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/internal/unixsock"
)

// Listen serves the API for srv on a unix socket at path until Close. The
// socket is mode 0600: only the server's user (and root) can connect. It is
// bound in a private directory beside path, so that nobody can connect
// before that mode is set, and then linked into place, which fails if path
// was taken meanwhile. A socket file left behind by a server that died is
// replaced; one a live server answers on is not (ErrInUse), nor is
// anything at path that is not a socket.
func Listen(path string, srv *proactor.Server, opts ...Option) (*Endpoint, error) {
	ln, err := unixsock.Listen(path, 0o600)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	return serve(path, ln, srv, opts), nil
}

// serve runs the API on ln.
func serve(path string, ln *unixsock.Listener, srv *proactor.Server, opts []Option) *Endpoint {
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
	return e
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

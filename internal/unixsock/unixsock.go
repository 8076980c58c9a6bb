// Package unixsock makes listening unix stream sockets the way a server
// should: the socket file gets its mode before anybody can connect, a live
// socket at the path is never replaced, a stale one (left by a server that
// died) is, and closing removes the file only if it is still the one made.
// proactor's unix listeners and its control endpoint both use it.
package unixsock

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// ErrInUse reports a path on which a live server answers.
var ErrInUse = errors.New("socket in use by a running server")

// MaxPath is the longest unix socket path every OS takes (sun_path holds
// 104 bytes on the BSDs, 108 on Linux, with a terminating NUL).
const MaxPath = 103

// Listener is a listening unix socket made by Listen. It is a
// *net.UnixListener (so engines can take its descriptor and set deadlines
// on it) whose Addr is the path asked for and whose Close removes the file.
type Listener struct {
	*net.UnixListener
	path string
	file os.FileInfo

	once sync.Once
	err  error
	keep bool // Keep: Close leaves the file
}

// Listen listens on a unix stream socket at path with the given mode. The
// socket is bound in a private directory beside path (mode 0700), given
// its mode there, and then linked into place, which fails if path was
// taken meanwhile: nobody can connect before the mode holds. A socket at
// path that nobody answers on is removed first; one a live server
// answers on is not (ErrInUse), nor is anything that is not a socket.
func Listen(path string, mode fs.FileMode) (*Listener, error) {
	if len(path) > MaxPath {
		return nil, fmt.Errorf("socket path too long for clients to connect (%d bytes, at most %d): %s", len(path), MaxPath, path)
	}
	if err := ClearStale(path); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".sock-") // mode 0700
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir) // the socket stays reachable at path
	tmp := filepath.Join(dir, "s")
	if len(tmp) > MaxPath {
		return nil, fmt.Errorf("socket path %s too long: the directory's path must stay under %d bytes", path, MaxPath-len(tmp)+len(filepath.Dir(path)))
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, err
	}
	// The socket leaves tmp below; Close removes it from path itself.
	ln.SetUnlinkOnClose(false)
	var fi os.FileInfo
	if err = os.Chmod(tmp, mode.Perm()); err == nil {
		err = os.Link(tmp, path)
	}
	if errors.Is(err, fs.ErrExist) {
		err = fmt.Errorf("%w: %s", ErrInUse, path)
	} else if err == nil {
		fi, err = os.Lstat(path)
	}
	if err != nil {
		ln.Close()
		return nil, err
	}
	return &Listener{UnixListener: ln, path: path, file: fi}, nil
}

// Adopt takes over ln, a listening socket opened elsewhere (inherited from
// the process an upgrade replaced) whose file is at path: the Listener's
// Close removes that file as if Listen had made it.
func Adopt(path string, ln *net.UnixListener) (*Listener, error) {
	fi, err := os.Lstat(path)
	if err == nil && fi.Mode().Type() != fs.ModeSocket {
		err = fmt.Errorf("%s is not a socket", path)
	}
	if err != nil {
		ln.Close()
		return nil, err
	}
	// The file is the Listener's to remove, not ln's (whose address may be
	// where it was bound before being linked into place).
	ln.SetUnlinkOnClose(false)
	return &Listener{UnixListener: ln, path: path, file: fi}, nil
}

// Keep makes Close leave the socket file in place: another process that
// inherited the socket serves it now. Call it before Close.
func (l *Listener) Keep() { l.keep = true }

// Addr returns the socket's path.
func (l *Listener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

// Path returns the socket's path.
func (l *Listener) Path() string { return l.path }

// Close closes the socket and removes its file: only the file Listen
// made, since after a crash and a restart elsewhere the path may name
// another server's socket. It may be called more than once.
func (l *Listener) Close() error {
	l.once.Do(func() {
		l.err = l.UnixListener.Close()
		if fi, err := os.Lstat(l.path); err == nil && !l.keep && os.SameFile(fi, l.file) {
			if err := os.Remove(l.path); err != nil && l.err == nil {
				l.err = err
			}
		}
	})
	return l.err
}

// ClearStale makes way for a new socket at path: nothing there, or a
// socket nobody answers on, which it removes. A live socket is ErrInUse;
// anything else at path, or a probe that proves nothing (a full backlog,
// another user's socket), is an error and left alone.
func ClearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket", path)
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
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

//go:build unix

package activation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Child is a program to start with descriptors handed over.
type Child struct {
	Path  string     // the program
	Args  []string   // its arguments, without the program name
	Files []*os.File // handed over as descriptors 3, 4, ...; the caller keeps and closes them
	Names []string   // LISTEN_FDNAMES, one per file (optional)
	// Env is the environment, without the protocol's variables, which
	// Start sets (default: this process's, minus them).
	Env []string
}

// shell sets LISTEN_PID to the child's own process ID, which is only
// known once it runs, and then becomes the program: exec keeps the
// process ID and the descriptors.
const shell = `LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"`

// Start runs c with its files as descriptors 3 onwards, announced in the
// LISTEN_ variables as systemd does, and waits until it sends READY=1 to
// the NOTIFY_SOCKET made for it. It returns the child's process ID once it
// is ready; a child that exits first, or is not ready when ctx ends, is an
// error (a late one is killed). The child is reaped in the background; it
// outlives this process. Standard input, output and error are this
// process's.
//
// Unlike os/exec, Start leaves the descriptors' non-blocking mode alone:
// a listening socket handed over is shared with this process, which goes
// on accepting on it until the child is ready. LISTEN_PID is set by
// /bin/sh, which then executes c.Path.
func Start(ctx context.Context, c Child) (int, error) {
	if c.Names != nil && len(c.Names) != len(c.Files) {
		return 0, fmt.Errorf("activation: %d names for %d files", len(c.Names), len(c.Files))
	}
	for _, n := range c.Names {
		if n == "" || strings.Contains(n, ":") || len(n) > 255 {
			return 0, fmt.Errorf("activation: bad descriptor name %q", n)
		}
	}
	dir, err := os.MkdirTemp("", "proactor-notify-") // mode 0700: only we can send
	if err != nil {
		return 0, fmt.Errorf("activation: %w", err)
	}
	defer os.RemoveAll(dir)
	addr := filepath.Join(dir, "s")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return 0, fmt.Errorf("activation: %w", err)
	}
	defer sock.Close()

	fds := []uintptr{0, 1, 2}
	for _, f := range c.Files {
		rc, err := f.SyscallConn()
		if err != nil {
			return 0, fmt.Errorf("activation: %w", err)
		}
		// Control, unlike Fd, leaves the descriptor non-blocking. The
		// files stay open until Start returns, past the fork.
		if err := rc.Control(func(fd uintptr) { fds = append(fds, fd) }); err != nil {
			return 0, fmt.Errorf("activation: %w", err)
		}
	}
	env := c.Env
	if env == nil {
		env = os.Environ()
	}
	env = withoutProtocol(env)
	env = append(env, envFDs+"="+strconv.Itoa(len(c.Files)), envNotify+"="+addr, envSupervisor+"="+supervisor())
	if c.Names != nil {
		env = append(env, envNames+"="+strings.Join(c.Names, ":"))
	}
	argv := append([]string{"/bin/sh", "-c", shell, c.Path}, c.Args...)
	pid, err := syscall.ForkExec("/bin/sh", argv, &syscall.ProcAttr{Env: env, Files: fds})
	if err != nil {
		return 0, fmt.Errorf("activation: starting %s: %w", c.Path, err)
	}
	proc, err := os.FindProcess(pid)
	if err != nil { // not on unix: FindProcess always succeeds there
		return 0, fmt.Errorf("activation: %w", err)
	}
	exited := make(chan error, 1)
	go func() {
		st, err := proc.Wait()
		if err == nil {
			err = errors.New(st.String())
		}
		exited <- err
	}()

	ready := make(chan error, 1)
	go func() { ready <- awaitReady(sock) }()
	fail := func(why error) (int, error) {
		proc.Kill()
		<-exited
		return 0, fmt.Errorf("activation: %s: %w", c.Path, why)
	}
	select {
	case err := <-ready:
		if err != nil {
			return fail(err)
		}
		return pid, nil
	case err := <-exited:
		return 0, fmt.Errorf("activation: %s exited before it was ready: %v", c.Path, err)
	case <-ctx.Done():
		return fail(fmt.Errorf("not ready: %w", context.Cause(ctx)))
	}
}

// awaitReady reads notifications until one says READY=1; it ends with an
// error when the socket is closed.
func awaitReady(sock *net.UnixConn) error {
	buf := make([]byte, 4096)
	for {
		n, err := sock.Read(buf)
		if err != nil {
			return err
		}
		for line := range bytes.SplitSeq(buf[:n], []byte("\n")) {
			if string(line) == "READY=1" {
				return nil
			}
		}
	}
}

// withoutProtocol is env without the variables Start sets.
func withoutProtocol(env []string) []string {
	out := make([]string, 0, len(env)+5)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case envPID, envFDs, envNames, envNotify, envSupervisor:
			continue
		}
		out = append(out, kv)
	}
	return out
}

// Package activation takes over listening sockets the way systemd hands
// them to a service, and reports readiness the way systemd expects; it is
// written from systemd's documented protocol (sd_listen_fds(3),
// sd_notify(3)), without systemd's library.
//
// Socket activation: a process started with LISTEN_PID set to its own
// process ID, LISTEN_FDS to a count n and, optionally, LISTEN_FDNAMES to n
// colon-separated names owns the descriptors 3 to 3+n-1. Files and
// Listeners take them (close-on-exec set, the variables unset, as
// sd_listen_fds does, so that a child process does not take them again).
//
// Readiness: Notify sends a state such as "READY=1" or "STOPPING=1" as a
// datagram to the unix socket NOTIFY_SOCKET names (a path, or an abstract
// name starting with "@"); without NOTIFY_SOCKET it does nothing.
//
// Upgrades: Start runs a new program with descriptors handed over in the
// same protocol and waits for its READY=1 on a socket of its own, which is
// how `proactor ctl upgrade` replaces a running server without refusing a
// connection. Because the upgraded process's NOTIFY_SOCKET is its
// predecessor's, the supervisor's socket (systemd's) is passed along in
// PROACTOR_SUPERVISOR_SOCKET; NotifySupervisor writes there.
package activation

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// The variables of the protocol.
const (
	envPID        = "LISTEN_PID"
	envFDs        = "LISTEN_FDS"
	envNames      = "LISTEN_FDNAMES"
	envNotify     = "NOTIFY_SOCKET"
	envSupervisor = "PROACTOR_SUPERVISOR_SOCKET"
)

// firstFD is the first descriptor handed over: the ones before are
// standard input, output and error.
const firstFD = 3

// maxFDs bounds LISTEN_FDS: a larger count is a corrupt variable, not
// descriptors to walk through.
const maxFDs = 1 << 16

// ErrBadEnvironment is returned when the LISTEN_ variables are set but
// malformed: a count that is not a number, names that do not match it.
var ErrBadEnvironment = errors.New("activation: malformed LISTEN_ variables")

// Listener is a listening socket handed over, with its name:
// LISTEN_FDNAMES's entry (systemd's FileDescriptorName=, by default the
// socket unit's name), or "unknown" when the names are not given.
type Listener struct {
	Name string
	net.Listener
}

// Listeners takes the descriptors handed over (Files) and returns them as
// listeners, in order. A descriptor that is not a listening stream socket
// is an error naming it; the others are closed then.
func Listeners() ([]Listener, error) {
	files, err := Files()
	if err != nil {
		return nil, err
	}
	lns := make([]Listener, 0, len(files))
	for i, f := range files {
		ln, err := net.FileListener(f) // a duplicate: f is closed below
		if err == nil {
			lns = append(lns, Listener{Name: f.Name(), Listener: ln})
		} else {
			err = fmt.Errorf("activation: descriptor %d (%s) is not a listening socket: %w", firstFD+i, f.Name(), err)
		}
		f.Close()
		if err != nil {
			for _, ln := range lns {
				ln.Close()
			}
			for _, f := range files[i+1:] {
				f.Close()
			}
			return nil, err
		}
	}
	return lns, nil
}

// parse reads the LISTEN_ variables through get for the process pid: the
// number of descriptors handed to it, and their names. Variables meant for
// another process (LISTEN_PID is not pid) or absent mean none.
func parse(pid int, get func(string) (string, bool)) (int, []string, error) {
	p, ok := get(envPID)
	if !ok {
		return 0, nil, nil
	}
	if want, err := strconv.Atoi(p); err != nil || want <= 0 {
		return 0, nil, fmt.Errorf("%w: %s=%q", ErrBadEnvironment, envPID, p)
	} else if want != pid {
		return 0, nil, nil
	}
	v, _ := get(envFDs)
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > maxFDs {
		return 0, nil, fmt.Errorf("%w: %s=%q", ErrBadEnvironment, envFDs, v)
	}
	names := make([]string, n)
	if v, ok := get(envNames); ok {
		given := strings.Split(v, ":")
		if n == 0 && v == "" {
			given = nil
		}
		if len(given) != n {
			return 0, nil, fmt.Errorf("%w: %s has %d names for %d descriptors", ErrBadEnvironment, envNames, len(given), n)
		}
		copy(names, given)
	} else {
		for i := range names {
			names[i] = "unknown"
		}
	}
	return n, names, nil
}

// unsetListenEnv removes the LISTEN_ variables, as sd_listen_fds does with
// unset_environment set: a child of this process must not take the
// descriptors for its own.
func unsetListenEnv() {
	os.Unsetenv(envPID)
	os.Unsetenv(envFDs)
	os.Unsetenv(envNames)
}

// Notify sends state, newline-separated assignments such as "READY=1" or
// "STOPPING=1", to the socket NOTIFY_SOCKET names, and reports whether
// there was one. It is safe for concurrent use.
func Notify(state string) (bool, error) {
	return notify(os.Getenv(envNotify), state)
}

// NotifySupervisor sends state to the process supervisor: systemd, also
// after upgrades (PROACTOR_SUPERVISOR_SOCKET, which Start sets, else
// NOTIFY_SOCKET). It reports whether there is a supervisor to tell. The
// states that concern the service as a whole go there: STOPPING=1, and
// MAINPID=N when an upgrade hands the service to a new process.
func NotifySupervisor(state string) (bool, error) {
	return notify(supervisor(), state)
}

// supervisor is the socket of the process supervisor, "" for none.
func supervisor() string {
	if v, ok := os.LookupEnv(envSupervisor); ok {
		return v
	}
	return os.Getenv(envNotify)
}

func notify(addr, state string) (bool, error) {
	if addr == "" {
		return false, nil
	}
	if addr[0] != '/' && addr[0] != '@' {
		// vsock: and other transports systemd knows are not supported.
		return true, fmt.Errorf("activation: unsupported %s %q", envNotify, addr)
	}
	// An abstract name: Go's net maps the leading "@" to a NUL byte.
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return true, fmt.Errorf("activation: notify: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return true, fmt.Errorf("activation: notify: %w", err)
	}
	return true, nil
}

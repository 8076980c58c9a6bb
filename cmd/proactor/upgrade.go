package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/activation"
	"github.com/seed487d475b/proactor/control"
)

// The names serve gives the sockets it hands to the new process of an
// upgrade, and recognises in LISTEN_FDNAMES. Any other name is a
// listening socket of the server (systemd names them after the socket
// unit by default).
const (
	fdControl = "control"
	fdMetrics = "metrics"
	fdListen  = "listen"
)

// defaultReadyTimeout bounds the wait for an upgraded process's READY=1.
const defaultReadyTimeout = 30 * time.Second

// inherited is what serve took over at start: from systemd's socket
// activation, or from the process an upgrade replaced.
type inherited struct {
	listeners []activation.Listener // the server's, in order
	control   *net.UnixListener
	metrics   net.Listener
}

// takeInherited takes the sockets handed to this process, if any.
func takeInherited() (inherited, error) {
	var in inherited
	lns, err := activation.Listeners()
	if err != nil {
		return in, err
	}
	for _, l := range lns {
		switch ul, unix := l.Listener.(*net.UnixListener); {
		case l.Name == fdControl && unix && in.control == nil:
			in.control = ul
		case l.Name == fdMetrics && in.metrics == nil:
			in.metrics = l.Listener
		default:
			in.listeners = append(in.listeners, l)
		}
	}
	return in, nil
}

// listenInherited starts srv on inherited sockets instead of cfg's
// addresses. Sockets with one address form a SO_REUSEPORT group (an
// upgraded --reuse-port server's: every one is served, or the connections
// queued on it would wait for ever); the i-th group takes the options of
// the i-th listener the server would have made, the groups beyond them
// the last one's, as --listen does.
func listenInherited(srv *proactor.Server, cfg serveConfig, lns []activation.Listener, stdout io.Writer) error {
	var order []string
	groups := map[string][]net.Listener{}
	for _, l := range lns {
		a := l.Addr().String()
		if _, ok := groups[a]; !ok {
			order = append(order, a)
		}
		groups[a] = append(groups[a], l.Listener)
	}
	eng := srv.Engine()
	given := map[net.Listener]bool{} // to the server, which closes it even on a failure
	for i, a := range order {
		opts := slices.Concat(cfg.listeners[min(i, len(cfg.listeners)-1)].opts, cfg.opts)
		if len(groups[a]) > 1 {
			opts = append(opts, proactor.WithReusePort(true))
		}
		for _, ln := range groups[a] {
			given[ln] = true
			if err := srv.AddListener(ln, opts...); err != nil {
				for _, l := range lns {
					if !given[l.Listener] {
						l.Close()
					}
				}
				return err
			}
		}
		fmt.Fprintf(stdout, "proactor: %s listening on %s (engine %s, %s)\n", cfg.name, a, eng.Name(), plural(eng.Loops(), "loop"))
	}
	fmt.Fprintf(stdout, "proactor: %s took over %s\n", cfg.name, plural(len(lns), "inherited socket"))
	return nil
}

// upgrader carries out `proactor ctl upgrade` for a running serve: it
// starts the new binary with the listening sockets, the control socket
// and the metrics socket inherited, and once the new process is ready
// stops accepting and reports on done, where serve takes it up.
type upgrader struct {
	srv  *proactor.Server
	done chan control.UpgradeResult // one result, buffered

	mu       sync.Mutex        // held through an upgrade
	ep       *control.Endpoint // nil: none
	metrics  net.Listener      // nil: none
	ms       *http.Server
	upgraded bool
}

func newUpgrader(srv *proactor.Server) *upgrader {
	return &upgrader{srv: srv, done: make(chan control.UpgradeResult, 1)}
}

// setControl and setMetrics tell u the endpoints to hand over; an upgrade
// may be asked for as soon as the control endpoint runs.
func (u *upgrader) setControl(ep *control.Endpoint) {
	u.mu.Lock()
	u.ep = ep
	u.mu.Unlock()
}

func (u *upgrader) setMetrics(ln net.Listener, ms *http.Server) {
	u.mu.Lock()
	u.metrics, u.ms = ln, ms
	u.mu.Unlock()
}

// upgrade is the control endpoint's POST /upgrade. If the new process
// cannot start or is not ready in time, nothing has changed: this one
// keeps accepting, and the error says why.
func (u *upgrader) upgrade(ctx context.Context, req control.UpgradeRequest) (control.UpgradeResult, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.upgraded {
		return control.UpgradeResult{}, errors.New("already upgraded: this process is draining")
	}
	bin := req.Binary
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return control.UpgradeResult{}, err
		}
	}
	files, err := u.srv.ListenerFiles()
	if err != nil {
		return control.UpgradeResult{}, err
	}
	names := make([]string, len(files))
	for i := range names {
		names[i] = fdListen
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	add := func(name string, ln interface{ File() (*os.File, error) }) error {
		f, err := ln.File()
		if err == nil {
			files, names = append(files, f), append(names, name)
		}
		return err
	}
	if u.ep != nil {
		if err := add(fdControl, u.ep); err != nil {
			return control.UpgradeResult{}, err
		}
	}
	if tl, ok := u.metrics.(*net.TCPListener); ok {
		if err := add(fdMetrics, tl); err != nil {
			return control.UpgradeResult{}, err
		}
	}
	wait := req.ReadyTimeout
	if wait <= 0 {
		wait = defaultReadyTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	pid, err := activation.Start(ctx, activation.Child{Path: bin, Args: os.Args[1:], Files: files, Names: names})
	if err != nil {
		return control.UpgradeResult{}, err
	}
	// The new process accepts on the same sockets; from here on it alone
	// does. Connections in the backlog are its to take.
	u.srv.StopAccepting()
	u.upgraded = true
	if _, err := activation.NotifySupervisor(fmt.Sprintf("MAINPID=%d", pid)); err != nil {
		// Keep going: only the supervisor's view of the service is wrong.
		fmt.Fprintf(os.Stderr, "proactor: telling the supervisor the new main process: %v\n", err)
	}
	res := control.UpgradeResult{Binary: bin, PID: pid, OldPID: os.Getpid()}
	u.done <- res
	return res, nil
}

// drain runs in the old process after an upgrade: the control and metrics
// endpoints are the new process's now, and the connections open here end
// on their own, within drain; the graceful shutdown then closes what is
// left. A signal (systemd stopping the service) cuts the wait short.
func (u *upgrader) drain(res control.UpgradeResult, drain time.Duration, sigc <-chan os.Signal, stdout io.Writer) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ep != nil {
		u.ep.Handover()
	}
	if u.ms != nil {
		u.ms.Close() // this process's descriptor only: the new one serves the socket
	}
	fmt.Fprintf(stdout, "proactor: upgraded: pid %d (%s) accepts now; draining %s for up to %v\n",
		res.PID, res.Binary, plural(u.srv.ConnCount(), "connection"), drain)
	deadline := time.NewTimer(drain)
	defer deadline.Stop()
	// The server has no event for its last connection short of
	// Shutdown, which would close the busy ones too: look every 50ms.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for u.srv.ConnCount() > 0 {
		select {
		case <-tick.C:
		case <-deadline.C:
			return
		case <-sigc:
			return
		}
	}
}

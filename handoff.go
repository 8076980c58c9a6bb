package proactor

import (
	"fmt"
	"net"
	"os"

	"github.com/seed487d475b/proactor/internal/unixsock"
)

// AddListener starts accepting on ln, a listener opened elsewhere: one
// inherited from systemd's socket activation or from the process being
// upgraded (package activation), or one the caller made itself. It does
// not block; the server owns ln from then on and closes it when it stops
// (on a failure too). opts override the server's options for this
// listener, as for Listen.
//
// With WithReusePort, ln is taken as one socket of a SO_REUSEPORT group:
// each is placed on the next loop, which keeps what it accepts, so adding
// a group's sockets one by one spreads them over the loops.
func (s *Server) AddListener(ln net.Listener, opts ...Option) error {
	_, err := s.start(ln, opts, nil)
	return err
}

// StopAccepting stops accepting on every listener, for good, without
// closing the listening sockets: connections the kernel has queued stay
// in the backlog for another process that shares the sockets (the new
// binary of a zero-downtime upgrade) to accept. Sockets accepted before
// the stop took effect, and those a Pause holds, are served. On io_uring
// these include the connections whose kernel wake-up the cancelled
// accepts may have taken (one per accept with WithAcceptBatch, otherwise
// those queued when the multishot accept ended): the other process would
// not hear of them until the next connection came, so this one accepts
// and serves them; the rest of the backlog is the other's. Open
// connections go on; Shutdown then drains them, and closes this
// process's descriptors of the sockets, which resets nothing while
// another process holds them (nor removes a unix socket's file). Listeners
// started afterwards do not accept either. It returns once every listener has stopped; it must not be
// called from a callback.
func (s *Server) StopAccepting() {
	s.mu.Lock()
	s.acceptStopped.Store(true)
	lns := append([]*listener(nil), s.listeners...)
	s.mu.Unlock()
	for _, x := range lns {
		// A stopped engine has closed its listeners already.
		_ = x.loop.call(func() {
			// The path names the socket the other process serves now.
			switch ul := x.ln.(type) {
			case *unixsock.Listener: // Listen("unix:PATH")
				ul.Keep()
			case *net.UnixListener:
				ul.SetUnlinkOnClose(false)
			}
			x.setAccepting(false)
			held := x.held
			x.held = nil
			for _, sk := range held {
				x.dispatch(sk)
			}
		})
	}
}

// AcceptStopped reports whether StopAccepting has been called.
func (s *Server) AcceptStopped() bool { return s.acceptStopped.Load() }

// ListenerFiles returns a duplicate of each listening socket, in the order
// the listeners were started (the sockets of a WithReusePort listener one
// after another), for a new process to inherit: package activation hands
// them over as systemd does. The caller closes the files; the sockets stay
// open for the server meanwhile. Pass the descriptors on without
// os.File.Fd, which would switch the socket, shared with this process, to
// blocking mode.
func (s *Server) ListenerFiles() ([]*os.File, error) {
	s.mu.Lock()
	lns := append([]*listener(nil), s.listeners...)
	s.mu.Unlock()
	files := make([]*os.File, 0, len(lns))
	for _, x := range lns {
		fl, ok := x.ln.(interface{ File() (*os.File, error) })
		var f *os.File
		err := fmt.Errorf("proactor: a %T cannot be handed over", x.ln)
		if ok {
			f, err = fl.File()
		}
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

package proactor

import (
	"errors"
	"fmt"

	"github.com/seed487d475b/proactor/internal/driver"
)

// Errors reported by proactor. They are sentinels: compare with errors.Is, as
// the error given to OnClose or returned by an operation may wrap them.
var (
	// ErrClosed is returned by writes and close operations on a connection
	// that is closed, or whose write side is shut down or being closed.
	ErrClosed = errors.New("proactor: connection closed")
	// ErrAborted is the OnClose reason of a connection ended by Abort.
	ErrAborted = errors.New("proactor: connection aborted")
	// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown
	// or Close, and is the OnClose reason of connections that Close aborted.
	ErrServerClosed = errors.New("proactor: server closed")
	// ErrEngineClosed is returned when the engine a server or call depends on
	// is closed, and is the OnClose reason of connections it ended.
	ErrEngineClosed = errors.New("proactor: engine closed")
	// ErrPanic is matched by the OnClose reason of a connection whose
	// callback panicked; the error is a *PanicError.
	ErrPanic = errors.New("proactor: handler panicked")
	// ErrShutdownTimeout is the OnClose reason of connections that Shutdown
	// aborted because its context ended first.
	ErrShutdownTimeout = errors.New("proactor: aborted by shutdown deadline")
	// ErrQueueFull is returned by a write that would take a connection's
	// queued output over WithMaxWriteQueue.
	ErrQueueFull = errors.New("proactor: write queue full")
	// ErrNotOpen is returned by a write to a TLS connection whose
	// handshake is not done (OnOpen has not run): a Broadcast, say.
	ErrNotOpen = errors.New("proactor: connection not open yet")
	// ErrBadOptions is returned by NewEngine, NewServer, NewClient,
	// NewPacketServer, Listen, Serve and AddListener for options that clash
	// or an option given where it cannot apply; the message says which.
	ErrBadOptions = errors.New("proactor: options clash")
	// ErrReusePort is returned by Serve given WithReusePort, which only
	// Listen can honour (it opens the sockets itself), and by Listen for a
	// reuse-port address the server listens on already.
	ErrReusePort = errors.New("proactor: WithReusePort needs Listen, once per address")
	// ErrUnknownEngine is returned for an engine name proactor does not have.
	ErrUnknownEngine = errors.New("proactor: unknown engine")
	// ErrEngineUnsupported is returned for an engine this platform or kernel
	// cannot run, such as epoll outside Linux.
	ErrEngineUnsupported = driver.ErrUnsupported
)

// PanicError is the OnClose reason of a connection whose callback panicked.
// It matches ErrPanic with errors.Is.
type PanicError struct {
	Callback string // OnOpen, OnData, OnPeerClosed, ...
	Value    any    // what was passed to panic
	Stack    []byte // the goroutine's stack at the panic
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("proactor: panic in %s: %v", e.Callback, e.Value)
}

// Is reports whether target is ErrPanic.
func (e *PanicError) Is(target error) bool { return target == ErrPanic }

// ShutdownError is what Shutdown returns when its context ended before
// every connection had closed: the ones left were aborted.
type ShutdownError struct {
	Err     error // the context's error
	Aborted int   // connections aborted at the deadline
	Owing   int   // of those, connections with bytes queued, input unanswered or a frame begun
}

func (e *ShutdownError) Error() string {
	return fmt.Sprintf("proactor: shutdown deadline passed: %d connections aborted, %d of them owing their peer a reply or queued bytes: %v",
		e.Aborted, e.Owing, e.Err)
}

// Unwrap returns the context's error, so errors.Is finds
// context.DeadlineExceeded or context.Canceled.
func (e *ShutdownError) Unwrap() error { return e.Err }

// Package driver is the contract between proactor's connection state machine
// and an I/O engine.
//
// The contract is proactor-shaped: the state machine submits operations
// (listen, attach, read on/off, write, shutdown, close) and the engine reports
// their completions (accepted, read, wrote, hangup) through a Sink. An engine
// holds system calls and the bookkeeping they need, nothing else: no framing,
// no callbacks into user code, no policy (timeouts, limits, close sequencing,
// holding input back: see SetReading below).
//
// Threading: a Poller belongs to one loop goroutine. Every method except Wake
// is called from that goroutine only, and every Sink method is called from
// inside Poll on that goroutine. Wake may be called from any goroutine.
//
// Tokens: the state machine names each connection and listener with a Token
// (a slot index plus a generation). Engines put tokens, never Go pointers, into
// kernel-visible data (epoll_data, io_uring user_data), and drop a completion
// whose token generation no longer matches the slot: a stale event for a
// descriptor number that has since been reused never reaches a new connection.
//
// Operations and their completions:
//
//   - Listen(t, ln, o): accepted sockets, with the options o set, are
//     reported as Accepted(t, sock), accept failures (EMFILE, ENFILE, ...)
//     as AcceptFailed(t, err). SetAccepting pauses and resumes accepting;
//     the socket stays bound and the kernel's backlog keeps queueing.
//     Sockets accepted before a pause took effect are still reported, and
//     an engine whose accepts wait exclusively (io_uring) may report a
//     bounded number more once its cancelled accepts complete: the
//     connections whose wake-ups they may have swallowed, which another
//     process sharing the socket would otherwise not hear of. Unlisten
//     closes the engine's descriptor (on io_uring once the cancelled
//     accepts complete, after the same bounded drain, whose connections
//     the engine itself closes in order); no completion carries t after it.
//   - Attach(t, sock): the engine takes the socket and starts reading. Each
//     read is reported as Read(t, p, nil) where p is valid only until Read
//     returns (it lies in a buffer the engine reuses). End of stream is
//     Read(t, nil, io.EOF); a read error is Read(t, nil, err). After either,
//     reading is off until SetReading(t, true).
//   - SetReading(t, false) stops reading: no new read is started, and one
//     in flight is cancelled where it can be (io_uring's multishot receive)
//     or interrupted (std's blocking read). What such a read brought before
//     the stop took effect is still reported, a bounded amount: the engine
//     delivers every read it completes and holds none back. Holding input
//     is policy, the state machine's: its inbox (the root package's
//     inbox.go) keeps what arrives while it does not want input, what
//     passes its read budget per loop iteration (fairness between
//     connections), and a partial frame, in one place.
//   - Write(t, iov): the whole iovec list is written. If the engine finishes
//     at once it returns pending == false with the count (the inline
//     completion, like IOCP's skip-completion-port-on-success); otherwise it
//     returns pending == true and reports Wrote(t, n, err) later. The memory
//     behind iov must stay untouched and referenced until the op completes.
//     One write is in flight per connection at a time.
//   - Connect(t, addr, o): a non-blocking connect of a socket with the
//     options o. It fails inline when the connect fails at once; otherwise
//     Connected(t, sock, err) follows:
//     on success the socket is attached and reading (as after Attach), on
//     failure the engine has already released it. Close(t, true) while
//     connecting cancels it, and no Connected follows.
//   - Hangup(t, err): the socket was reset or shut down in both directions
//     while the engine was neither reading nor writing it; err is the socket
//     error, or nil for an orderly hangup.
//   - Shutdown(t) sends FIN; Close(t, abort) releases the socket (abort: RST
//     through SO_LINGER 0) and drops any pending write. Both complete inline;
//     after Close no completion carries t.
package driver

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"time"
)

// ErrUnsupported reports an engine that this platform or kernel cannot run.
var ErrUnsupported = errors.New("proactor: engine not supported on this platform")

// Token names a connection or a listener: a slot index and a generation.
type Token uint64

// genMask keeps generations in 31 bits so that engines can store them in a
// signed 32-bit field and keep negative values for their own markers.
const genMask = 1<<31 - 1

// MakeToken builds a token from a slot and a generation (31 bits are kept).
func MakeToken(slot, gen uint32) Token {
	return Token(uint64(gen&genMask)<<32 | uint64(slot))
}

// Slot returns the slot index of t.
func (t Token) Slot() uint32 { return uint32(t) }

// Gen returns the generation of t.
func (t Token) Gen() uint32 { return uint32(t>>32) & genMask }

// Sock is an accepted socket on its way from a listener to the loop that
// will own it. Which field is set depends on the engine: FD for engines on
// raw descriptors, Conn for the portable engine.
type Sock struct {
	FD    int
	Conn  net.Conn
	Peer  netip.AddrPort
	Local netip.AddrPort
}

// Sink receives completions. Its methods run on the loop goroutine, inside
// Poll. They may call Poller methods, including Close on the token at hand.
type Sink interface {
	// Awake is called once per Poll, when the wait is over and before any
	// completion is delivered: from here on the loop is not asleep.
	Awake()
	Accepted(ln Token, s Sock)
	AcceptFailed(ln Token, err error)
	Read(t Token, p []byte, err error)
	Wrote(t Token, n int, err error)
	Hangup(t Token, err error)
	Connected(t Token, s Sock, err error)
}

// Config is what a loop asks of its poller.
type Config struct {
	// ReadBufferSize is the size of the loop's read buffer, shared by every
	// connection of the loop.
	ReadBufferSize int
}

// SockOptions are the TCP options an engine sets on every socket it
// accepts for a listener or connects. The state machine chooses them; the
// engine sets them where it makes the socket.
type SockOptions struct {
	// NoDelay turns Nagle's algorithm off (TCP_NODELAY).
	NoDelay bool
	// KeepAlive, when positive, turns TCP keepalive on: the first probe
	// after KeepAlive without traffic, then one every KeepAlive, and the
	// connection dropped after KeepAliveProbes unanswered (Go's net.Dialer
	// and net.ListenConfig make the same calls). Zero or less: off.
	KeepAlive time.Duration
	// AcceptBatch, for Listen, bounds the connections one readiness of
	// the listener brings (the seeds' number of posted accepts): epoll
	// accepts at most that many per readiness event, io_uring keeps that
	// many single-shot accepts posted instead of a multishot one, and the
	// portable engine accepts at most that many ahead of the loop. Zero or
	// less: the engine's default (epoll 64; io_uring one multishot accept;
	// std no bound).
	AcceptBatch int
	// Local, for Connect, is the address to bind before connecting; the
	// zero value lets the kernel choose (a zero port: any free port).
	Local netip.AddrPort
}

// KeepAliveProbes is the count of unanswered keepalive probes that drop a
// connection: Linux's default, and the one Go's net package sets.
const KeepAliveProbes = 9

// Poller is one loop's view of an engine. See the package doc for the
// threading rules and the meaning of each operation.
type Poller interface {
	Listen(t Token, ln net.Listener, o SockOptions) error
	SetAccepting(t Token, on bool) error
	Unlisten(t Token) error

	Attach(t Token, s Sock) error
	Connect(t Token, addr netip.AddrPort, o SockOptions) error
	// Discard closes a socket that was never attached, with a reset.
	Discard(s Sock)
	SetReading(t Token, on bool) error
	Write(t Token, iov [][]byte) (n int, pending bool, err error)
	// SendFile sends n bytes of f from off, with the kernel's zero-copy
	// call where there is one; it completes like Write (inline, or Wrote
	// later), and f must stay open until then.
	SendFile(t Token, f *os.File, off int64, n int) (written int, pending bool, err error)
	Shutdown(t Token) error
	Close(t Token, abort bool) error

	// Poll waits up to timeout (forever if negative) for completions and
	// delivers them to s. It returns early when Wake is called.
	Poll(timeout time.Duration, s Sink) error
	// Wake makes a current or the next Poll return. Safe from any goroutine.
	Wake() error
	// Release frees the poller's own resources. Sockets still attached are
	// closed abortively.
	Release() error
}

// TryWriter is what a Poller offers when it can write inline: TryWrite
// writes what the socket takes at once and returns that count, keeping no
// reference to iov after it returns (a full socket is not an error: n is
// what went). No write of the connection may be pending. The state machine
// uses it to send bytes that are valid only for the length of a callback
// (the read buffer an echo answers from) without copying them first.
type TryWriter interface {
	TryWrite(t Token, iov [][]byte) (n int, err error)
}

// Unsender is what a Poller offers when it can tell how much of a TCP
// connection's output the kernel has not sent yet, our FIN included
// (SIOCOUTQNSD): what the peer's full receive window holds back. The end
// of Shutdown's short linger asks it (Conn.timerFired).
type Unsender interface {
	Unsent(t Token) int
}

// Driver makes pollers, one per loop.
type Driver interface {
	Name() string
	NewPoller(cfg Config) (Poller, error)
	// Adopt turns a connected socket of Go's net package (a unix socket a
	// Client dialed, say) into a Sock that a Poller can Attach; c belongs
	// to the result from then on. Safe from any goroutine.
	Adopt(c net.Conn) (Sock, error)
}

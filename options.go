package proactor

import (
	"crypto/tls"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"

	"github.com/seed487d475b/proactor/buffer"
	"github.com/seed487d475b/proactor/codec"
	"github.com/seed487d475b/proactor/workers"
	"runtime"
	"time"
)

// Option configures an Engine, a Server, one of its listeners, a Client or
// a PacketServer. Each option says where it applies, and one given where it
// cannot (WithMaxConns to Listen, WithConnectTimeout to a Server, an engine
// option beside WithEngine, which supplies a made engine) makes the call
// fail with ErrBadOptions naming it, rather than being ignored. NewServer
// takes the server's, the engine's and the listeners' (its defaults for
// them); Listen, Serve and AddListener the listeners'; NewClient and Dial
// the client's, the engine's and the connections'; NewPacketServer its own
// and the engine's.
type Option func(*config)

// scope is where an option applies: a set of the places below.
type scope uint8

const (
	onEngine   scope = 1 << iota // NewEngine, or a private engine (no WithEngine)
	onServer                     // NewServer: server-wide
	onListener                   // Listen, Serve, AddListener; NewServer as their default
	onClient                     // NewClient, Dial
	onPacket                     // NewPacketServer
)

// given is an option that was applied: its name and where it applies.
type given struct {
	name  string
	where scope
}

// scoped makes the option name, which applies where, out of f.
func scoped(name string, where scope, f func(*config)) Option {
	return func(c *config) {
		c.given = append(c.given, given{name, where})
		f(c)
	}
}

// apply applies opts to c and checks that each applies to what (a call's
// name) at places: an option that cannot is ErrBadOptions.
func (c *config) apply(opts []Option, what string, places scope) error {
	from := len(c.given)
	for _, o := range opts {
		o(c)
	}
	c.noteTimeouts()
	if c.engine != nil {
		places &^= onEngine // a made engine is configured already
	}
	for _, g := range c.given[from:] {
		if g.where&places != 0 {
			continue
		}
		why := "it does not apply there"
		switch {
		case g.where == onEngine && c.engine != nil:
			why = "it configures an engine, and WithEngine supplies one made already: give it to NewEngine"
		case g.where&(onServer|onListener) == onServer && places&onListener != 0:
			why = "it is server-wide: give it to NewServer"
		case g.where&onClient != 0:
			why = "it applies to a Client's connections: give it to NewClient or Dial"
		case g.where&onListener != 0:
			why = "it applies to accepted connections: give it to NewServer or Listen"
		}
		return fmt.Errorf("%w: %s given to %s: %s", ErrBadOptions, g.name, what, why)
	}
	return nil
}

type config struct {
	engine     *Engine
	engineName string
	loops      int
	readBuf    int
	busyPoll   time.Duration // WithBusyPoll; 0: off
	logger     *slog.Logger
	linger     time.Duration

	timeouts    timeouts
	timed       bool // a timeout of an open connection is set (first-data, idle, read, write): see noteTimeouts
	maxConns    int
	maxPerIP    int
	allow, deny []netip.Prefix
	deferAccept bool
	deferHeld   time.Duration // how long the kernel holds a silent connection (setDeferAccept)
	keepAlive   time.Duration // 0: defaultKeepAlive; negative: off
	nagle       bool          // TCP_NODELAY off
	writeHigh   int
	writeLow    int
	writeMax    int
	framer      codec.Framer
	noReadPause bool
	balance     LoadBalance
	reusePort   bool
	tls         *tls.Config
	tlsMax      int

	workerPool  *workers.Pool  // WithWorkerPool: its jobs counted in Stats
	dumpBad     int            // WithDumpBadFrames: bytes of a refused frame shown
	acceptBatch int            // WithAcceptBatch; 0: the engine's default
	localAddr   netip.AddrPort // WithLocalAddr: bound before a Client dials
	bufPool     *buffer.Pool   // WithBufferPool
	connPool    int            // WithConnPool: ended Conns kept per loop
	bufOpts     []buffer.Option
	trimEvery   time.Duration // WithTrimInterval; 0: trimEvery, negative: never
	unixMode    fs.FileMode   // WithUnixSocketMode
	unix        bool          // a unix socket's listener (noteUnix)
	unixPath    string
	proxy       bool    // WithProxyProtocol
	packetSize  int     // WithPacketSize (packet.go)
	given       []given // the options applied, for apply's check

	// The owner's, set by owner.init on its configuration and copied
	// with it into its listeners': a Conn reaches its owner through its
	// configuration, and the message path its handler and its stats in
	// as many loads as through a pointer of its own (which would cost
	// every Conn 8 bytes: "Memory per connection").
	owner   *owner
	handler Handler
	stats   []statShard
}

// highWater is the high watermark alone (watermarks' first result), for
// the write path, which needs no more.
func (c *config) highWater() int {
	if c.writeHigh <= 0 {
		return defaultWriteHigh
	}
	return c.writeHigh
}

// noteTimeouts records whether any timeout of an open connection is set,
// so that rearm, on the message path, looks at one flag rather than four
// settings. Called wherever the settings change.
func (c *config) noteTimeouts() {
	to := &c.timeouts
	c.timed = to[FirstDataTimeout]|to[IdleTimeout]|to[ReadTimeout]|to[WriteTimeout] != 0
}

// Write-queue defaults: above 1 MiB queued a connection stops being read,
// below a quarter of that it reads again.
const defaultWriteHigh = 1 << 20

func (c *config) watermarks() (high, low int) {
	high = c.highWater()
	low = c.writeLow
	if low <= 0 || low > high {
		low = high / 4
	}
	return high, low
}

// defaultReadSize is the most one read brings unless WithReadBufferSize
// says otherwise (the largest of the engines' defaults).
const defaultReadSize = 64 << 10

func (c *config) readSize() int {
	if c.readBuf > 0 {
		return c.readBuf
	}
	return defaultReadSize
}

// checkWriteCap refuses a write cap that ordinary flow would hit. Above the
// high watermark a connection stops being read, but the read that crossed
// it has been delivered already, and its reply may be as large: a cap
// below high watermark plus one read (read bytes) would abort an echo that
// merely has a slow peer.
func (c *config) checkWriteCap(read int) error {
	if c.writeMax <= 0 || c.noReadPause {
		return nil // a relay (WithReadPause(false)) manages its input itself
	}
	high, _ := c.watermarks()
	if c.writeMax < high+read {
		return fmt.Errorf("%w: WithMaxWriteQueue(%d) is below the high watermark (%d) plus one read (%d): "+
			"ordinary backpressure would hit the cap; raise the cap to at least %d or lower the watermarks",
			ErrBadOptions, c.writeMax, high, read, high+read)
	}
	return nil
}

func (c *config) loopCount() int {
	if c.loops > 0 {
		return c.loops
	}
	return runtime.GOMAXPROCS(0)
}

func (c *config) log() *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	return slog.Default()
}

func (c *config) lingerTime() time.Duration {
	switch {
	case c.linger < 0:
		return 0
	case c.linger == 0:
		return 5 * time.Second
	}
	return c.linger
}

// WithEngine makes a server run on a shared engine instead of a private one.
// Several servers may share one engine; closing a server leaves a shared
// engine running.
func WithEngine(e *Engine) Option {
	return scoped("WithEngine", onServer|onClient|onPacket, func(c *config) { c.engine = e })
}

// WithEngineName selects the I/O engine: "epoll" (Linux), "uring" (Linux
// with io_uring; fails with ErrEngineUnsupported where the kernel, a
// sysctl or seccomp forbids it), "std" (Go's net package, everywhere), or
// "auto", the default: epoll where it exists, std elsewhere. See
// docs/ARCHITECTURE.md for what each guarantees.
func WithEngineName(name string) Option {
	return scoped("WithEngineName", onEngine, func(c *config) { c.engineName = name })
}

// LoadBalance is how a server spreads the connections it accepts over the
// engine's loops.
type LoadBalance int

const (
	// RoundRobin gives each new connection to the next loop in turn.
	RoundRobin LoadBalance = iota
	// LeastConnections gives each new connection to the loop that holds
	// the fewest, which keeps the loops even when connections live for
	// very different times.
	LeastConnections
)

// WithLoadBalance sets how accepted connections are spread over the loops.
// Default: RoundRobin. A WithReusePort listener keeps its connections on
// its own loop instead.
func WithLoadBalance(b LoadBalance) Option {
	return scoped("WithLoadBalance", onListener, func(c *config) { c.balance = b })
}

// WithReusePort makes Listen open one listening socket per loop on the same
// address (SO_REUSEPORT), each accepting for its own loop: the kernel
// spreads new connections over the sockets, and none is handed from one
// loop to another, so WithLoadBalance does not apply. It needs a kernel
// that spreads a reuse-port group's connections (Linux, DragonFly, FreeBSD
// with SO_REUSEPORT_LB); elsewhere Listen fails with errors.ErrUnsupported.
// Serve, which is given one listener, refuses it (ErrReusePort), as Listen
// does a second time on one address.
//
// The port is then not exclusive: another process of the same user that
// also sets SO_REUSEPORT can bind it and take a share of the connections
// (a plain bind still fails with EADDRINUSE). Default: off (one socket, on
// one loop, which hands connections to the others).
func WithReusePort(on bool) Option {
	return scoped("WithReusePort", onListener, func(c *config) { c.reusePort = on })
}

// WithLoops sets the number of event loops, each a goroutine owning its
// connections. The default is runtime.GOMAXPROCS(0).
func WithLoops(n int) Option { return scoped("WithLoops", onEngine, func(c *config) { c.loops = n }) }

// WithBusyPoll makes each loop poll its engine without blocking, for up
// to d after the last completion it delivered, before it goes to sleep in
// the engine's wait: a completion that comes within d is picked up without
// the wake-up of a sleeping loop (on epoll: Go's network poller waking the
// loop goroutine; on io_uring, a blocking io_uring_enter). It is
// the loop's version of Go's scheduler spinning before it sleeps in
// epoll_wait, or of SO_BUSY_POLL. It costs CPU: a loop that saw traffic
// within d spins for the rest of d. An idle loop never spins: once d has
// passed since the last completion, the loop sleeps as without the option.
// Worth it only where the loop's CPU is not saturated and latency to wake
// matters (a closed-loop load of small requests on few cores); d of
// 20-50µs is the usual range. Default 0: off.
func WithBusyPoll(d time.Duration) Option {
	return scoped("WithBusyPoll", onEngine, func(c *config) { c.busyPoll = d })
}

// WithReadBufferSize sets the size of the read buffer, the most one OnData
// call receives. On epoll the buffer belongs to the loop (default 64 KiB),
// so an idle connection holds none; on std each connection's reader holds
// one (default 16 KiB).
func WithReadBufferSize(n int) Option {
	return scoped("WithReadBufferSize", onEngine, func(c *config) { c.readBuf = n })
}

// WithLogger sets the logger for panics and engine errors. The default is
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return scoped("WithLogger", onEngine|onServer|onClient|onPacket, func(c *config) { c.logger = l })
}

// WithLinger bounds the lingering close: after Close has sent every queued
// byte and a FIN, the connection keeps reading (and discarding) until the
// peer's FIN or this long, so that closing with unread input does not turn
// into a reset that destroys the reply in flight. The default is 5s; a
// negative value closes at once after the FIN.
func WithLinger(d time.Duration) Option {
	return scoped("WithLinger", onListener|onClient, func(c *config) { c.linger = d })
}

// WithFirstDataTimeout closes a connection that sends nothing for d after
// it was accepted (the AcceptEx denial-of-service case); on a deferred
// listener, for d after it connected (see WithDeferAccept). Default: off,
// and 30s on a deferred listener.
func WithFirstDataTimeout(d time.Duration) Option {
	return scoped("WithFirstDataTimeout", onListener|onClient, func(c *config) { c.timeouts[FirstDataTimeout] = int64(d) })
}

// WithIdleTimeout closes a connection on which nothing was read or written
// for d. The close is a FIN; the other timeouts reset. Default: off.
func WithIdleTimeout(d time.Duration) Option {
	return scoped("WithIdleTimeout", onListener|onClient, func(c *config) { c.timeouts[IdleTimeout] = int64(d) })
}

// WithReadTimeout closes a connection whose input was begun and left
// unfinished for d (slowloris): without a framer, bytes were read and the
// connection has written nothing since; with a framer, a frame was begun
// and not completed. Default: off.
func WithReadTimeout(d time.Duration) Option {
	return scoped("WithReadTimeout", onListener|onClient, func(c *config) { c.timeouts[ReadTimeout] = int64(d) })
}

// WithWriteTimeout closes a connection whose queued output has not moved
// for d: a peer that does not read. It also bounds a graceful Close's
// drain. Default: off.
func WithWriteTimeout(d time.Duration) Option {
	return scoped("WithWriteTimeout", onListener|onClient, func(c *config) { c.timeouts[WriteTimeout] = int64(d) })
}

// WithConnectTimeout bounds a Client's Dial; the error is a *TimeoutError
// of kind ConnectTimeout. A context deadline given to Dial also applies.
// Default: 30s.
func WithConnectTimeout(d time.Duration) Option {
	return scoped("WithConnectTimeout", onClient, func(c *config) { c.timeouts[ConnectTimeout] = int64(d) })
}

func (c *config) connectTimeout() int64 {
	if d := c.timeouts[ConnectTimeout]; d > 0 {
		return d
	}
	return int64(30 * time.Second)
}

// WithMaxConns caps the server's open connections; one more is reset at
// once, before OnOpen, and counted in Stats.RejectedMaxConns. Server-wide:
// refused by Listen (ErrBadOptions). Default: no cap.
func WithMaxConns(n int) Option {
	return scoped("WithMaxConns", onServer, func(c *config) { c.maxConns = n })
}

// WithMaxConnsPerIP caps the server's open connections from one IP address,
// counted in Stats.RejectedPerIP (a unix socket's peer has none and is not
// counted; behind WithProxyProtocol the header's client is). Server-wide:
// refused by Listen (ErrBadOptions). Default: no cap.
func WithMaxConnsPerIP(n int) Option {
	return scoped("WithMaxConnsPerIP", onServer, func(c *config) { c.maxPerIP = n })
}

// WithAllow admits only peers inside one of the prefixes (IPv4-mapped IPv6
// addresses are compared as IPv4). Repeated options add up. A peer without
// an IP address (a unix socket's, unless WithProxyProtocol names the
// client) is not judged by the allow and deny lists: the socket file's
// mode is its access control. Default: all.
func WithAllow(prefixes ...netip.Prefix) Option {
	return scoped("WithAllow", onListener, func(c *config) { c.allow = append(c.allow, prefixes...) })
}

// WithDeny rejects peers inside any of the prefixes, even if an allow
// prefix matches too (deny wins); counted in Stats.RejectedDenied.
func WithDeny(prefixes ...netip.Prefix) Option {
	return scoped("WithDeny", onListener, func(c *config) { c.deny = append(c.deny, prefixes...) })
}

// WithDeferAccept hands a connection over only once data has arrived
// (TCP_DEFER_ACCEPT on Linux, like AcceptEx with a receive buffer), and
// the first-data timeout (WithFirstDataTimeout, 30s when not set) bounds
// the whole life of a client that connects and sends nothing. Linux counts
// its wait in SYN-ACK retransmissions, so it holds such a client 1, 3, 7,
// 15, 31... seconds before handing it over anyway; the listener asks for
// the longest of these waits that leaves at least 250ms of the timeout, and
// after accept the connection's first-data timer runs for the rest. A
// silent client is reset about the timeout after it connected: later only
// by the kernel's timer slack (1-2% of its wait, measured), a round trip
// and the 20ms tick of the timing wheel. A timeout under 1.25s leaves no
// room for the kernel's shortest wait: the listener then does not defer
// (and logs so) and the timeout runs from accept. A no-op where
// unsupported. Default: off.
func WithDeferAccept(on bool) Option {
	return scoped("WithDeferAccept", onListener, func(c *config) { c.deferAccept = on })
}

// WithKeepAlive sets TCP keepalive on every connection a server accepts
// or a client dials, on every engine: after d without traffic the kernel
// sends a probe, then one every d, and after 9 unanswered it drops the
// connection (the calls Go's net package makes; d is rounded up to whole
// seconds). A negative d turns keepalive off; 0 means the default.
// Default: 15s, as Go's net.Dialer and net.ListenConfig.
func WithKeepAlive(d time.Duration) Option {
	return scoped("WithKeepAlive", onListener|onClient, func(c *config) { c.keepAlive = d })
}

// defaultKeepAlive is Go's own default, so that moving a server from the
// std engine to epoll or io_uring changes nothing.
const defaultKeepAlive = 15 * time.Second

// WithNoDelay sets TCP_NODELAY on every connection a server accepts or a
// client dials: on, each write leaves at once; off, Nagle's algorithm holds
// a small segment back while earlier data is unacknowledged, trading
// latency for fewer packets. Default: on, as in Go's net package.
func WithNoDelay(on bool) Option {
	return scoped("WithNoDelay", onListener|onClient, func(c *config) { c.nagle = !on })
}

// WithWriteWatermarks sets the backpressure thresholds on queued output:
// above high the connection stops being read (TCP then pushes back on the
// peer; see WithReadPause) and Writable reports false; at or below low it
// reads again and the handler's OnWritable runs.
// Defaults: 1 MiB and a quarter of high.
func WithWriteWatermarks(high, low int) Option {
	return scoped("WithWriteWatermarks", onListener|onClient, func(c *config) { c.writeHigh, c.writeLow = high, low })
}

// WithReadPause says whether a connection whose queued output passes the
// high watermark stops being read until it drains to the low one. That is
// right when reading is what produces the output (echo, request/response),
// and wrong for a relay, whose input turns into output on another
// connection: a relay turns it off and pauses the other side itself
// (Writable, OnWritable, PauseRead). Default: on.
func WithReadPause(on bool) Option {
	return scoped("WithReadPause", onListener|onClient, func(c *config) { c.noReadPause = !on })
}

// WithMaxWriteQueue is the hard cap on queued output: a Write that would
// exceed it fails with ErrQueueFull, queues nothing and aborts the
// connection (a reset; OnClose gets an error matching ErrQueueFull), since
// a stream with a hole in it is worse than a broken one. It is a guard
// against a handler whose output outruns the watermarks' backpressure, not
// a flow control: it must be at least the high watermark plus one read
// (WithReadBufferSize, default 64 KiB), or NewServer, Listen, Serve and
// NewClient fail with ErrBadOptions, unless WithReadPause(false) says the
// handler paces its input itself. Default: no cap; the watermarks keep an
// echo-style connection bounded anyway.
func WithMaxWriteQueue(n int) Option {
	return scoped("WithMaxWriteQueue", onListener|onClient, func(c *config) { c.writeMax = n })
}

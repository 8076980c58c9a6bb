package proactor

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed487d475b/proactor/buffer"
	"github.com/seed487d475b/proactor/internal/sockopt"
)

// Server accepts TCP connections on one or more listeners and runs a
// Handler on them. Its methods are safe for concurrent use; Serve,
// ListenAndServe, Listen, Shutdown and Close wait for the loops and must not
// be called from a callback (start a goroutine instead).
type Server struct {
	owner  // the handler, the engine, the connections and the stop sequence
	filter AcceptFilter
	paused atomic.Bool
	// acceptStopped is set by StopAccepting, for good (handoff.go).
	acceptStopped atomic.Bool
	adm           admission
	listeners     []*listener // guarded by mu
}

// owner is what a Server and a Client share: the one owner of their
// connections. It holds the handler and the options, the engine, the
// registry of open connections, the counters, the pool of ended Conns, and
// the stop sequence (Shutdown, Close), whose methods Server and Client both
// have from it. A Conn belongs to one owner (Conn.srv); server says whose
// it is. A Server adds listeners, accept control and admission; a Client
// adds dialing (dial.go). (Before, a Client was a Server with a flag.)
type owner struct {
	handler  Handler
	cfg      config
	eng      *Engine
	ownsEng  bool
	log      *slog.Logger
	stats    []statShard // one per loop
	registry registry
	connPool [][]*Conn // WithConnPool: ended Conns per loop, each owned by its loop
	started  time.Time // when NewServer or NewClient made it
	server   *Server   // the Server this is part of; nil for a Client's
	oneShot  bool      // Dial's private client: closes once its connection has
	// handshakes counts the TLS handshakes running (WithTLSHandshakeLimit).
	handshakes atomic.Int64

	mu       sync.Mutex
	stopping bool          // Shutdown or Close has begun: no new connections
	nconns   int           // tracked connections
	idle     chan struct{} // closed when stopping and nconns reaches 0
	done     chan struct{} // closed when it has stopped
	stopOnce sync.Once
}

// NewServer returns a server running h. Without WithEngine it starts a
// private engine configured by opts, which it closes when it stops.
func NewServer(h Handler, opts ...Option) (*Server, error) {
	s := &Server{}
	s.server = s
	if err := s.init(h, opts, "NewServer", onEngine|onServer|onListener); err != nil {
		return nil, err
	}
	s.filter, _ = h.(AcceptFilter)
	return s, nil
}

// init makes o a Server's or a Client's owner (what and places: see
// config.apply).
func (o *owner) init(h Handler, opts []Option, what string, places scope) error {
	var cfg config
	if err := cfg.apply(opts, what, places); err != nil {
		return err
	}
	read := cfg.readSize()
	if cfg.engine != nil {
		read = cfg.engine.read
	}
	if err := cfg.checkWriteCap(read); err != nil {
		return err
	}
	o.handler, o.cfg, o.log, o.done, o.started = h, cfg, cfg.log(), make(chan struct{}), time.Now()
	o.eng = cfg.engine
	if o.eng == nil {
		e, err := newEngine(&cfg)
		if err != nil {
			return err
		}
		o.eng, o.ownsEng = e, true
	}
	if o.eng.closed.Load() {
		return ErrEngineClosed
	}
	o.stats = make([]statShard, len(o.eng.loops))
	o.cfg.owner, o.cfg.handler, o.cfg.stats = o, h, o.stats
	if cfg.connPool > 0 {
		o.connPool = make([][]*Conn, len(o.eng.loops))
	}
	return nil
}

// Done returns a channel that is closed once the server (or client) has
// stopped, after Shutdown or Close.
func (s *owner) Done() <-chan struct{} { return s.done }

// Started returns when the server or client was made (NewServer,
// NewClient), for its uptime.
func (s *owner) Started() time.Time { return s.started }

// Engine returns the engine the server (or client) runs on.
func (s *owner) Engine() *Engine { return s.eng }

// Listen starts accepting on a TCP address such as "127.0.0.1:0", or on a
// unix stream socket named "unix:/path" (see WithUnixSocketMode), and
// returns the bound address. It does not block; call it once per address. Options
// given here override the server's for connections from this listener
// (timeouts, allow and deny lists, deferred accept, write queue limits);
// an engine option or a server-wide one fails with ErrBadOptions.
//
// With WithReusePort it opens one socket per loop on the address, each
// accepting for its own loop; the address returned (and in Addrs) is the
// one they share.
func (s *Server) Listen(addr string, opts ...Option) (net.Addr, error) {
	if path, ok := isUnixAddr(addr); ok {
		return s.listenUnix(path, opts)
	}
	cfg, err := s.listenConfig(opts)
	if err != nil {
		return nil, err
	}
	if cfg.reusePort {
		return s.listenReusePort(addr, opts)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if _, err := s.start(ln, opts, nil); err != nil {
		return nil, err
	}
	return ln.Addr(), nil
}

// listenReusePort opens one SO_REUSEPORT socket per loop on addr and
// starts each on its loop; on a failure it closes what it opened. (If a
// later socket fails to start, which happens only as the server or engine
// stops, connections the earlier ones accepted meanwhile stay open.)
func (s *Server) listenReusePort(addr string, opts []Option) (net.Addr, error) {
	lc := net.ListenConfig{Control: sockopt.ReusePort}
	loops := s.eng.loops
	lns := make([]net.Listener, 0, len(loops))
	for range loops {
		ln, err := lc.Listen(context.Background(), "tcp", addr)
		if err == nil && len(lns) == 0 && slices.ContainsFunc(s.Addrs(), func(a net.Addr) bool { return a.String() == ln.Addr().String() }) {
			// SO_REUSEPORT let the bind through; a second group on one
			// address would only split the first's traffic.
			ln.Close()
			err = fmt.Errorf("%w: %s", ErrReusePort, addr)
		}
		if err != nil {
			for _, ln := range lns {
				ln.Close()
			}
			return nil, err
		}
		lns = append(lns, ln)
		addr = ln.Addr().String() // port 0: the others take the port the first got
	}
	started := make([]*listener, 0, len(lns))
	for i, ln := range lns {
		x, err := s.start(ln, opts, loops[i])
		if err != nil { // start closed ln
			for _, ln := range lns[i+1:] {
				ln.Close()
			}
			for _, x := range started {
				s.stopListener(x)
			}
			return nil, err
		}
		started = append(started, x)
	}
	return lns[0].Addr(), nil
}

// listenConfig is the server's configuration with a listener's options,
// or why they clash.
func (s *Server) listenConfig(opts []Option) (config, error) {
	cfg := s.cfg
	cfg.given = nil // the server's were checked; never append to its array
	if err := cfg.apply(opts, "Listen", onListener); err != nil {
		return cfg, err
	}
	return cfg, cfg.checkWriteCap(s.eng.read)
}

// Serve accepts connections on ln, a TCP or unix stream listener, and blocks
// until the server stops. The server owns ln from then on and closes it. It
// returns ErrServerClosed after Shutdown or Close. opts override the
// server's options for this listener, as for Listen.
func (s *Server) Serve(ln net.Listener, opts ...Option) error {
	cfg, err := s.listenConfig(opts)
	if err == nil && cfg.reusePort {
		err = ErrReusePort
	}
	if err != nil {
		ln.Close()
		return err
	}
	if _, err := s.start(ln, opts, nil); err != nil {
		return err
	}
	<-s.done
	return ErrServerClosed
}

// ListenAndServe listens on addr and serves until the server stops; it
// returns ErrServerClosed after Shutdown or Close.
func (s *Server) ListenAndServe(addr string, opts ...Option) error {
	if _, err := s.Listen(addr, opts...); err != nil {
		return err
	}
	<-s.done
	return ErrServerClosed
}

// start registers ln on loop l (nil: the next loop). On failure ln is
// closed: the server owns it either way.
func (s *Server) start(ln net.Listener, opts []Option, l *loop) (*listener, error) {
	cfg, err := s.listenConfig(opts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	cfg.noteListener(ln)
	if err := setDeferAccept(ln, &cfg, s.log); err != nil {
		ln.Close()
		return nil, err
	}
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		ln.Close()
		return nil, ErrServerClosed
	}
	if l == nil {
		l = s.eng.pick()
	}
	x := &listener{srv: s, ln: ln, loop: l, cfg: &cfg}
	s.listeners = append(s.listeners, x)
	s.mu.Unlock()
	if cerr := l.call(func() { err = l.listen(x) }); cerr != nil {
		err = cerr
	}
	if err != nil {
		s.mu.Lock()
		s.listeners = removeListener(s.listeners, x)
		s.mu.Unlock()
		ln.Close()
		return nil, err
	}
	return x, nil
}

// stopListener closes a started listener and forgets it.
func (s *Server) stopListener(x *listener) {
	_ = x.loop.call(x.unlisten)
	s.mu.Lock()
	s.listeners = removeListener(s.listeners, x)
	s.mu.Unlock()
}

func removeListener(ls []*listener, x *listener) []*listener {
	for i, y := range ls {
		if y == x {
			return append(ls[:i], ls[i+1:]...)
		}
	}
	return ls
}

// Addrs returns the addresses the server listens on, each once (the
// sockets of a WithReusePort listener share theirs).
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	addrs := make([]net.Addr, 0, len(s.listeners))
	for _, x := range s.listeners {
		a := x.ln.Addr()
		if !slices.ContainsFunc(addrs, func(b net.Addr) bool { return b.String() == a.String() }) {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// Pause stops accepting. Listening sockets stay bound, so new connection
// attempts wait in the kernel's backlog (or time out there) until Resume;
// open connections are not affected. Connections an engine had accepted
// when the Pause took effect are held, unopened, and opened at Resume:
// those std's accept goroutine had taken ahead of the loop, and on
// io_uring also those a cancelled accept may have taken the kernel's
// wake-up for, which it accepts from the backlog so that another process
// waiting on the same socket does not miss them: one per accept with
// WithAcceptBatch, otherwise those queued when its multishot accept ended
// (docs/ARCHITECTURE.md). Everything after that waits in the backlog.
func (s *Server) Pause() { s.setPaused(true) }

// Resume accepts again after Pause, starting with the connections Pause
// held and those waiting in the backlog.
func (s *Server) Resume() { s.setPaused(false) }

// Paused reports whether accepting is paused: Pause has been called and
// Resume not since. The listeners' loops apply a Pause as soon as they run,
// so an accept already under way may still complete just after it.
func (s *Server) Paused() bool { return s.paused.Load() }

func (s *Server) setPaused(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paused.Store(on)
	for _, x := range s.listeners {
		x.loop.push(task{kind: taskFunc, fn: func() {
			if on {
				x.setAccepting(false)
			} else {
				x.resume()
			}
		}})
	}
}

// Shutdown stops the server (or client) gracefully, in net/http's order:
// a server stops accepting and closes its listeners; then it tells every connection (OnShutdown if
// the handler has it, else a graceful Close), and waits until every
// connection's OnClose has run. A connection with nothing owed (nothing
// queued, no input unanswered, no frame begun) gets its FIN at once and
// lingers only briefly for the peer's (the whole linger if the peer sends
// meanwhile, or reads so slowly that its replies still wait in the
// kernel); a busy one drains its queue first.
// If ctx ends first, the connections left are aborted (OnClose receives
// ErrShutdownTimeout) and Shutdown returns a *ShutdownError, which wraps
// ctx.Err() and says how many were aborted and how many of them owed
// their peer something. Connections still queued in a listener's backlog
// were never accepted: the kernel resets them when the socket's last
// descriptor closes, or another process sharing the socket accepts them;
// on io_uring the few whose wake-up a cancelled accept may have taken
// (see StopAccepting) are accepted and closed with a FIN, so that none
// waits for an answer that never comes.
func (s *owner) Shutdown(ctx context.Context) error {
	s.beginStop()
	s.Range(func(c *Conn) bool {
		c.loop.push(task{kind: taskShutdown, c: c, id: c.id})
		return true
	})
	var err error
	select {
	case <-s.idle: // checked first: a done ctx with nothing left is no timeout
	default:
		select {
		case <-s.idle:
		case <-ctx.Done():
			var aborted, owing atomic.Int64
			s.Range(func(c *Conn) bool {
				c.loop.push(task{kind: taskFunc, c: c, id: c.id, fn: func() {
					if c.closed {
						return
					}
					aborted.Add(1)
					if c.owes() {
						owing.Add(1)
					}
					c.finish(ErrShutdownTimeout, true)
				}})
				return true
			})
			<-s.idle // after every finish, so after the counts
			err = &ShutdownError{Err: ctx.Err(), Aborted: int(aborted.Load()), Owing: int(owing.Load())}
			s.log.Warn("proactor: shutdown deadline passed", "aborted", aborted.Load(), "owing", owing.Load())
		}
	}
	s.endStop()
	return err
}

// Close stops the server (or client) at once: listeners close, and every connection is
// aborted with a reset (OnClose receives ErrServerClosed). Close returns
// after every OnClose has run. It may be called while Shutdown waits, to cut
// the wait short.
func (s *owner) Close() error {
	s.beginStop()
	s.abortAll(ErrServerClosed)
	<-s.idle
	s.endStop()
	return nil
}

func (s *owner) abortAll(reason error) {
	s.Range(func(c *Conn) bool {
		c.loop.push(task{kind: taskAbort, c: c, id: c.id, err: reason})
		return true
	})
}

// beginStop refuses new connections and closes the listeners.
func (s *owner) beginStop() {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return
	}
	s.stopping = true
	s.idle = make(chan struct{})
	if s.nconns == 0 {
		close(s.idle)
	}
	var lns []*listener
	if s.server != nil {
		lns = s.server.listeners
	}
	s.mu.Unlock()
	for _, x := range lns {
		// A stopped engine has closed its listeners already.
		_ = x.loop.call(x.unlisten)
	}
}

func (s *owner) endStop() {
	s.stopOnce.Do(func() {
		if s.ownsEng {
			s.eng.Close()
		}
		close(s.done)
	})
}

// track registers a new connection, unless the server is stopping.
func (s *owner) track(c *Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.nconns++
	s.registry.add(c)
	return true
}

// untrack counts a connection gone; finish has taken it out of the registry.
func (s *owner) untrack() {
	s.mu.Lock()
	s.nconns--
	if s.nconns == 0 && s.idle != nil {
		close(s.idle)
	}
	last := s.nconns == 0 && s.oneShot
	s.mu.Unlock()
	if last {
		go s.Close() // not on the loop: Close waits for the loops
	}
}

// ConnCount returns the number of open connections.
func (s *owner) ConnCount() int { return int(s.registry.count.Load()) }

// Conn returns the open connection with the given ID, held (see
// Conn.Hold): call Release when done with it. Forgetting to costs nothing
// without WithConnPool, and with it only the reuse of that one Conn.
func (s *owner) Conn(id uint64) (*Conn, bool) { return s.registry.get(id) }

// Range calls fn for each open connection until fn returns false. It works
// on a snapshot of each registry shard, so fn may close connections. Each
// connection is held while fn runs (see Conn.Hold and WithConnPool): fn
// must Hold one it keeps beyond its call.
func (s *owner) Range(fn func(c *Conn) bool) { s.registry.forEach(fn) }

// Broadcast writes p to every open connection and returns how many took it.
// p is copied once, into one pooled buffer that every connection shares.
func (s *owner) Broadcast(p []byte) int {
	b := s.eng.bufs.Get(len(p))
	copy(b.Bytes(), p)
	return s.BroadcastBuffer(b)
}

// BroadcastBuffer writes b to every open connection without a copy: b is
// retained once per connection and the caller's reference is released. It
// returns how many connections took it.
func (s *owner) BroadcastBuffer(b *buffer.Buffer) int {
	n := 0
	s.Range(func(c *Conn) bool {
		b.Retain()
		if c.WriteBuffer(b) == nil {
			n++
		}
		return true
	})
	b.Release()
	return n
}

// CloseAll closes every open connection gracefully.
func (s *owner) CloseAll() {
	s.Range(func(c *Conn) bool {
		c.Close()
		return true
	})
}

// Stats returns a snapshot of the server's counters.
func (s *owner) Stats() Stats {
	var st Stats
	for i := range s.stats {
		st.add(&s.stats[i])
	}
	st.Active = s.ConnCount()
	if p := s.cfg.workerPool; p != nil {
		st.Workers = p.Stats()
	}
	return st
}

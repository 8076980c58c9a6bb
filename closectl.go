package proactor

// Close control: the receive side shut on its own (CloseRead), which sides
// are open (Open), and the handler's say before proactor closes a
// connection on its own (ClosingHandler).

// ClosingHandler is an optional Handler interface: a say in the closes that
// proactor decides on its own. OnClosing is called on the connection's
// loop, at most once per connection, when proactor is about to close an
// open connection that nobody asked to close and whose socket still
// works:
//
//   - a timeout: err is a *TimeoutError (first-data, idle, read or write);
//   - a framing error: err matches ErrFrameTooLarge or ErrBadFrame;
//   - a TLS record error: err is a *TLSError.
//
// It is not called when the peer sends FIN (that is OnPeerClosed), when
// the connection fails (a reset, a read or write error: nothing can be
// sent any more), after Close, CloseRead with CloseWrite, or Abort was
// asked for, on ErrQueueFull or a panic (the stream would have a hole),
// when the server shuts down (that is ShutdownHandler) or closes, or for a
// TLS handshake that fails (OnOpen never ran).
//
// When OnClosing is called the receive side has been shut as by CloseRead:
// no OnData comes any more. Returning false lets the close go on as it
// would have: after an idle timeout, a framing or a TLS error gracefully,
// so that bytes written in OnClosing (a goodbye) are sent first, within
// WithLinger's bound; after the other timeouts with a reset, which drops
// them. Returning true takes the close over: the connection stays open for
// writing, and the handler ends it itself, now or later, with Close,
// CloseWrite or Abort (its OnClose err then says how that close went, not
// why OnClosing was called). Until then the connection is the handler's:
// the timeouts apply again only once its writes re-arm them, and
// WithLinger once it closes, so a handler that takes a close over must end
// it; a timeout that fires then closes without a second OnClosing.
type ClosingHandler interface {
	OnClosing(c *Conn, err error) bool
}

// How closeOwn closes when the handler lets it.
const (
	ownGraceful = iota // closeWith: what is queued goes out first
	ownNow             // a FIN now, or after a goodbye written in OnClosing
	ownAbort           // a reset
)

// CloseRead shuts the receive side: from the call on, no OnData and no
// OnPeerClosed come, input that arrives is read and dropped unseen (it
// counts in Stats' bytes read, not as activity for the idle timeout), and
// input held back by PauseRead or a partial frame is dropped. Writing goes
// on. The connection ends once both sides are shut: CloseRead with
// CloseWrite (in either order) is a Close, and a peer's FIN after our own
// ends it at once. Returns ErrClosed if the receive side was shut already
// by CloseRead, Close or Abort. Safe from any goroutine.
//
// CloseRead does not call shutdown(SHUT_RD), and not by oversight. On Linux
// that tells the peer nothing and does not stop its bytes: they are still
// queued, a read returns them and then end-of-file, and level-triggered
// epoll reports the socket readable for as long as it stays open. Worse,
// once our FIN has gone too, any byte the peer sends makes the kernel
// reset the connection, destroying what is still in flight to the peer.
// BSD kernels drop such bytes, Windows resets at once. So the receive side
// is shut the same way on every engine, above the socket: the connection
// keeps reading and drops what it reads, which keeps TCP's window open so
// the peer is never stuck writing, and leaves nothing unread to turn a
// later close into a reset.
func (c *Conn) CloseRead() error {
	c.mu.Lock()
	if c.req.Load() >= reqClose || c.flags.Load()&flagReadShut != 0 {
		c.mu.Unlock()
		return ErrClosed
	}
	c.flags.Or(flagReadShut)
	if c.req.Load() == reqCloseWrite {
		c.req.Store(reqClose) // both sides shut: the graceful close
	}
	sched := c.markScheduled()
	c.mu.Unlock()
	if sched {
		c.schedule()
	}
	return nil
}

// Open reports which sides of the connection are open: read while OnData
// may still come (no CloseRead, Close or Abort, no FIN from the peer, not
// closed), write while Write is accepted (no CloseWrite, Close or Abort,
// not closed). Safe from any goroutine; from another goroutine than the
// loop's, the answer may be overtaken at once by the loop.
func (c *Conn) Open() (read, write bool) {
	req := c.req.Load()
	return req < reqClose && c.flags.Load()&(flagReadShut|flagPeerEOF) == 0, req == reqNone
}

// readShut reports whether the receive side has been shut (CloseRead).
func (c *Conn) readShut() bool { return c.flags.Load()&flagReadShut != 0 }

// dropInput drops what waits to be delivered once the receive side is
// shut: a partial frame, input held back, the peer's FIN that waited behind
// it (a read error that did still ends the connection: settleEnd); and the
// read timeout's claim, as no answer is owed to input the handler will
// never see.
func (c *Conn) dropInput() {
	c.releaseTail()
	c.unanswered = 0
	if c.eofOwed() {
		c.tail.end = nil // acted on: the receive side is shut
	}
}

// closeOwn closes c for a reason of proactor's own (see ClosingHandler),
// unless the handler takes the close over.
func (c *Conn) closeOwn(err error, how int) {
	wasIdle := c.idle()
	if c.takenOver(err) {
		return
	}
	switch {
	case how == ownAbort:
		c.finish(err, true)
	case how == ownGraceful:
		c.closeWith(err)
	case wasIdle && !c.idle():
		// OnClosing wrote a goodbye: it goes out, then the close, bounded
		// as a lingering close is.
		c.closeWith(err)
		if !c.closed {
			c.tails().lingerUntil = c.loop.now + int64(c.cfg.lingerTime())
			c.rearm()
		}
	default:
		c.finish(err, false)
	}
}

// takenOver asks the handler's OnClosing, once, and reports whether it took
// the close over (or the connection is gone, after a panic in it).
func (c *Conn) takenOver(err error) (took bool) {
	h, ok := c.handler().(ClosingHandler)
	if !ok || c.lb.has(lbAskedClosing) || c.closed || c.connecting || c.req.Load() >= reqClose {
		return false
	}
	if t := c.tlsOf(); t != nil && !t.opened {
		return false
	}
	c.lb.set(lbAskedClosing, true)
	c.flags.Or(flagReadShut)
	c.onShutRead()
	c.dropInput()
	defer func() {
		if c.closed {
			took = true
		}
	}()
	defer c.recover("OnClosing")
	return h.OnClosing(c, err)
}

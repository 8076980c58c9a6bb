package proactor

// The connection pool: WithConnPool keeps the Conns of closed connections
// on their loop and gives them to the next connections it accepts, as the
// seed frameworks' context pool did, so that accepting allocates nothing
// once warm.
//
// A *Conn is the handle user code holds, so a reused one must never be
// reached through a reference to the connection it served before. Inside
// the framework that is arranged three ways:
//   - pins: whatever reaches a Conn from another goroutine through the
//     registry (Range and what uses it, Server.Conn) pins it for as long as
//     it uses it, and user code pins it with Hold; a Conn is reused only
//     once its connection has ended and no pin is left;
//   - a pending service (Conn.scheduled) keeps it too: the loop's queue or
//     its dirty list still names it;
//   - tasks and functions queued for a connection carry its ID, which is
//     never reused, and are dropped when the Conn has moved on: by runTask
//     (abort, shutdown, Do, the shutdown deadline's abort, recycle), and
//     by the timer itself (Timer.cid).

// The pins live in Conn.flags above its flag bits: a count in units of
// pinOne, and pinEnded once the connection's end (finish) has taken it out
// of the registry; with no pin left an ended Conn is reused after its
// OnClose.
const (
	pinOne   = 1 << 8
	pinEnded = 1 << 30
	pinCount = pinEnded - pinOne // the count's bits
	pinBits  = pinCount | pinEnded
)

// WithConnPool keeps up to n Conns of closed connections per loop and
// reuses them for the connections the server accepts next, so that a
// connection's life allocates nothing once the pool is warm (plain TCP and
// unix connections; a TLS or PROXY-protocol connection is not pooled). A
// server option. Default: 0, no pool: every connection gets a new Conn.
//
// The price is the seed frameworks' rule: once OnClose has returned, a
// *Conn may already serve another client. A callback's Conn is valid
// during the callback; code that keeps one beyond (a worker's job, a
// goroutine, a map read elsewhere) must Hold it while it may use it and
// Release it after, and then gets ErrClosed from a connection that has
// ended, as without the pool. A reference kept without Hold and used after
// OnClose can write to or close a stranger's connection. The framework's
// own references (Range, Broadcast, Server.Conn, Shutdown, timers, Do)
// follow the rule.
func WithConnPool(n int) Option {
	return scoped("WithConnPool", onServer, func(c *config) { c.connPool = n })
}

// Hold pins the connection's Conn: it is not reused for another connection
// until Release, even after its connection has ended, so that a goroutine
// other than the loop's may keep it and use it safely; methods of an ended
// connection then return ErrClosed. Call it where c is known to be the
// connection's: in a callback, in a function Range calls, or on what
// Server.Conn returned (which is held already). It reports whether the
// connection was still open (its OnClose not yet called); if not, nothing
// is pinned and Release must not be called. Without WithConnPool holding
// costs an atomic addition and protects nothing that needs it.
func (c *Conn) Hold() bool {
	for {
		v := c.flags.Load()
		if v&pinEnded != 0 {
			return false
		}
		if c.flags.CompareAndSwap(v, v+pinOne) {
			return true
		}
	}
}

// Release gives back a pin taken by Hold (or by Server.Conn). A pooled
// Conn whose connection has ended is reused once the last pin is released.
// Releasing more than was held panics.
func (c *Conn) Release() {
	// Read while the pin is still ours: once the last one is given back,
	// finish may pool c and the loop reuse it at any moment.
	l, id := c.loop, c.id
	v := c.flags.Add(^uint32(pinOne - 1)) // minus pinOne; below 0 the count wraps to all ones
	switch {
	case v&pinCount == pinCount:
		panic("proactor: Conn.Release without Hold")
	case v&pinBits == pinEnded:
		l.push(task{kind: taskRecycle, c: c, id: id})
	}
}

// pin pins c for the framework, where c is known to be unended (found in
// the registry under its lock).
func (c *Conn) pin() { c.flags.Add(pinOne) }

// recycle puts c into its server's pool on its loop if it is pooled, has
// ended, and nothing keeps it (a pin or a pending service); on the loop.
func (c *Conn) recycle() {
	if !c.lb.has(lbPooled) || !c.closed || c.flags.Load()&pinBits != pinEnded {
		return
	}
	c.mu.Lock()
	scheduled := c.scheduled
	c.mu.Unlock()
	if scheduled {
		return // service runs on the ended Conn and recycles it then
	}
	c.lb.set(lbPooled, false) // a second recycle (a late Release's task) does nothing
	if free := &c.srv().connPool[c.loop.idx]; len(*free) < c.srv().cfg.connPool {
		*free = append(*free, c)
	}
}

// reuse returns a Conn for a new connection of s on l: a pooled one made
// ready, or nil.
func (s *owner) reuse(l *loop) *Conn {
	if s.connPool == nil {
		return nil
	}
	free := &s.connPool[l.idx]
	n := len(*free)
	if n == 0 {
		return nil
	}
	c := (*free)[n-1]
	(*free)[n-1] = nil
	*free = (*free)[:n-1]
	more, tail := c.more, c.tail
	if more != nil {
		clear(more.values)
		more.values = more.values[:0]
		more.marks = markQueue{offs: more.marks.offs[:0]}
		more.timers = nil
	}
	*c = Conn{more: more, tail: tail} // finish has emptied out, array and all
	return c
}

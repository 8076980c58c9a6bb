package proactor

import (
	"cmp"
	"net/netip"
	"slices"
	"time"
)

// ConnInfo is a snapshot of one connection, as Server.Conns lists it. The
// states are words meant for people and tools alike; more may be added.
type ConnInfo struct {
	ID uint64 `json:"id"`
	// Peer and Local are the TCP addresses (Peer the one a PROXY header
	// gave, where the listener takes one); both are the zero AddrPort
	// (not Valid) for a unix socket connection.
	Peer   netip.AddrPort `json:"peer"`
	Local  netip.AddrPort `json:"local"`
	Opened time.Time      `json:"opened"` // when it was accepted (a Client's: opened, or while it dials, when the dial began)
	Age    time.Duration  `json:"age_ns"` // how long it has been open, at the snapshot
	Loop   int            `json:"loop"`   // the index of the event loop that owns it

	// State is the connection's stage: "connecting" (a Client's dial),
	// "handshake" (TLS), "open", "closing" (Close asked: the queue drains,
	// then a FIN) or "lingering" (the FIN is out; waiting for the peer's).
	State string `json:"state"`
	// Input is the read side: "reading", "paused" (PauseRead),
	// "backpressure" (the write queue passed the high watermark),
	// "draining" (closing: what arrives is read and discarded), "shut"
	// (CloseRead: what arrives is read and dropped) or "eof" (the peer's
	// FIN has come).
	Input string `json:"input"`
	// Output is the write side: "idle" (nothing queued), "queued" (bytes
	// wait for the loop), "writing" (a write waits for room in the socket)
	// or "shut" (our FIN is out: nothing more can be sent).
	Output string `json:"output"`

	BytesRead    uint64 `json:"bytes_read"`    // from the socket (TLS: the records)
	BytesWritten uint64 `json:"bytes_written"` // to the socket
	Queued       int64  `json:"queued"`        // bytes queued for writing, not yet sent (Conn.Buffered)
}

// Conns returns a snapshot of the server's open connections (those of a
// Client too, dials in progress included), in the order of their IDs.
// Each loop describes its own connections between two of its iterations,
// so a snapshot is consistent per connection and never races the
// callbacks; a connection may open or close while the other loops are
// asked. It walks every connection, unlike Stats: it is a listing, for
// operators, not something to scrape. Safe from any goroutine but the
// loops': it waits for them, so it must not be called from a callback.
func (s *Server) Conns() []ConnInfo {
	var all []ConnInfo
	for _, l := range s.eng.loops {
		var mine []ConnInfo
		// A stopped engine has no connections left to describe.
		_ = l.call(func() {
			now := l.eng.clock()
			l.conns.All(func(_ uint32, r *connRef) {
				if c := r.c; c != nil && c.srv() == &s.owner && !c.closed {
					mine = append(mine, c.info(r, now))
				}
			})
		})
		all = append(all, mine...)
	}
	slices.SortFunc(all, func(a, b ConnInfo) int { return cmp.Compare(a.ID, b.ID) })
	return all
}

// info describes c, whose slot r is; it runs on c's loop. now is the
// loop's clock.
func (c *Conn) info(r *connRef, now int64) ConnInfo {
	age := time.Duration(now - c.openedAt)
	return ConnInfo{
		ID:           c.id,
		Peer:         c.remote.unpack(),
		Local:        c.local.unpack(),
		Opened:       time.Now().Add(-age),
		Age:          age,
		Loop:         c.loop.idx,
		State:        c.stateWord(),
		Input:        c.inputWord(),
		Output:       c.outputWord(),
		BytesRead:    r.read,
		BytesWritten: r.written,
		Queued:       c.out.n.Load(),
	}
}

func (c *Conn) stateWord() string {
	t := c.tlsOf() // a Client's connection has none until it is connected
	switch {
	case t != nil && !t.opened:
		return "handshake"
	case c.connecting:
		return "connecting"
	case c.lingerUntil() != 0:
		return "lingering"
	case c.closing() || c.req.Load() >= reqClose:
		return "closing"
	}
	return "open"
}

func (c *Conn) inputWord() string {
	switch {
	case c.ended():
		return "eof"
	case c.closing():
		return "draining"
	case c.readShut():
		return "shut"
	case c.paused() || c.held():
		return "paused"
	case c.lb.has(lbBPPaused):
		return "backpressure"
	}
	return "reading"
}

func (c *Conn) outputWord() string {
	switch {
	case c.finSent():
		return "shut"
	case c.lb.has(lbInflight):
		return "writing"
	case c.out.n.Load() > 0:
		return "queued"
	}
	return "idle"
}

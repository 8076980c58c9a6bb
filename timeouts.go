package proactor

import (
	"errors"
	"time"
)

// ErrTimeout is matched (errors.Is) by the OnClose reason of a connection
// closed by one of its timeouts; the error is a *TimeoutError.
var ErrTimeout = errors.New("proactor: timeout")

// TimeoutKind names a timeout.
type TimeoutKind uint8

// The timeouts, set with WithFirstDataTimeout, WithIdleTimeout,
// WithReadTimeout and WithWriteTimeout.
const (
	FirstDataTimeout   TimeoutKind = iota // accepted, and nothing received since
	IdleTimeout                           // nothing read or written
	ReadTimeout                           // input begun and left unfinished (slowloris)
	WriteTimeout                          // queued output not draining
	ConnectTimeout                        // a Dial not connected in time
	HandshakeTimeout                      // a TLS handshake not done in time
	ProxyHeaderTimeout                    // a PROXY protocol header not received in time
	numTimeouts
)

var timeoutNames = [numTimeouts]string{"first-data", "idle", "read", "write", "connect", "tls-handshake", "proxy-header"}

func (k TimeoutKind) String() string {
	if k < numTimeouts {
		return timeoutNames[k]
	}
	return "unknown"
}

// TimeoutError is the OnClose reason of a connection closed by a timeout.
// It matches ErrTimeout with errors.Is, and Timeout reports true, as for
// net.Error.
type TimeoutError struct {
	Kind  TimeoutKind
	After time.Duration // the configured timeout
}

func (e *TimeoutError) Error() string {
	return "proactor: " + e.Kind.String() + " timeout after " + e.After.String()
}

// Is reports whether target is ErrTimeout.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// Timeout reports true.
func (e *TimeoutError) Timeout() bool { return true }

// timeouts are one listener's settings, in nanoseconds; 0 is off.
type timeouts [numTimeouts]int64

// deadline is the earliest moment at which a timer of c must look again,
// and which timeout that is (numTimeouts for the end of a lingering close).
// ok is false when no timeout applies.
func (c *Conn) deadline() (when int64, kind TimeoutKind, ok bool) {
	set := func(t int64, k TimeoutKind) {
		if !ok || t < when {
			when, kind, ok = t, k, true
		}
	}
	to := &c.cfg.timeouts
	if t := c.tlsOf(); t != nil && !t.shaken && !c.closed {
		set(c.openedAt+c.cfg.handshakeTimeout(), HandshakeTimeout)
	}
	if c.proxyOf() != nil {
		set(c.openedAt+to[ProxyHeaderTimeout], ProxyHeaderTimeout)
	}
	if c.connecting {
		set(c.openedAt+c.cfg.connectTimeout(), ConnectTimeout)
		return when, kind, ok
	}
	if c.lingerUntil() != 0 {
		// Closing: only the bound on the lingering wait and on draining
		// the queue (the write timeout) still matter.
		set(c.lingerUntil(), numTimeouts)
	} else {
		if d := to[FirstDataTimeout]; d > 0 && !c.lb.has(lbGotData) {
			// On a deferred listener the kernel held the client first.
			set(c.openedAt+d-int64(c.cfg.deferHeld), FirstDataTimeout)
		}
		if d := to[IdleTimeout]; d > 0 {
			set(max(c.openedAt, c.lastActive)+d, IdleTimeout)
		}
		// Input waiting for an answer while the answers themselves wait
		// for the peer to read is a peer that does not read: the write
		// timeout's case, not a slowloris. Without this rule which of the
		// two fired depended on how an engine completes writes.
		if d := to[ReadTimeout]; d > 0 && c.unanswered != 0 && c.stalled == 0 {
			set(c.unanswered+d, ReadTimeout)
		}
	}
	if d := to[WriteTimeout]; d > 0 && c.stalled != 0 {
		set(c.stalled+d, WriteTimeout)
	}
	return when, kind, ok
}

// rearm makes the connection's timer fire no later than its earliest
// deadline. It is called where a new deadline may start; a timer armed
// later than needed fires, finds nothing due, and re-arms itself.
//
// Small enough to be inlined: where no deadline can apply, the message
// path pays a few loads and no call. A connection with none of the
// config's timeouts (timed), open for output (a lingering close's bound
// comes only with a close) and without ext (a dial, and its connect
// timeout, always has one; so do TLS and PROXY headers, with their
// handshake timeouts) has no deadline.
func (c *Conn) rearm() {
	if !c.cfg.timed && c.tx == outOpen && c.ext == nil {
		return // no deadline can apply: spare the message path the work
	}
	c.rearmTimer()
}

// rearmTimer is rearm's work where a deadline may apply.
func (c *Conn) rearmTimer() {
	when, _, ok := c.deadline()
	if !ok || c.closed {
		return
	}
	w := &c.loop.wheel
	if c.timer.armed() {
		if c.timer.when <= when {
			return
		}
		w.cancel(&c.timer)
	}
	w.arm(&c.timer, when)
}

// timerFired runs when the connection's timer is due: a deadline that has
// passed closes the connection, otherwise the timer is armed again.
func (c *Conn) timerFired(now int64) {
	if c.closed {
		return
	}
	when, kind, ok := c.deadline()
	switch {
	case !ok:
		return
	case when > now:
		c.loop.wheel.arm(&c.timer, when)
	case kind == numTimeouts && c.lb.has(lbQuick) && c.unsent():
		// Shutdown's short linger is over, but replies and our FIN have
		// not even left: the peer reads slowly and its window is full.
		// Closed now, the orphaned socket would answer the peer's next
		// bytes with a reset, which destroys them unread: it gets the
		// whole linger, as a peer still sending does.
		c.notQuick()
		c.rearm()
	case kind == numTimeouts:
		c.finish(c.reason(), false) // the lingering close has waited long enough
	case kind == ConnectTimeout:
		c.stats().timeouts[kind].Add(1)
		c.failDial(&TimeoutError{Kind: kind, After: time.Duration(c.cfg.connectTimeout())})
	case kind == HandshakeTimeout:
		c.stats().timeouts[kind].Add(1)
		err := &TimeoutError{Kind: kind, After: time.Duration(c.cfg.handshakeTimeout())}
		c.tlsFailed(&TLSError{Handshake: true, Reason: tlsReasonNames[tlsTimeout], Err: err}, true)
	default:
		c.stats().timeouts[kind].Add(1)
		err := &TimeoutError{Kind: kind, After: time.Duration(c.cfg.timeouts[kind])}
		// An idle peer gets a FIN; a silent, slow or non-reading one a reset
		// and no lingering.
		how := ownAbort
		if kind == IdleTimeout {
			how = ownNow
		}
		c.closeOwn(err, how)
	}
}

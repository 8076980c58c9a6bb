package proactor

// The connection's lifecycle as named states: one for the input side, one
// for the output side, and the two ends every connection has (a Client's
// dial before it, the end after it). The loop goroutine alone reads and
// writes them. The requests that move them (Close, CloseWrite, CloseRead,
// Abort) can come from any goroutine; they are recorded first in Conn.req
// and Conn.flags (atomics, read by Open and by the read path, so that input
// is dropped from the moment Close is called), and the loop turns them into
// transitions here when it services the connection.
//
// Each event is one method of life. The methods decide; they do no I/O.
// What the state machine (state.go) must then do, a FIN, the end or a
// lingering wait, is what they return. life_internal_test.go checks the
// table without a socket.
//
//	input:  inOpen ──CloseRead/OnClosing──▶ inShut ─┐
//	          │  ╲──────────Close────────▶ inDraining ──peer's FIN──▶ inEnded
//	          └──────────peer's FIN──────────────────────────────────▶ inEnded
//
//	output: outOpen ──CloseWrite──▶ outFINOwed ──drained: FIN──▶ outShut
//	          │                         │                          │
//	          └──────Close─────────▶ outClosing ◀────Close────────┘ (FIN sent already)
//	                                    │
//	                                 drained: FIN ──▶ outLinger ──peer's FIN or the bound──▶ end
//
// A connection ends (finish) when both sides are done: the input ended and
// our FIN sent, or Close's queue out and the peer's FIN read (no linger
// then), or the linger's bound passed, or at once on an error or Abort.
type life struct {
	rx inState  // the input side
	tx outState // the output side
	// connecting: a Client's dial (and its TLS handshake) is in progress;
	// the connection is not open yet and its failure fails the dial.
	connecting bool
	// closed: the end. finish has run: the socket is closed and OnClose
	// called. Every event after it is ignored.
	closed bool
}

// inState is where the input side is.
type inState uint8

const (
	inOpen     inState = iota // what is read is delivered (or held: PauseRead, a partial frame)
	inShut                    // CloseRead, or a close OnClosing took over: read and dropped unseen, no OnPeerClosed
	inDraining                // Close: read and dropped until the peer's FIN, so that no unread byte turns the close into a reset
	inEnded                   // the peer's FIN has been read: nothing more is read
)

// outState is where the output side is.
type outState uint8

const (
	outOpen    outState = iota // what is queued goes out
	outFINOwed                 // CloseWrite: our FIN goes once the queue is out
	outClosing                 // Close: the queue goes out, then our FIN, then the end or a linger
	outShut                    // our FIN is sent after CloseWrite: half-closed, the peer may still send
	outLinger                  // our FIN is sent after Close: the end waits for the peer's FIN, bounded by WithLinger
)

var (
	inNames  = [...]string{inOpen: "open", inShut: "shut", inDraining: "draining", inEnded: "eof"}
	outNames = [...]string{outOpen: "open", outFINOwed: "fin-owed", outClosing: "closing", outShut: "shut", outLinger: "linger"}
)

func (s inState) String() string  { return inNames[s] }
func (s outState) String() string { return outNames[s] }

// ended reports whether the peer's FIN has been read.
func (s *life) ended() bool { return s.rx == inEnded }

// closing reports whether Close has been acted on: the connection ends once
// its queue is out.
func (s *life) closing() bool { return s.tx == outClosing || s.tx == outLinger }

// finSent reports whether our FIN has gone out.
func (s *life) finSent() bool { return s.tx == outShut || s.tx == outLinger }

// onClose: the loop acts on Close (or on CloseRead with CloseWrite, which
// is a Close). Input is drained from now on; the output side ends after its
// queue. After CloseWrite's FIN the queue is out already, so the close goes
// straight to its linger.
func (s *life) onClose() {
	if s.rx == inOpen || s.rx == inShut {
		s.rx = inDraining
	}
	switch s.tx {
	case outOpen, outFINOwed:
		s.tx = outClosing
	case outShut:
		s.tx = outLinger
	}
}

// onCloseWrite: the loop acts on CloseWrite. Our FIN is owed once the
// queue is out.
func (s *life) onCloseWrite() {
	if s.tx == outOpen {
		s.tx = outFINOwed
	}
}

// onShutRead: the receive side is shut above the socket (CloseRead, or a close
// taken over by OnClosing).
func (s *life) onShutRead() {
	if s.rx == inOpen {
		s.rx = inShut
	}
}

// onPeerFIN: the peer's FIN has been read from the socket. What it means
// (OnPeerClosed, nothing, the end of a close) is decided when it is acted
// on, which TLS defers until the plaintext before it is delivered.
func (s *life) onPeerFIN() { s.rx = inEnded }

// step is what an event asks the state machine to do.
type step uint8

const (
	stepNone      step = iota
	stepFIN            // send our FIN; the connection stays open for input
	stepFINEnd         // send our FIN, then end: both sides are done
	stepFINLinger      // send our FIN, then wait for the peer's, bounded
	stepLinger         // our FIN is out: wait for the peer's, bounded, unless waiting already
	stepEnd            // end now
)

var stepNames = [...]string{"none", "fin", "fin+end", "fin+linger", "linger", "end"}

func (s step) String() string { return stepNames[s] }

// onDrained: every queued byte is out. errored says that the close has a
// reason (an error close ends without waiting for the peer); finActed that
// the peer's FIN, if read, has been acted on (a TLS connection owes an
// OnPeerClosed for a close_notify until its plaintext is delivered).
func (s *life) onDrained(errored, finActed bool) step {
	switch s.tx {
	case outFINOwed:
		s.tx = outShut
		if s.rx == inEnded && finActed {
			return stepFINEnd
		}
		return stepFIN
	case outClosing:
		if s.rx == inEnded || errored {
			return stepEnd // nothing to wait for, or no reason to
		}
		s.tx = outLinger
		return stepFINLinger
	case outShut:
		if s.rx == inEnded && finActed {
			return stepEnd // both ways shut
		}
	case outLinger:
		if s.rx == inEnded || errored {
			return stepEnd
		}
		return stepLinger
	}
	return stepNone
}

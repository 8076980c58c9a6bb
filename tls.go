package proactor

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// TLS runs in two phases (docs/ARCHITECTURE.md, "TLS"):
//
//   - The handshake runs in a goroutine of its own, over a transport
//     (tlsPipe) that the loop feeds with the bytes it reads and that queues
//     what TLS writes on the connection. crypto/tls cannot resume a
//     handshake that an error interrupted, so it must be allowed to block.
//     The goroutine lives only as long as the handshake, which the wheel
//     bounds (WithTLSHandshakeTimeout), and a server runs at most
//     WithTLSHandshakeLimit of them at once.
//   - Once the handshake is done the goroutine ends and the record layer
//     runs on the loop: the pipe no longer blocks, and a read that finds no
//     whole record returns an error that crypto/tls treats as temporary
//     (net.Error.Temporary), which keeps the partial record and leaves the
//     connection usable. No goroutine per established connection.

// tlsConn is a TLS connection's state beside its Conn.
type tlsConn struct {
	tc    *tls.Conn
	pipe  tlsPipe
	ready atomic.Bool // the handshake is done: plaintext may be written
	// wrote is set by a Write of plaintext: the next write completion is
	// an answer. crypto/tls writes on its own too (session tickets after
	// the handshake, key updates), and those answer nothing.
	wrote  atomic.Bool
	shaken bool // loop-owned: the handshake has ended (either way)
	failed bool // loop-owned: a failed handshake was counted
	opened bool // loop-owned: OnOpen has run, so OnClose is owed
	// counted is loop-owned: the handshake holds a place under
	// WithTLSHandshakeLimit (Server.handshakes), until leaveLimit.
	counted bool
}

// tlsPipe is the transport under crypto/tls: reads come from what the loop
// read from the socket, writes go to the connection's write queue.
type tlsPipe struct {
	c        *Conn
	mu       sync.Mutex
	cond     sync.Cond
	in       []byte // raw bytes read and not yet taken by TLS, copied
	lent     []byte // the loop's read buffer, read in place during tlsInput
	eof      bool   // the peer's FIN came after in
	err      error  // the connection is gone: reads fail with it
	blocking bool   // during the handshake a read waits for bytes
}

// errWouldBlock is what a read of the pipe returns when no bytes wait
// outside the handshake. crypto/tls keeps a connection usable after an
// error whose Temporary method reports true, and keeps the partial record
// it read so far.
var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "proactor: no TLS input yet" }
func (wouldBlock) Timeout() bool   { return false }
func (wouldBlock) Temporary() bool { return true }

func (p *tlsPipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.in) == 0 && len(p.lent) == 0 {
		switch {
		case p.err != nil:
			return 0, p.err
		case p.eof:
			return 0, io.EOF
		case !p.blocking:
			return 0, errWouldBlock
		}
		p.cond.Wait()
	}
	if len(p.in) == 0 {
		n := copy(b, p.lent)
		p.lent = p.lent[n:]
		return n, nil
	}
	n := copy(b, p.in)
	p.in = p.in[n:]
	if len(p.in) == 0 {
		// An idle connection keeps no input buffer: nil, as a
		// zero-capacity reslice would still point into the array and
		// keep it alive.
		p.in = nil
	}
	return n, nil
}

// lend lets TLS read the loop's read buffer in place until unlend. Once
// the handshake is done the pipe is read on the loop only, within
// tlsInput, so the bytes are taken (crypto/tls copies them into its record
// buffer) before the loop reuses its buffer: no copy and no allocation
// per read, which feed would cost.
func (p *tlsPipe) lend(b []byte) {
	p.mu.Lock()
	p.lent = b
	p.mu.Unlock()
}

// unlend ends a lend. Bytes TLS did not take (the connection was closing)
// are kept, copied, as feed keeps them.
func (p *tlsPipe) unlend() {
	p.mu.Lock()
	if len(p.lent) > 0 {
		p.in = append(p.in, p.lent...)
	}
	p.lent = nil
	p.mu.Unlock()
}

// feed hands over bytes the loop read. They are copied: the read buffer
// is the loop's.
func (p *tlsPipe) feed(b []byte) {
	p.mu.Lock()
	p.in = append(p.in, b...)
	p.mu.Unlock()
	p.cond.Signal()
}

// end records the peer's FIN (err nil) or the connection's end (err).
func (p *tlsPipe) end(err error) {
	p.mu.Lock()
	if err == nil {
		p.eof = true
	} else if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
	p.cond.Broadcast()
}

func (p *tlsPipe) setBlocking(on bool) {
	p.mu.Lock()
	p.blocking = on
	p.mu.Unlock()
}

// Write queues bytes TLS has framed (records, alerts) on the connection.
func (p *tlsPipe) Write(b []byte) (int, error) { return p.c.queueRaw(b) }

func (p *tlsPipe) Close() error                     { return nil } // the Conn owns the socket
func (p *tlsPipe) LocalAddr() net.Addr              { return p.c.LocalAddr() }
func (p *tlsPipe) RemoteAddr() net.Addr             { return p.c.RemoteAddr() }
func (p *tlsPipe) SetDeadline(time.Time) error      { return nil } // the wheel bounds the handshake
func (p *tlsPipe) SetReadDeadline(time.Time) error  { return nil }
func (p *tlsPipe) SetWriteDeadline(time.Time) error { return nil }

// TLSError is the OnClose reason (or, for a Client, the Dial error) of a
// connection whose TLS failed: a handshake that failed, or a record that
// could not be read. errors.As reaches the crypto/tls error in Err
// (tls.RecordHeaderError, *tls.CertificateVerificationError, tls.AlertError,
// a *net.OpError "remote error" for an alert the peer sent).
type TLSError struct {
	Handshake bool   // the handshake failed (else an established connection's record layer)
	Reason    string // as counted in Stats.TLSFailures: not_tls, certificate, alert, eof, timeout, busy, other
	Err       error
}

func (e *TLSError) Error() string {
	if e.Handshake {
		return "proactor: TLS handshake failed (" + e.Reason + "): " + e.Err.Error()
	}
	return "proactor: TLS: " + e.Err.Error()
}

func (e *TLSError) Unwrap() error { return e.Err }

// ErrTLSBusy is the error of a TLS connection refused because the server
// ran WithTLSHandshakeLimit handshakes already.
var ErrTLSBusy = errors.New("proactor: too many TLS handshakes in progress")

// Reasons a TLS handshake failed, as counted in Stats.
const (
	tlsNotTLS = iota
	tlsCertificate
	tlsAlert
	tlsEOF
	tlsTimeout
	tlsBusy
	tlsOther
	numTLSReasons
)

var tlsReasonNames = [numTLSReasons]string{"not_tls", "certificate", "alert", "eof", "timeout", "busy", "other"}

// tlsReason sorts a handshake's error.
func tlsReason(err error) int {
	var rh tls.RecordHeaderError
	var cv *tls.CertificateVerificationError
	var op *net.OpError
	var te *TimeoutError
	switch {
	case errors.As(err, &te):
		return tlsTimeout
	case errors.Is(err, ErrTLSBusy):
		return tlsBusy
	case errors.As(err, &rh):
		return tlsNotTLS
	case errors.As(err, &cv):
		return tlsCertificate
	case errors.As(err, &op) && op.Op == "remote error":
		// The alert's type is unexported; its text names it ("tls: bad
		// certificate", "tls: unknown certificate authority", ...).
		if strings.Contains(op.Err.Error(), "certificate") {
			return tlsCertificate
		}
		return tlsAlert
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, ErrClosed):
		return tlsEOF
	}
	return tlsOther
}

// tlsOf returns the connection's TLS state, nil for plain TCP.
func (c *Conn) tlsOf() *tlsConn {
	if c.ext == nil {
		return nil
	}
	return c.ext.tls
}

// TLS reports the connection's TLS state (version, cipher suite, ALPN
// protocol, server name, peer certificates), and false for a connection
// without TLS. Safe from any goroutine once OnOpen has run.
func (c *Conn) TLS() (tls.ConnectionState, bool) {
	t := c.tlsOf()
	if t == nil || !t.ready.Load() {
		return tls.ConnectionState{}, false
	}
	return t.tc.ConnectionState(), true
}

// attachTLS gives a connection its TLS state. It must run before the
// connection is shared (registered, or returned by a dial): other
// goroutines read c.ext without a lock (Write, Broadcast through the
// registry), which is safe only because it is set before then.
func (c *Conn) attachTLS(cfg *tls.Config, client bool) {
	t := &tlsConn{}
	t.pipe.c = c
	t.pipe.cond.L = &t.pipe.mu
	t.pipe.blocking = true
	if c.ext == nil {
		c.ext = &connExt{}
	}
	c.ext.tls = t
	if client {
		t.tc = tls.Client(&t.pipe, cfg)
	} else {
		t.tc = tls.Server(&t.pipe, cfg)
	}
}

// startTLS begins the handshake of a connection attached to its loop, on
// the loop, once attachTLS has run. A Client's connection stays connecting
// until it ends.
func (c *Conn) startTLS() {
	t := c.ext.tls
	if limit := c.cfg.tlsLimit(); c.srv().handshakes.Add(1) > int64(limit) {
		c.srv().handshakes.Add(-1)
		t.shaken = true
		c.tlsFailed(&TLSError{Handshake: true, Reason: tlsReasonNames[tlsBusy], Err: ErrTLSBusy}, true)
		return
	}
	t.counted = true
	c.rearm() // the handshake timeout
	go func() {
		err := t.tc.HandshakeContext(context.Background())
		// If the engine is gone, its teardown has finished the connection
		// and given back its place.
		c.loop.push(task{kind: taskFunc, fn: func() { c.handshakeDone(err) }})
	}()
}

// leaveLimit gives back the handshake's place under the limit, once: when
// the handshake ends, or when its connection does (a timeout's reset
// frees the place at once, before the handshake's goroutine has noticed).
func (c *Conn) leaveLimit(t *tlsConn) {
	if t.counted {
		t.counted = false
		c.srv().handshakes.Add(-1)
	}
}

// handshakeDone runs on the loop when the handshake goroutine has ended.
func (c *Conn) handshakeDone(err error) {
	t := c.ext.tls
	c.leaveLimit(t)
	t.shaken = true
	if err != nil {
		// Counted even if the connection is gone already (a reset ended
		// it and the handshake with it), unless a timeout counted it.
		te := &TLSError{Handshake: true, Reason: tlsReasonNames[tlsReason(err)], Err: err}
		if c.closed {
			c.countTLSFailure(te)
			return
		}
		c.tlsFailed(te, false)
		return
	}
	if c.closed {
		return
	}
	t.pipe.setBlocking(false)
	t.ready.Store(true)
	c.stats().tlsHandshakes.Add(1)
	if c.connecting { // a Client's: the dial ends here
		c.dialOpened()
	} else {
		t.opened = true
		c.stats().accepted.Add(1)
		c.rearm()
		c.callOpen()
	}
	// Bytes that came behind the handshake's last flight wait in the
	// pipe, and the peer's FIN may have come behind them. (A task, not a
	// completion: writes made here schedule their own service.)
	c.tlsRead()
	if c.ended() && !c.closed && !c.closing() {
		c.eofAfterInput()
	}
}

// tlsFailed ends a connection whose handshake failed, counting why. The
// alert crypto/tls queued goes out first unless abort.
func (c *Conn) tlsFailed(err *TLSError, abort bool) {
	c.countTLSFailure(err)
	if abort || c.connecting {
		c.finish(err, true)
		return
	}
	c.closeWith(err)
}

// countTLSFailure counts a failed handshake by its reason, once.
func (c *Conn) countTLSFailure(err *TLSError) {
	t := c.ext.tls
	if t.failed {
		return
	}
	t.failed = true
	for i, name := range tlsReasonNames {
		if name == err.Reason {
			c.stats().tlsFailures[i].Add(1)
		}
	}
}

// tlsInput takes bytes read from a TLS connection's socket.
func (c *Conn) tlsInput(p []byte) {
	t := c.ext.tls
	if !t.ready.Load() {
		t.pipe.feed(p) // for the handshake's goroutine, later: a copy
		return
	}
	c.serviceAfterPoll()
	t.pipe.lend(p)
	c.tlsRead()
	t.pipe.unlend()
}

// tlsRead decrypts what whole records the pipe holds and delivers the
// plaintext, as a read would be delivered.
func (c *Conn) tlsRead() {
	t := c.ext.tls
	l := c.loop
	if l.plain == nil {
		l.plain = make([]byte, 16<<10) // the largest plaintext of a record
	}
	for !c.closed && c.req.Load() < reqClose && !c.readShut() {
		n, err := t.tc.Read(l.plain)
		if n > 0 {
			c.deliver(l.plain[:n])
		}
		switch {
		case err == nil:
		case errors.Is(err, errWouldBlock):
			return
		case err == io.EOF:
			// close_notify, or the peer's FIN at a record boundary (which
			// crypto/tls accepts, as most peers do): the raw EOF, which
			// the engine reports on its own, is the peer's end.
			return
		default:
			c.stats().tlsRecordErrors.Add(1)
			c.closeOwn(&TLSError{Err: err}, ownGraceful)
			return
		}
	}
}

// tlsWrite encrypts p and queues the records.
func (c *Conn) tlsWrite(t *tlsConn, p []byte) (int, error) {
	if !t.ready.Load() {
		return 0, ErrNotOpen
	}
	if c.req.Load() != reqNone {
		return 0, ErrClosed
	}
	n, err := t.tc.Write(p)
	if n > 0 {
		t.wrote.Store(true)
	}
	return n, err
}

// answers reports whether the bytes a write completion took include an
// answer of the handler's: always on plain TCP; over TLS only if plaintext
// was written since the last completion that counted, not a session ticket
// crypto/tls sent on its own (which, completing after a request, made that
// request look answered: Shutdown then found it owing nothing).
func (c *Conn) answers() bool {
	t := c.tlsOf()
	return t == nil || t.wrote.Swap(false)
}

// tlsSendFile reads the file and queues it encrypted: the kernel cannot
// encrypt for us (no kTLS here), so there is no zero-copy over TLS.
func (c *Conn) tlsSendFile(t *tlsConn, f *os.File, off int64, n int) error {
	defer f.Close()
	b := c.srv().eng.bufs.Get(min(n, 16<<10))
	defer b.Release()
	buf := b.Bytes()
	for n > 0 {
		k, err := f.ReadAt(buf[:min(n, len(buf))], off)
		if k > 0 {
			if _, werr := c.tlsWrite(t, buf[:k]); werr != nil {
				return werr
			}
		}
		if err != nil && k == 0 {
			return err
		}
		n -= k
		off += int64(k)
	}
	return nil
}

// tlsCloseNotify queues a close_notify alert ahead of the FIN that a
// CloseWrite or a Close sends.
func (c *Conn) tlsCloseNotify(t *tlsConn) {
	if t.ready.Load() && c.req.Load() == reqNone {
		t.tc.CloseWrite()
	}
}

// WithTLS makes the connections speak TLS with config: a Server's or one
// listener's as the server side, a Client's as the client side (with no
// ServerName in config, the host of Dial's address is verified). The
// handler sees plaintext: OnOpen after the handshake, OnData with
// decrypted bytes (a framer frames the plaintext), Write takes plaintext.
// CloseWrite and Close send close_notify before the FIN; Abort does not.
// Conn.TLS reports the negotiated state. See WithTLSHandshakeTimeout and
// WithTLSHandshakeLimit for the bounds on handshakes.
func WithTLS(cfg *tls.Config) Option {
	return scoped("WithTLS", onListener|onClient, func(c *config) { c.tls = cfg })
}

// WithTLSHandshakeTimeout bounds a TLS handshake (default 10s): a client
// that connects and stalls is reset, counted in Stats.TLSFailures.Timeout.
func WithTLSHandshakeTimeout(d time.Duration) Option {
	return scoped("WithTLSHandshakeTimeout", onListener|onClient, func(c *config) { c.timeouts[HandshakeTimeout] = int64(d) })
}

// WithTLSHandshakeLimit caps the handshakes a server runs at once (default
// 1024): each holds a goroutine while it runs. A connection past the cap is
// reset at once and counted in Stats.TLSFailures.Busy.
func WithTLSHandshakeLimit(n int) Option {
	return scoped("WithTLSHandshakeLimit", onListener|onClient, func(c *config) { c.tlsMax = n })
}

func (c *config) tlsLimit() int {
	if c.tlsMax > 0 {
		return c.tlsMax
	}
	return 1024
}

func (c *config) handshakeTimeout() int64 {
	if d := c.timeouts[HandshakeTimeout]; d > 0 {
		return d
	}
	return int64(10 * time.Second)
}

package proactor

import (
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/sockopt"
)

// listener is one listening socket of a server, owned by one loop. Fields
// other than srv, ln and loop are touched only by that loop.
type listener struct {
	srv  *Server
	ln   net.Listener
	loop *loop
	cfg  *config // the server's options with this listener's overrides
	tok  driver.Token

	closed  bool
	held    []driver.Sock // accepted while a Pause was taking effect
	backoff time.Duration // after an accept failure such as EMFILE
}

// maxAcceptBackoff caps the pause after repeated accept failures.
const maxAcceptBackoff = time.Second

// sockOptions are the TCP options of the connections cfg makes.
func (c *config) sockOptions() driver.SockOptions {
	if c.unix {
		return driver.SockOptions{AcceptBatch: c.acceptBatch} // no TCP options: spare the calls
	}
	o := driver.SockOptions{NoDelay: !c.nagle, KeepAlive: c.keepAlive, AcceptBatch: c.acceptBatch, Local: c.localAddr}
	if o.KeepAlive == 0 {
		o.KeepAlive = defaultKeepAlive
	}
	return o
}

// A deferred listener's first-data timeout bounds the whole life of a
// silent client: the kernel holds it first (cfg.deferHeld), the
// connection's timer the rest after accept (see Conn.deadline).
const (
	// defaultDeferBound is the first-data timeout of a deferred listener
	// given none: otherwise the kernel would hand a silent client over
	// after its wait and the connection would be kept for ever.
	defaultDeferBound = 30 * time.Second
	// minAfterDefer is the least of the timeout left after the kernel's
	// wait, so that a connection handed over with its first bytes is read
	// well before its timer fires.
	minAfterDefer = 250 * time.Millisecond
)

// setDeferAccept applies WithDeferAccept to ln and records in cfg how long
// the kernel holds a silent client.
func setDeferAccept(ln net.Listener, cfg *config, log *slog.Logger) error {
	if !cfg.deferAccept || cfg.unix {
		return nil
	}
	if cfg.timeouts[FirstDataTimeout] <= 0 {
		cfg.timeouts[FirstDataTimeout] = int64(defaultDeferBound)
		cfg.noteTimeouts()
	}
	bound := time.Duration(cfg.timeouts[FirstDataTimeout])
	held, supported, err := sockopt.SetDeferAccept(ln, bound-minAfterDefer)
	if err != nil {
		return err
	}
	if supported && held == 0 {
		log.Warn("proactor: first-data timeout too short to defer accepting; the kernel's shortest wait is 1s",
			"addr", ln.Addr(), "first_data_timeout", bound)
	}
	cfg.deferHeld = held
	return nil
}

func (l *loop) listen(ln *listener) error {
	if ln.closed {
		return ErrServerClosed // the server began to stop before this ran
	}
	slot := len(l.lns)
	for i, x := range l.lns {
		if x == nil {
			slot = i
			break
		}
	}
	if slot == len(l.lns) {
		l.lns = append(l.lns, nil)
	}
	l.lnGen++
	ln.tok = driver.MakeToken(uint32(slot), l.lnGen)
	if err := l.poller.Listen(ln.tok, ln.ln, ln.cfg.sockOptions()); err != nil {
		return err
	}
	l.lns[slot] = ln
	if ln.srv.paused.Load() || ln.srv.acceptStopped.Load() {
		return l.poller.SetAccepting(ln.tok, false)
	}
	return nil
}

func (l *loop) listener(t driver.Token) *listener {
	if s := t.Slot(); int(s) < len(l.lns) {
		if ln := l.lns[s]; ln != nil && ln.tok == t {
			return ln
		}
	}
	return nil
}

// unlisten closes the listening socket; connections already accepted and
// held by a pause are closed too.
func (ln *listener) unlisten() {
	if ln.closed {
		return
	}
	ln.closed = true
	l := ln.loop
	ln.ln.Close()
	if l.listener(ln.tok) != ln {
		return // never registered: the stop overtook start, which gives up
	}
	l.poller.Unlisten(ln.tok)
	for _, s := range ln.held {
		l.poller.Discard(s)
	}
	ln.held = nil
	l.lns[ln.tok.Slot()] = nil
}

func (ln *listener) setAccepting(on bool) {
	if ln.closed {
		return
	}
	if err := ln.loop.poller.SetAccepting(ln.tok, on); err != nil {
		ln.srv.log.Error("proactor: pause/resume accepting", "addr", ln.ln.Addr(), "err", err)
	}
}

// resume accepts again and opens the connections held by the pause.
func (ln *listener) resume() {
	if ln.closed || ln.srv.paused.Load() || ln.srv.acceptStopped.Load() {
		return
	}
	ln.setAccepting(true)
	held := ln.held
	ln.held = nil
	for _, s := range held {
		ln.dispatch(s)
	}
}

// dispatch admits an accepted socket (lists, filter, limits) and hands it
// to the loop that will own it.
func (ln *listener) dispatch(s driver.Sock) {
	srv := ln.srv
	if ln.cfg.proxy {
		// Admitted once the PROXY header names the client (proxy.go).
	} else if why, ok := srv.admit(ln.cfg, ln.loop.idx, s.Peer); !ok {
		srv.stats[ln.loop.idx].rejected[why].Add(1)
		ln.loop.poller.Discard(s)
		return
	}
	target := ln.loop // a WithReusePort listener keeps what it accepts
	if !ln.cfg.reusePort {
		target = srv.eng.pickFor(ln.cfg.balance)
	}
	if target == ln.loop {
		ln.loop.open(ln, s)
		return
	}
	target.coming.Add(1)
	if !target.push(task{kind: taskOpen, ln: ln, sock: s}) {
		target.coming.Add(-1)
		ln.unadmit(s.Peer)
		ln.loop.poller.Discard(s)
	}
}

func (l *loop) Accepted(t driver.Token, s driver.Sock) {
	ln := l.listener(t)
	if ln == nil {
		l.poller.Discard(s)
		return
	}
	ln.backoff = 0
	// After StopAccepting, a socket accepted before the stop took effect
	// is served: it is a client's connection, held by nobody else.
	if ln.srv.paused.Load() && !ln.srv.acceptStopped.Load() {
		ln.held = append(ln.held, s)
		ln.setAccepting(false)
		return
	}
	ln.dispatch(s)
}

// AcceptFailed backs off: with descriptors exhausted (EMFILE, ENFILE) the
// listener stays readable, and accepting at once again would spin.
func (l *loop) AcceptFailed(t driver.Token, err error) {
	ln := l.listener(t)
	if ln == nil {
		return
	}
	ln.srv.stats[l.idx].acceptErrors.Add(1)
	ln.backoff = min(max(2*ln.backoff, 5*time.Millisecond), maxAcceptBackoff)
	ln.srv.log.Warn("proactor: accept failed; backing off", "addr", ln.ln.Addr(), "err", err, "backoff", ln.backoff)
	ln.setAccepting(false)
	time.AfterFunc(ln.backoff, func() {
		l.push(task{kind: taskFunc, fn: func() {
			if !ln.srv.paused.Load() && !ln.srv.acceptStopped.Load() {
				ln.setAccepting(true)
			}
		}})
	})
}

// unadmit releases what dispatch admitted; a PROXY listener admits later.
func (ln *listener) unadmit(peer netip.AddrPort) {
	if !ln.cfg.proxy {
		ln.srv.unadmit(peer)
	}
}

// open makes a connection of an admitted socket on this loop.
func (l *loop) open(ln *listener, s driver.Sock) {
	srv := ln.srv
	drop := func() {
		ln.unadmit(s.Peer)
		l.poller.Discard(s)
	}
	if l.stopping {
		drop()
		return
	}
	t := l.allocSlot()
	if err := l.poller.Attach(t, s); err != nil {
		l.freeSlot(t)
		drop()
		srv.log.Error("proactor: attaching a connection", "remote", s.Peer, "err", err)
		return
	}
	c := newConn(ln.cfg, l, t, s)
	if ln.cfg.proxy {
		c.awaitProxy() // before others can reach c
	}
	if ln.cfg.tls != nil {
		c.attachTLS(ln.cfg.tls, false) // before others can reach c
	}
	c.lb.set(lbPooled, srv.connPool != nil && c.ext == nil)
	// Registered only once attached: from here on other goroutines can
	// reach c, and every path of theirs ends in finish.
	if !srv.track(c) {
		l.poller.Close(t, true)
		l.freeSlot(t)
		ln.unadmit(s.Peer)
		return
	}
	l.setConn(c)
	if ln.cfg.proxy {
		c.rearm() // the header's timeout; proxyInput opens
		return
	}
	if ln.cfg.tls != nil {
		c.startTLS() // OnOpen once the handshake is done
		return
	}
	c.stats().accepted.Add(1)
	c.rearm()
	c.callOpen()
}

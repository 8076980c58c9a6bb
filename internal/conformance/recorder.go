package conformance

import (
	"fmt"
	"sync"
	"testing"

	"github.com/seed487d475b/proactor"
)

// recorder is a Handler that echoes and records every callback per
// connection, failing the test if two callbacks of one connection overlap or
// come out of order. Hooks let a case change what each callback does.
type recorder struct {
	t      testing.TB
	onOpen func(c *proactor.Conn)
	onData func(c *proactor.Conn, p []byte) // default: echo
	onPeer func(c *proactor.Conn)           // default: Close
	opened chan *proactor.Conn
	closed chan closeEvent

	mu    sync.Mutex
	conns map[uint64]*connRecord // by ID: a pooled *Conn serves several connections
}

type closeEvent struct {
	c   *proactor.Conn
	err error
	rec connRecord
}

type connRecord struct {
	inside  bool
	opened  bool
	peerFIN bool
	closes  int
	data    []byte
}

func newRecorder(t testing.TB) *recorder {
	return &recorder{
		t:      t,
		opened: make(chan *proactor.Conn, 2048),
		closed: make(chan closeEvent, 2048),
		conns:  make(map[uint64]*connRecord),
	}
}

// enter marks a callback as running and checks it may run now.
func (r *recorder) enter(c *proactor.Conn, cb string) *connRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.conns[c.ID()]
	if rec == nil {
		rec = &connRecord{}
		r.conns[c.ID()] = rec
	}
	if rec.inside {
		r.t.Errorf("conn %d: %s while another callback runs", c.ID(), cb)
	}
	if rec.closes > 0 {
		r.t.Errorf("conn %d: %s after OnClose", c.ID(), cb)
	}
	if cb != "OnOpen" && !rec.opened {
		r.t.Errorf("conn %d: %s before OnOpen", c.ID(), cb)
	}
	if cb == "OnData" && rec.peerFIN {
		r.t.Errorf("conn %d: OnData after OnPeerClosed", c.ID())
	}
	rec.inside = true
	return rec
}

func (r *recorder) leave(rec *connRecord) {
	r.mu.Lock()
	rec.inside = false
	r.mu.Unlock()
}

func (r *recorder) OnOpen(c *proactor.Conn) {
	rec := r.enter(c, "OnOpen")
	defer r.leave(rec)
	r.mu.Lock()
	if rec.opened {
		r.t.Errorf("conn %d: OnOpen twice", c.ID())
	}
	rec.opened = true
	r.mu.Unlock()
	if r.onOpen != nil {
		r.onOpen(c)
	}
	r.opened <- c
}

func (r *recorder) OnData(c *proactor.Conn, p []byte) {
	rec := r.enter(c, "OnData")
	defer r.leave(rec)
	r.mu.Lock()
	rec.data = append(rec.data, p...)
	r.mu.Unlock()
	if r.onData != nil {
		r.onData(c, p)
		return
	}
	c.Write(p)
}

func (r *recorder) OnPeerClosed(c *proactor.Conn) {
	rec := r.enter(c, "OnPeerClosed")
	defer r.leave(rec)
	r.mu.Lock()
	if rec.peerFIN {
		r.t.Errorf("conn %d: OnPeerClosed twice", c.ID())
	}
	rec.peerFIN = true
	r.mu.Unlock()
	if r.onPeer != nil {
		r.onPeer(c)
		return
	}
	c.Close()
}

func (r *recorder) OnClose(c *proactor.Conn, err error) {
	rec := r.enter(c, "OnClose")
	r.mu.Lock()
	rec.closes++
	rec.inside = false
	snap := *rec
	snap.data = append([]byte(nil), rec.data...)
	r.mu.Unlock()
	r.closed <- closeEvent{c, err, snap}
}

// waitClose waits for the next OnClose.
func (r *recorder) waitClose(t testing.TB) closeEvent {
	t.Helper()
	return wait(t, r.closed, "OnClose")
}

// received returns the bytes OnData has seen on c so far.
func (r *recorder) received(c *proactor.Conn) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rec := r.conns[c.ID()]; rec != nil {
		return append([]byte(nil), rec.data...)
	}
	return nil
}

func (e closeEvent) String() string { return fmt.Sprintf("conn %d closed: %v", e.c.ID(), e.err) }

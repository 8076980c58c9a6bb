// Package kv is an in-memory key-value store that speaks RESP2, the
// protocol of Redis, so that redis-cli, redis-benchmark and Redis client
// libraries drive it (`proactor serve resp`):
//
//	PING [msg]   ECHO msg   SELECT 0   QUIT
//	SET key value [EX seconds | PX milliseconds] [NX | XX] [KEEPTTL]
//	GET key   DEL key...   EXISTS key...   MGET key...   MSET key value...
//	INCR key   DECR key   INCRBY key n   DECRBY key n
//	EXPIRE key seconds   PEXPIRE key ms   PERSIST key   TTL key   PTTL key
//	DBSIZE   FLUSHALL   FLUSHDB
//	COMMAND [COUNT | INFO name... | DOCS [name...]]   CONFIG GET pattern...
//	CLIENT SETNAME name | GETNAME | ID | INFO | SETINFO ...
//
// Values are strings (integers for INCR and friends are strings of
// digits, as in Redis); there are no other types, so no WRONGTYPE error.
//
// # Connections and pipelining
//
// The framer is resp.PipelineFramer: each OnData gets every whole command
// of a read, and the handler answers them in order into one buffer, written
// with one Write. An unknown command or a wrong one gets an error reply
// ("-ERR unknown command ...", "-ERR wrong number of arguments ...") and
// the connection goes on. A protocol error (bad framing, a bulk string or
// an array over the limits of resp.Limits' defaults) gets "-ERR Protocol
// error: ..." after the replies to the commands before it, and the
// connection closes, as with redis-server. A Write that fails (the
// connection closing, a full write queue) closes the connection too.
//
// # The store
//
// The keys are spread over 256 shards by a hash, each a map behind its own
// mutex, so that connections on every loop share it with little
// contention. Commands on several keys (DEL, EXISTS, MGET, MSET) lock all
// their shards, in order, and are atomic as in Redis. An expired key is
// removed when a command next touches it, and by a sweep ten times a
// second that samples the keys with an expiry, in bounded rounds, as
// redis-server does; DBSIZE counts expired keys that neither has removed
// yet, as redis-server's does.
package kv

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/resp"
)

// DefaultAddr is where `proactor serve resp` listens unless told otherwise.
const DefaultAddr = "127.0.0.1:5379"

// sweepEvery is the period of the sweep of expired keys.
const sweepEvery = 100 * time.Millisecond

// limits are the protocol's limits, the defaults of resp.Limits; the
// framer and the handler must agree on them.
var limits = resp.Limits{}

// Options returns the options that make a server or a listener speak RESP
// to a Handler; give them to proactor.NewServer or Server.Listen.
func Options() []proactor.Option {
	return []proactor.Option{proactor.WithFramer(resp.PipelineFramer{Limits: limits})}
}

// Handler serves the store to any number of connections on any number of
// loops; its methods are safe for concurrent use. Make it with NewHandler
// and Close it when the server has stopped.
type Handler struct {
	proactor.BaseHandler
	store    *store
	commands map[string]*command
	names    []string  // the commands' names, sorted, for COMMAND
	scratch  sync.Pool // of *scratch

	sweepOnce sync.Once // the sweep starts with the first connection
	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
}

// scratch is what one OnData needs and gives back: the replies of a read
// and the arguments of a command (which point into the read).
type scratch struct {
	out  []byte
	args [][]byte
}

// maxScratch is the largest reply buffer kept for the next read; a larger
// one (a huge MGET) goes to the garbage collector.
const maxScratch = 64 << 10

// NewHandler returns a handler with an empty store. It starts nothing: the
// expiry sweep starts with the first connection.
func NewHandler() *Handler {
	h := &Handler{store: newStore(), commands: commandTable(), stop: make(chan struct{}), done: make(chan struct{})}
	h.names = slices.Sorted(maps.Keys(h.commands))
	h.scratch.New = func() any { return &scratch{out: make([]byte, 0, 4096)} }
	return h
}

// Close stops the expiry sweep; the store stays readable by connections
// still open. It returns nil.
func (h *Handler) Close() error {
	h.closeOnce.Do(func() {
		close(h.stop)
		// A sweep that has not started never will; one that has ends.
		h.sweepOnce.Do(func() { close(h.done) })
		<-h.done
	})
	return nil
}

// OnOpen starts the sweep on the first connection.
func (h *Handler) OnOpen(*proactor.Conn) {
	h.sweepOnce.Do(func() { go h.sweepLoop() })
}

func (h *Handler) sweepLoop() {
	defer close(h.done)
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.store.sweep()
		}
	}
}

// OnData answers the commands of frame, which the PipelineFramer of
// Options makes of every whole command at the start of the input, and
// writes the replies at once.
func (h *Handler) OnData(c *proactor.Conn, frame []byte) {
	s := h.scratch.Get().(*scratch)
	out, args := s.out[:0], s.args[:0]
	closing := false
	for len(frame) > 0 && !closing {
		var n int
		var err error
		args, n, _, err = limits.Parse(frame, args[:0])
		if err == nil && n == 0 {
			// The framer gives only whole commands; this would be a bug.
			err = &resp.ProtocolError{Reason: "unfinished command"}
		}
		if err != nil {
			reason := err.Error()
			if pe, ok := err.(*resp.ProtocolError); ok {
				reason = pe.Reason
			}
			out = resp.AppendError(out, "ERR Protocol error: "+reason)
			closing = true
			break
		}
		frame = frame[n:]
		if len(args) > 0 {
			out, closing = h.exec(c, out, args)
		}
	}
	if _, err := c.Write(out); err != nil || closing {
		c.Close()
	}
	clear(args) // they point into the read buffer
	if cap(out) <= maxScratch {
		s.out, s.args = out, args[:0]
		h.scratch.Put(s)
	}
}

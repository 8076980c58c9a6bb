package proactor

import (
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed487d475b/proactor/buffer"
	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/driver/epoll"
	"github.com/seed487d475b/proactor/internal/driver/stdnet"
	"github.com/seed487d475b/proactor/internal/driver/uring"
)

// Engine owns a set of event loops. Each loop is one goroutine that owns its
// connections and runs all their callbacks. Several servers may share one
// engine: listening on many ports costs no extra goroutines. An Engine's
// methods are safe for concurrent use.
type Engine struct {
	name   string
	drv    driver.Driver
	loops  []*loop
	next   atomic.Uint32 // round-robin cursor for new connections
	ids    atomic.Uint64 // connection IDs, never reused
	chunks chunkPools    // write-queue chunks
	bufs   *buffer.Pool  // pooled buffers for WriteBuffer, Broadcast and framing
	log    *slog.Logger
	epoch  time.Time // the loops' clocks count from here
	read   int       // the most one read brings (WithReadBufferSize, or the default)

	// The goroutine that gives back what a burst left (trim.go).
	trimStop, trimDone chan struct{}

	closeOnce sync.Once
	closed    atomic.Bool
}

// Engines lists the engine names usable on this machine, best first.
func Engines() []string {
	var names []string
	if _, err := epoll.New(); err == nil {
		names = append(names, "epoll")
	}
	if _, err := uring.New(); err == nil {
		names = append(names, "uring")
	}
	return append(names, "std")
}

// newDriver resolves an engine name. "auto" prefers epoll, which exists on
// Linux only, and falls back to std, which exists everywhere.
func newDriver(name string) (driver.Driver, error) {
	switch name {
	case "", "auto":
		if d, err := epoll.New(); err == nil {
			return d, nil
		}
		return stdnet.New()
	case "epoll":
		return epoll.New()
	case "std":
		return stdnet.New()
	case "uring":
		return uring.New()
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownEngine, name)
}

// NewEngine starts an engine. Options: WithEngineName, WithLoops,
// WithBusyPoll, WithReadBufferSize, WithLogger, WithBufferPool, WithBufferOptions,
// WithTrimInterval.
func NewEngine(opts ...Option) (*Engine, error) {
	var cfg config
	if err := cfg.apply(opts, "NewEngine", onEngine); err != nil {
		return nil, err
	}
	return newEngine(&cfg)
}

func newEngine(cfg *config) (*Engine, error) {
	drv, err := newDriver(cfg.engineName)
	if err != nil {
		return nil, err
	}
	// The epoch lies in the past so that no clock reading is 0, which
	// connections use for "not set".
	e := &Engine{name: drv.Name(), drv: drv, log: cfg.log(), epoch: time.Now().Add(-time.Second), read: cfg.readSize()}
	e.chunks.init()
	e.bufs = cfg.bufPool
	if e.bufs == nil {
		e.bufs = buffer.NewPool(cfg.bufOpts...)
	}
	n := cfg.loopCount()
	for i := range n {
		p, err := drv.NewPoller(driver.Config{ReadBufferSize: cfg.readBuf})
		if err != nil {
			e.Close()
			return nil, err
		}
		l := newLoop(e, i, p)
		l.busyPoll = int64(max(cfg.busyPoll, 0))
		e.loops = append(e.loops, l)
		go l.run()
	}
	e.startTrim(cfg.trimInterval())
	return e, nil
}

// clock returns monotonic nanoseconds since the epoch.
func (e *Engine) clock() int64 { return int64(time.Since(e.epoch)) }

// Buffers returns the engine's buffer pool: Get a buffer there, fill it and
// hand it to Conn.WriteBuffer or Server.BroadcastBuffer to send it without a
// copy.
func (e *Engine) Buffers() *buffer.Pool { return e.bufs }

// Name returns the engine's I/O backend, such as "epoll".
func (e *Engine) Name() string { return e.name }

// Loops returns the number of event loops.
func (e *Engine) Loops() int { return len(e.loops) }

// pick chooses the loop for a new connection or listener, round-robin.
func (e *Engine) pick() *loop {
	return e.loops[(e.next.Add(1)-1)%uint32(len(e.loops))]
}

// pickFor chooses the loop for an accepted connection: round-robin, or the
// loop with the fewest connections (open, opening, or handed over and not
// yet opened), ties going round-robin. The counts are read without a lock,
// so a burst may overshoot by the connections in flight between loops.
func (e *Engine) pickFor(b LoadBalance) *loop {
	if b != LeastConnections || len(e.loops) == 1 {
		return e.pick()
	}
	n := uint32(len(e.loops))
	start := e.next.Add(1) - 1
	best, least := e.loops[start%n], int32(math.MaxInt32)
	for i := range n {
		l := e.loops[(start+i)%n]
		if load := l.inUse.Load() + l.coming.Load(); load < least {
			best, least = l, load
		}
	}
	return best
}

// Close stops the engine: every connection still open on it is aborted
// (OnClose receives ErrEngineClosed), listeners are closed, and the loops
// exit. Close waits for all of it and must not be called from a callback.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		e.stopTrim()
		for _, l := range e.loops {
			l.stop()
		}
		for _, l := range e.loops {
			<-l.done
		}
	})
	return nil
}

package proactor

import (
	"log/slog"
	"runtime"
	"time"
)

// Option configures an Engine or a Server. Engine options given to
// NewServer configure the server's private engine, and are ignored when
// WithEngine supplies a shared one.
type Option func(*config)

type config struct {
	engine     *Engine
	engineName string
	loops      int
	readBuf    int
	logger     *slog.Logger
	linger     time.Duration
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	return c
}

func (c *config) loopCount() int {
	if c.loops > 0 {
		return c.loops
	}
	return runtime.GOMAXPROCS(0)
}

func (c *config) log() *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	return slog.Default()
}

func (c *config) lingerTime() time.Duration {
	switch {
	case c.linger < 0:
		return 0
	case c.linger == 0:
		return 5 * time.Second
	}
	return c.linger
}

// WithEngine makes a server run on a shared engine instead of a private one.
// Several servers may share one engine; closing a server leaves a shared
// engine running.
func WithEngine(e *Engine) Option { return func(c *config) { c.engine = e } }

// WithEngineName selects the I/O engine: "epoll" (Linux), "std" (Go's net
// package, everywhere), or "auto", the default: epoll where it exists, std
// elsewhere. See docs/ARCHITECTURE.md for what each guarantees.
func WithEngineName(name string) Option { return func(c *config) { c.engineName = name } }

// WithLoops sets the number of event loops, each a goroutine owning its
// connections. The default is runtime.GOMAXPROCS(0).
func WithLoops(n int) Option { return func(c *config) { c.loops = n } }

// WithReadBufferSize sets the size of the read buffer, the most one OnData
// call receives. On epoll the buffer belongs to the loop (default 64 KiB),
// so an idle connection holds none; on std each connection's reader holds
// one (default 16 KiB).
func WithReadBufferSize(n int) Option { return func(c *config) { c.readBuf = n } }

// WithLogger sets the logger for panics and engine errors. The default is
// slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithLinger bounds the lingering close: after Close has sent every queued
// byte and a FIN, the connection keeps reading (and discarding) until the
// peer's FIN or this long, so that closing with unread input does not turn
// into a reset that destroys the reply in flight. The default is 5s; a
// negative value closes at once after the FIN.
func WithLinger(d time.Duration) Option { return func(c *config) { c.linger = d } }

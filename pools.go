package proactor

import (
	"time"

	"github.com/seed487d475b/proactor/buffer"
)

// WithBufferPool makes the engine use p as its buffer pool (Engine.Buffers:
// partial frames, TLS, WriteBuffer and Broadcast) instead of one of its
// own, so that a program sizes it once (buffer.WithMaxRetained,
// buffer.WithMaxPooled) or shares it between engines and its own code.
// The engine trims p as it would its own (see WithTrimInterval); several
// engines sharing p each trim it. An engine option. Default: a pool of the
// engine's own, made with WithBufferOptions.
func WithBufferPool(p *buffer.Pool) Option {
	return scoped("WithBufferPool", onEngine, func(c *config) { c.bufPool = p })
}

// WithBufferOptions sizes the engine's own buffer pool: how many free
// buffers each size class keeps (buffer.WithMaxRetained, default 1024
// for classes up to 64 KiB, less for larger ones) and the largest buffer
// kept for reuse (buffer.WithMaxPooled, default 16 MiB). Ignored with
// WithBufferPool. An engine option. Default: the buffer package's
// defaults.
func WithBufferOptions(opts ...buffer.Option) Option {
	return scoped("WithBufferOptions", onEngine, func(c *config) { c.bufOpts = append(c.bufOpts, opts...) })
}

// WithTrimInterval sets how often the engine gives back memory that sat
// unused in its free lists (buffer pool, write-queue chunks, the engines'
// spare buffers) for a whole period: a burst's memory goes within two
// periods, a steady load keeps its working set. A shorter period returns
// memory sooner and costs a pass over the free lists each time; a
// negative d never trims (the lists stay within their caps). An engine
// option. Default: 10s.
func WithTrimInterval(d time.Duration) Option {
	return scoped("WithTrimInterval", onEngine, func(c *config) { c.trimEvery = d })
}

func (c *config) trimInterval() time.Duration {
	if c.trimEvery == 0 {
		return trimEvery
	}
	return c.trimEvery
}

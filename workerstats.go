package proactor

import "github.com/seed487d475b/proactor/workers"

// WithWorkerPool names the workers pool a server's handler hands its long
// work to, so that Stats.Workers (and with it the metrics and `proactor
// ctl stats`) reports its jobs: queued, running, completed and rejected.
// The server only reads the pool's counters; the pool stays the handler's
// to size and to close. Server-wide: refused by Listen. Default:
// none (Stats.Workers is zero).
func WithWorkerPool(p *workers.Pool) Option {
	return scoped("WithWorkerPool", onServer|onClient, func(c *config) { c.workerPool = p })
}

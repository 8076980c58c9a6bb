package workers

import "log/slog"

// DefaultQueueSize is the number of pending jobs a Pool holds, across all
// keys, when WithQueueSize is not given.
const DefaultQueueSize = 1024

// Option configures a Pool; pass options to New.
type Option func(*config)

// config holds the settings of a Pool. Its zero value means the documented
// defaults.
type config struct {
	queueSize int          // 0: DefaultQueueSize
	logger    *slog.Logger // nil: slog.Default() at the time of logging
}

// WithQueueSize bounds the number of pending jobs: jobs accepted by Submit
// or SubmitWait that have not started yet, summed over all keys. Running
// jobs do not count. The default, used when n <= 0, is DefaultQueueSize.
// The bound is fixed for the life of the Pool; Resize does not change it.
func WithQueueSize(n int) Option {
	return func(c *config) { c.queueSize = max(n, 0) }
}

// WithLogger sets the logger that reports jobs that panic. The default, used
// when l is nil, is slog.Default() as it stands when the panic is logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

func (c *config) capacity() int {
	if c.queueSize > 0 {
		return c.queueSize
	}
	return DefaultQueueSize
}

func (c *config) log() *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	return slog.Default()
}

package proactor

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Backoff is how long a Reconnector waits between attempts: Initial, then
// Multiplier times more after each consecutive failure, up to Max, each wait
// moved by up to ±Jitter of itself at random so that many clients do not
// redial in step. Zero fields take the defaults shown.
type Backoff struct {
	Initial     time.Duration // 100ms
	Max         time.Duration // 30s
	Multiplier  float64       // 2
	Jitter      float64       // 0.2; negative: none
	MaxAttempts int           // consecutive failed dials before giving up; 0: never give up
}

func (b Backoff) wait(failures int) time.Duration {
	d, m := b.Initial, b.Multiplier
	if d <= 0 {
		d = 100 * time.Millisecond
	}
	if m < 1 {
		m = 2
	}
	ceiling := b.Max
	if ceiling <= 0 {
		ceiling = 30 * time.Second
	}
	for i := 1; i < failures && d < ceiling; i++ {
		d = time.Duration(float64(d) * m)
	}
	d = min(d, ceiling)
	j := b.Jitter
	if j == 0 {
		j = 0.2
	}
	j = min(max(j, 0), 1)
	return time.Duration(float64(d) * (1 + j*(2*rand.Float64()-1)))
}

// Reconnector keeps one connection to an address open: it dials, and when
// the connection closes or a dial fails it waits (see Backoff) and dials
// again. The Client's handler runs each connection; OnOpen marks every
// success. Its methods are safe for concurrent use.
type Reconnector struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	conn *Conn
	err  error
}

// Reconnect starts keeping a connection to addr open.
func (cl *Client) Reconnect(network, addr string, b Backoff) *Reconnector {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Reconnector{cancel: cancel, done: make(chan struct{})}
	go r.run(ctx, cl, network, addr, b)
	return r
}

func (r *Reconnector) run(ctx context.Context, cl *Client, network, addr string, b Backoff) {
	defer close(r.done)
	failures := 0
	for {
		c, err := cl.dial(ctx, network, addr, closeGracefully)
		if err != nil {
			err = dialError(network, addr, err)
			if ctx.Err() != nil {
				return
			}
			failures++
			if b.MaxAttempts > 0 && failures >= b.MaxAttempts {
				r.mu.Lock()
				r.err = err
				r.mu.Unlock()
				return
			}
		} else {
			failures = 0
			r.setConn(c)
			select {
			case <-c.ext.closed:
			case <-ctx.Done():
				closeGracefully(c)
				r.setConn(nil)
				return
			}
			r.setConn(nil)
		}
		t := time.NewTimer(b.wait(max(failures, 1)))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// closeGracefully is Stop's end of a connection, also of one that opened in
// the instant Stop was called (its OnOpen has run): a graceful close, and
// Stop returns after its OnClose.
func closeGracefully(c *Conn) error {
	err := c.Close()
	<-c.ext.closed
	return err
}

func (r *Reconnector) setConn(c *Conn) {
	r.mu.Lock()
	r.conn = c
	r.mu.Unlock()
}

// Conn returns the open connection, or nil between connections.
func (r *Reconnector) Conn() *Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conn
}

// Stop ends the redialing, closes the open connection gracefully and waits
// until the Reconnector's goroutine has exited.
func (r *Reconnector) Stop() {
	r.cancel()
	<-r.done
}

// Done is closed once the Reconnector has stopped: by Stop, or by giving up
// after Backoff.MaxAttempts.
func (r *Reconnector) Done() <-chan struct{} { return r.done }

// Err returns the last dial error once the Reconnector has given up, else nil.
func (r *Reconnector) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

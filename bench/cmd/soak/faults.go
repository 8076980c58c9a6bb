package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// faultStats counts one kind of fault client against one server. A client
// ends as expected (the server closed it, or it got every echo it read
// right and left), or as a failure: a wrong byte, a reply where none was
// due, or a connection the server should have closed and kept.
type faultStats struct {
	kind     string
	clients  atomic.Int64 // connections made
	expected atomic.Int64
	closed   atomic.Int64 // of expected, closed by the server
	failures atomic.Int64
	dialErrs atomic.Int64 // dials that failed (not failures: floods may overflow the backlog)
	timeouts atomic.Int64 // of expected, clients whose reply did not come in time (a loaded machine)
	checked  atomic.Int64 // echoed bytes verified
	maxLife  atomic.Int64 // nanoseconds: the longest life of a connection the server closed

	mu        sync.Mutex
	firstErr  error
	firstDial error
}

func (s *faultStats) fail(err error) {
	s.failures.Add(1)
	s.mu.Lock()
	if s.firstErr == nil {
		s.firstErr = err
	}
	s.mu.Unlock()
}

func (s *faultStats) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstErr
}

func (s *faultStats) dialErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstDial
}

// late counts a client whose reply did not come in time: not the server's
// fault on a loaded machine, but shown.
func (s *faultStats) late() {
	s.expected.Add(1)
	s.timeouts.Add(1)
}

// closedAfter counts a connection the server closed after life.
func (s *faultStats) closedAfter(life time.Duration) {
	s.expected.Add(1)
	s.closed.Add(1)
	for {
		old := s.maxLife.Load()
		if int64(life) <= old || s.maxLife.CompareAndSwap(old, int64(life)) {
			return
		}
	}
}

// faultConfig is what the fault clients know of the servers' protection
// settings, to tell a connection the server should have closed.
type faultConfig struct {
	firstData, read, write time.Duration // the server's timeouts; 0 is off
	slack                  time.Duration // allowed beyond a timeout
	capped                 bool          // the server has --max-conns, so it may refuse a connection
	slowLife               time.Duration // how long a slow reader goes on reading
	greeting               string        // what the server sends first on a connection ("" for nothing)
}

// bound is how long a connection that timeout should close may live: the
// timeout plus slack, or hold (the client closes it itself) when the
// timeout is off.
func (f faultConfig) bound(timeout, hold time.Duration) time.Duration {
	if timeout == 0 {
		return hold
	}
	return timeout + f.slack
}

// serverClosed reports whether err is how a read or write sees a
// connection the server closed or reset.
func serverClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// dial connects to addr within 5 s; rcvbuf, when positive, sets the
// socket's receive buffer before the connection is made, which bounds the
// window the server may fill.
func dial(ctx context.Context, addr string, rcvbuf int) (*net.TCPConn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			})
			return errors.Join(err, serr)
		}
	}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// workers runs n copies of fn until ctx ends; fn is one client's life and
// must be bounded in time. The returned wait blocks until all have returned.
func workers(ctx context.Context, n int, fn func(worker int, rng *rand.Rand)) (wait func()) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			for ctx.Err() == nil {
				fn(i, rng)
			}
		})
	}
	return wg.Wait
}

// pause sleeps d unless ctx ends first.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// connect dials for a fault client and counts the attempt; nil when the
// dial failed, the server refused the connection, or ctx ended.
func connect(ctx context.Context, st *faultStats, addr string, rcvbuf int) *net.TCPConn {
	c, err := dial(ctx, addr, rcvbuf)
	if errors.Is(err, syscall.ECONNRESET) {
		// Refused (--max-conns) so fast that the reset came before the
		// dial returned: a connection the server closed at once.
		st.clients.Add(1)
		st.closedAfter(0)
		return nil
	}
	if err != nil {
		if ctx.Err() == nil {
			st.dialErrs.Add(1)
			st.mu.Lock()
			if st.firstDial == nil {
				st.firstDial = err
			}
			st.mu.Unlock()
			pause(ctx, 10*time.Millisecond)
		}
		return nil
	}
	st.clients.Add(1)
	return c
}

// greeted reads the server's greeting, if it sends one, which comes before
// anything a client is checked for. It reports false when the greeting
// did not come, counted as a failed exchange would be.
func greeted(st *faultStats, cfg faultConfig, c *net.TCPConn, what string) bool {
	if cfg.greeting == "" {
		return true
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	err := exchange(c, nil, []byte(cfg.greeting))
	c.SetReadDeadline(time.Time{})
	if err != nil {
		exchangeFailed(st, cfg, true, what+", the greeting", err)
		return false
	}
	return true
}

// resetClient (echo) writes part of a stream, reads back and checks part of
// the echo, and closes with SO_LINGER 0 so that the server sees a reset
// with data in flight both ways.
func resetClient(ctx context.Context, st *faultStats, addr string, rng *rand.Rand) {
	c := connect(ctx, st, addr, 0)
	if c == nil {
		return
	}
	defer pause(ctx, 10*time.Millisecond)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	seed := rng.Uint64()
	sent := 16<<10 + rng.IntN(512<<10)
	buf := make([]byte, sent)
	fillStream(buf, seed, 0)
	if _, err := c.Write(buf); err != nil {
		st.expected.Add(1) // the write failing is the server's right under load
		c.SetLinger(0)
		return
	}
	got := buf[:rng.IntN(sent+1)]
	n, err := io.ReadFull(c, got)
	st.checked.Add(int64(n))
	switch cerr := checkStream(got[:n], seed, 0); {
	case cerr != nil:
		st.fail(fmt.Errorf("reset client: %w", cerr))
	case err == nil:
		st.expected.Add(1)
	case isTimeout(err):
		st.late()
	default:
		st.fail(fmt.Errorf("reset client, before its reset: %w", err))
	}
	c.SetLinger(0)
}

// silentClient connects and sends nothing: the server must close it within
// its first-data timeout (plus slack), without a byte after its greeting.
func silentClient(ctx context.Context, st *faultStats, addr string, cfg faultConfig) {
	c := connect(ctx, st, addr, 0)
	if c == nil {
		return
	}
	defer c.Close()
	if !greeted(st, cfg, c, "silent client") {
		return
	}
	awaitClose(st, c, time.Now(), "silent client", cfg.firstData, cfg.bound(cfg.firstData, 10*time.Second))
}

// awaitClose waits, at most bound after t0, for the server to close c,
// which must not send a byte. With the timeout off (0), a connection still
// open at the bound is expected; with it on, it is a failure.
func awaitClose(st *faultStats, c *net.TCPConn, t0 time.Time, what string, timeout, bound time.Duration) {
	c.SetReadDeadline(t0.Add(bound))
	var b [64]byte
	n, err := c.Read(b[:])
	switch {
	case n > 0:
		st.fail(fmt.Errorf("%s: the server sent %q", what, b[:n]))
	case serverClosed(err):
		st.closedAfter(time.Since(t0))
	case isTimeout(err) && timeout == 0:
		st.expected.Add(1)
	case isTimeout(err):
		st.fail(fmt.Errorf("%s: still open %v after connecting (timeout %v)", what, bound, timeout))
	default:
		st.fail(fmt.Errorf("%s: %w", what, err))
	}
}

// The slow readers' streams: a never-reader writes more than the server's
// socket buffers and its write queue hold together, so that the server's
// output stops draining; its own receive buffer is small for the same
// reason.
const (
	slowTotal  = 16 << 20
	slowRcvbuf = 16 << 10
	slowChunk  = 64 << 10
	slowRead   = 4 << 10
	slowEvery  = 20 * time.Millisecond
)

// slowClient (echo) writes a stream of slowTotal bytes while reading the
// echo slowly (4 KiB every 20 ms, for cfg.slowLife), or, with never, not at all until its
// writes end. Every byte it reads is checked. A never-reader the server
// does not close within its write timeout (plus slack) is a failure; a
// slow reader may be closed or not.
func slowClient(ctx context.Context, st *faultStats, addr string, cfg faultConfig, never bool, rng *rand.Rand) {
	c := connect(ctx, st, addr, slowRcvbuf)
	if c == nil {
		return
	}
	defer c.Close()
	t0 := time.Now()
	// A never-reader's writes stop once the buffers are full, some time
	// after it connects: a second slack for that.
	life := cfg.bound(cfg.write, 10*time.Second) + cfg.slack
	if !never {
		life = cfg.slowLife
	}
	c.SetDeadline(t0.Add(life))
	seed := rng.Uint64()
	var werr error
	written := make(chan struct{})
	go func() {
		defer close(written)
		buf := make([]byte, slowChunk)
		for off := 0; off < slowTotal; off += len(buf) {
			fillStream(buf, seed, int64(off))
			if _, werr = c.Write(buf); werr != nil {
				return
			}
		}
	}()
	if never {
		<-written
	}
	off, rerr := readChecked(st, c, seed, never)
	c.SetLinger(0)
	c.Close() // ends the writer if it is still blocked
	<-written
	if errors.Is(rerr, errMismatch) {
		return // counted by readChecked
	}
	endErr := rerr
	if never && werr != nil {
		endErr = werr // what ended a never-reader is what ended its writes
	}
	switch {
	case off == slowTotal:
		st.expected.Add(1)
	case serverClosed(endErr):
		st.closedAfter(time.Since(t0))
	case isTimeout(endErr) && (!never || cfg.write == 0):
		st.expected.Add(1)
	case isTimeout(endErr):
		st.fail(fmt.Errorf("reader that never reads: still open %v after connecting (write timeout %v)", life, cfg.write))
	default:
		st.fail(fmt.Errorf("slow reader: %w", endErr))
	}
}

var errMismatch = errors.New("echo differs")

// readChecked reads the echo of stream seed until slowTotal bytes or an
// error, checking every byte; a slow reader sleeps between reads. It
// returns the bytes read and what ended the reading: nil after slowTotal,
// errMismatch (counted as a failure) after a wrong byte.
func readChecked(st *faultStats, c *net.TCPConn, seed uint64, fast bool) (int64, error) {
	var off int64
	buf := make([]byte, slowRead)
	for off < slowTotal {
		n, err := c.Read(buf)
		if cerr := checkStream(buf[:n], seed, off); cerr != nil {
			st.fail(fmt.Errorf("slow reader: %w", cerr))
			return off, errMismatch
		}
		off += int64(n)
		st.checked.Add(int64(n))
		if err != nil {
			return off, err
		}
		if !fast {
			time.Sleep(slowEvery)
		}
	}
	return off, nil
}

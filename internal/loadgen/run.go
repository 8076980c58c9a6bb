package loadgen

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The phases of a run: its workers send from the start, record latencies
// only while measuring, and once stopped send nothing new but receive and
// check every reply still in flight.
const (
	phaseWarm int32 = iota
	phaseMeasure
	phaseStop
)

// Run is one load against one address. Its methods are safe for concurrent
// use by its workers and the goroutine that drives it.
type Run struct {
	ctx   context.Context // ends the dials
	sc    *Scenario
	addr  *net.TCPAddr
	host  string // as given, the name a certificate must have
	depth int
	tls   *tls.Config // nil: plain TCP
	start time.Time
	phase atomic.Int32
	done  atomic.Int64 // operations completed, in every phase
	fails atomic.Int64 // churn cycles that failed

	rate      float64 // requests a second in all; 0: unpaced
	workers   uint32  // streams or churn workers, set by Start
	paceStart int64   // when Start was called, since start
	stopOnce  sync.Once
	stopped   chan struct{} // closed by Stop

	latMu sync.Mutex
	lat   *hdrhistogram.Histogram // nanoseconds
	lag   *hdrhistogram.Histogram // of paced sends, nanoseconds

	errMu sync.Mutex
	err   error // the first error
}

// MaxInFlight bounds the bytes a stream connection keeps in flight: a
// stream writes its requests before it reads, so more than the socket
// buffers and the server's write queue hold between them would stall both
// sides.
const MaxInFlight = 1 << 20

// New prepares a run of sc against addr with depth messages in flight per
// stream connection; ctx ends its dials.
func New(ctx context.Context, addr string, sc *Scenario, depth int) (*Run, error) {
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, err
	}
	if depth < 1 {
		return nil, fmt.Errorf("depth %d: want at least one message in flight", depth)
	}
	if inflight := depth * max(sc.Size(), sc.ReplySize()); inflight > MaxInFlight {
		return nil, fmt.Errorf("depth × size = %d bytes in flight per connection, over %d: the requests would fill the socket buffers before a reply is read", inflight, MaxInFlight)
	}
	host, _, _ := net.SplitHostPort(addr)
	return &Run{ctx: ctx, sc: sc, addr: a, host: host, depth: depth, start: time.Now(),
		lat: newHistogram(), lag: newHistogram(), stopped: make(chan struct{})}, nil
}

// UseTLS makes the run's connections speak TLS with cfg (with no
// ServerName in it, the host of the address is verified). Every dial then
// makes a full handshake, as cfg has no ClientSessionCache unless the
// caller gave it one: churn measures handshakes. Call it before any dial.
func (r *Run) UseTLS(cfg *tls.Config) {
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = r.host
	}
	r.tls = cfg
}

// handshakeWait bounds a TLS handshake, as the greeting's wait bounds a
// server that never speaks.
const handshakeWait = 10 * time.Second

// dial connects, makes the TLS handshake with UseTLS, and reads the
// server's greeting, if the scenario has one.
func (r *Run) dial() (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(r.ctx, "tcp", r.addr.String())
	if err != nil {
		return nil, err
	}
	tc := c
	if r.tls != nil {
		ctx, cancel := context.WithTimeout(r.ctx, handshakeWait)
		t := tls.Client(c, r.tls)
		err := t.HandshakeContext(ctx)
		cancel()
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		tc = t
	}
	if r.sc.greeted {
		// A server that never greets (another protocol's) must fail the
		// dial as a wrong reply would, not hang it.
		const wait = 5 * time.Second
		tc.SetReadDeadline(time.Now().Add(wait))
		err := r.sc.ReadGreeting(tc)
		tc.SetReadDeadline(time.Time{})
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("no greeting within %v: %w", wait, ErrMismatch)
		}
		if err != nil {
			tc.Close()
			return nil, err
		}
	}
	return tc, nil
}

// Measure starts recording latencies, unless the run has stopped already
// (a stream failed during the warm-up).
func (r *Run) Measure() { r.phase.CompareAndSwap(phaseWarm, phaseMeasure) }

// Stop makes the workers send nothing new; streams return once every reply
// in flight has come back, churn workers after their current cycle.
func (r *Run) Stop() {
	r.phase.Store(phaseStop)
	r.stopOnce.Do(func() { close(r.stopped) })
}

// Stopped returns a channel closed by Stop, from the driver or from a
// stream that failed.
func (r *Run) Stopped() <-chan struct{} { return r.stopped }

// Done returns the operations completed so far: replies checked for
// streams, cycles for churn.
func (r *Run) Done() int64 { return r.done.Load() }

// Failed returns the churn cycles that failed.
func (r *Run) Failed() int64 { return r.fails.Load() }

func (r *Run) now() int64 { return int64(time.Since(r.start)) }

// Fail records err unless an error is recorded already.
func (r *Run) Fail(err error) {
	r.errMu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.errMu.Unlock()
}

// Err returns the first error recorded.
func (r *Run) Err() error {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	return r.err
}

// newHistogram holds durations from 1ns to a minute, to 3 digits.
func newHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(1, int64(time.Minute), 3) }

// Record adds latencies, in nanoseconds, to the histogram.
func (r *Run) Record(ns []int64) { r.record(r.lat, ns) }

func (r *Run) record(h *hdrhistogram.Histogram, ns []int64) {
	r.latMu.Lock()
	for _, v := range ns {
		h.RecordValue(max(1, min(v, h.HighestTrackableValue())))
	}
	r.latMu.Unlock()
}

// Quantile returns the latency at percentile q (0-100) of those recorded.
func (r *Run) Quantile(q float64) time.Duration { return r.quantile(r.lat, q) }

func (r *Run) quantile(h *hdrhistogram.Histogram, q float64) time.Duration {
	r.latMu.Lock()
	defer r.latMu.Unlock()
	return time.Duration(h.ValueAtQuantile(q))
}

// Max returns the highest latency recorded.
func (r *Run) Max() time.Duration {
	r.latMu.Lock()
	defer r.latMu.Unlock()
	return time.Duration(r.lat.Max())
}

// DialAll opens n connections, 64 at a time, and runs each through prepare
// (nil: none). On an error it closes what it opened.
func (r *Run) DialAll(n int, prepare func(c net.Conn, id uint32) error) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, 64) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || r.Err() != nil {
					return
				}
				c, err := r.dial()
				if err != nil {
					r.Fail(fmt.Errorf("dial %d of %d: %w", i+1, n, err))
					return
				}
				conns[i] = c
				if prepare != nil {
					if err := prepare(c, uint32(i)); err != nil {
						r.Fail(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if err := r.Err(); err != nil {
		CloseAll(conns)
		return nil, err
	}
	return conns, nil
}

// CloseAll closes every connection of conns.
func CloseAll(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// RoundTrip sends request seq on c and checks the reply, and that nothing
// more has arrived with it; buf is scratch of at least the request's and
// the reply's size.
func (r *Run) RoundTrip(c net.Conn, id, seq uint32, buf []byte) error {
	if _, err := c.Write(r.sc.AppendRequest(buf[:0], id, seq)); err != nil {
		return err
	}
	m := buf[:r.sc.ReplySize()]
	if _, err := io.ReadFull(c, m); err != nil {
		return fmt.Errorf("conn %d message %d: read reply: %w", id, seq, err)
	}
	if err := r.sc.Check(m, id, seq); err != nil {
		return err
	}
	return noMore(c, id, seq+1)
}

// noMore fails if bytes beyond the last reply have already arrived (a
// server that answers twice); it does not wait for any.
func noMore(c net.Conn, id, seq uint32) error {
	if pending(c) {
		return fmt.Errorf("conn %d: bytes after the last reply, as if message %d had been answered: %w", id, seq, ErrMismatch)
	}
	return nil
}

// Stream keeps depth messages in flight on c until Stop: it reads every
// reply available, checks it, and sends as many new requests in one write.
// A paced run (SetRate) sends on its schedule instead.
func (r *Run) Stream(c net.Conn, id uint32) error {
	if r.rate > 0 {
		return r.paced(c, id)
	}
	size, rsize, k := r.sc.Size(), r.sc.ReplySize(), uint32(r.depth)
	br := bufio.NewReaderSize(c, max(4096, rsize*int(k)))
	sendAt := make([]int64, k)
	wbuf := make([]byte, 0, size*int(k))
	lat := make([]int64, 0, 256)
	defer func() { r.Record(lat) }()
	var sent, recv uint32
	now := r.now()
	for ; sent < k; sent++ {
		wbuf = r.sc.AppendRequest(wbuf, id, sent)
		sendAt[sent%k] = now
	}
	if _, err := c.Write(wbuf); err != nil {
		return err
	}
	for {
		m, err := br.Peek(rsize)
		if err != nil {
			return fmt.Errorf("conn %d message %d: read reply: %w", id, recv, err)
		}
		n, err := r.takeReplies(br, m, id, recv, &lat, sendAt)
		if err != nil {
			return err
		}
		recv += n
		if r.phase.Load() == phaseStop {
			if recv != sent {
				continue
			}
			if br.Buffered() > 0 {
				return fmt.Errorf("conn %d: bytes after the last reply: %w", id, ErrMismatch)
			}
			return noMore(c, id, recv)
		}
		wbuf = wbuf[:0]
		now = r.now()
		for range n {
			wbuf = r.sc.AppendRequest(wbuf, id, sent)
			sendAt[sent%k] = now
			sent++
		}
		if _, err := c.Write(wbuf); err != nil {
			return err
		}
	}
}

// takeReplies checks the reply m, the next message recv of stream id, and
// every whole reply buffered after it; measuring, it keeps the latency of
// each, from when it was sent (sendAt, a ring of depth) or, in a paced
// run (sendAt nil), from when it was due. It returns the replies taken.
func (r *Run) takeReplies(br *bufio.Reader, m []byte, id, recv uint32, lat *[]int64, sendAt []int64) (uint32, error) {
	rsize := len(m)
	now := r.now()
	measuring := r.phase.Load() == phaseMeasure
	n := uint32(0)
	for {
		seq := recv + n
		if err := r.sc.Check(m, id, seq); err != nil {
			return n, err
		}
		if measuring && sendAt == nil {
			*lat = r.keep(r.lat, *lat, now-r.due(id, seq))
		} else if measuring {
			*lat = r.keep(r.lat, *lat, now-sendAt[seq%uint32(len(sendAt))])
		}
		br.Discard(rsize)
		n++
		if br.Buffered() < rsize {
			break
		}
		m, _ = br.Peek(rsize)
	}
	r.done.Add(int64(n))
	return n, nil
}

// Churn loops until Stop: connect, one request, check the reply, close.
// A failed cycle is counted and recorded (Fail) and the loop goes on after
// a millisecond; a wrong reply ends it. In a paced run (SetRate) each cycle
// starts when it is due, and its latency runs from then.
func (r *Run) Churn(id uint32) {
	buf := make([]byte, 0, max(r.sc.Size(), r.sc.ReplySize()))
	lat, lag := make([]int64, 0, 256), make([]int64, 0, 256)
	defer func() { r.Record(lat); r.record(r.lag, lag) }()
	pace := time.NewTimer(time.Hour)
	pace.Stop()
	for seq := uint32(0); r.phase.Load() != phaseStop; seq++ {
		t0 := r.now()
		if r.rate > 0 {
			free := t0 // the end of the last cycle
			var ok bool
			if t0, ok = r.waitDue(pace, id, seq); !ok {
				return
			}
			if r.phase.Load() == phaseMeasure {
				lag = r.keep(r.lag, lag, r.now()-max(t0, free))
			}
		}
		c, err := r.dial()
		if err == nil {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			err = r.RoundTrip(c, id, seq, buf)
			c.Close()
		}
		if err != nil && r.ctx.Err() != nil {
			return // interrupted: not a failure of the server's
		}
		if err != nil {
			r.fails.Add(1)
			r.Fail(err)
			if errors.Is(err, ErrMismatch) {
				r.Stop() // the run is void: end it, as a stream does
				return
			}
			time.Sleep(time.Millisecond)
			continue
		}
		r.done.Add(1)
		if r.phase.Load() == phaseMeasure {
			lat = r.keep(r.lat, lat, r.now()-t0)
		}
	}
}

// Start runs a Stream on each of conns, or, with conns nil, churn workers
// goroutines of Churn. A stream's error is recorded and stops the run. The
// returned wait blocks until every worker has returned.
func (r *Run) Start(conns []net.Conn, churn int) (wait func()) {
	r.workers, r.paceStart = uint32(len(conns)), r.now()
	if conns == nil {
		r.workers = uint32(churn)
	}
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			if err := r.Stream(c, uint32(i)); err != nil {
				r.Fail(err)
				r.Stop()
			}
		})
	}
	if conns == nil {
		for i := range churn {
			wg.Go(func() { r.Churn(uint32(i)) })
		}
	}
	return wg.Wait
}

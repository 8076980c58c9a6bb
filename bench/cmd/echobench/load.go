package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

type loadKind int

const (
	streamLoad loadKind = iota // connections × size × messages in flight, for a fixed time
	churnLoad                  // workers each looping: connect, one message, close
	idleLoad                   // connections opened, one round trip each, then held
)

// loadSpec is one load. For churn, conns is the number of concurrent
// workers; for idle, the number of connections held.
type loadSpec struct {
	kind     loadKind
	conns    int
	size     int
	inflight int
}

func (l loadSpec) name() string {
	switch l.kind {
	case churnLoad:
		return fmt.Sprintf("churn %d×%s", l.conns, sizeName(l.size))
	case idleLoad:
		return fmt.Sprintf("idle %d", l.conns)
	}
	return fmt.Sprintf("%d×%s×%d", l.conns, sizeName(l.size), l.inflight)
}

// unit is what one operation of the load is.
func (l loadSpec) unit() string {
	if l.kind == streamLoad {
		return "msg"
	}
	return "conn"
}

func sizeName(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// matchLoad reports whether a --loads entry names l; "x" may stand for "×".
func matchLoad(l loadSpec, want string) bool {
	return strings.EqualFold(strings.ReplaceAll(want, "x", "×"), l.name()) ||
		strings.EqualFold(want, l.name()) ||
		strings.EqualFold(want, strings.Fields(l.name())[0]) // "churn", "idle"
}

var (
	fullLoads = []loadSpec{
		{streamLoad, 100, 64, 1},
		{streamLoad, 1000, 64, 1},
		{streamLoad, 100, 64, 16},
		{streamLoad, 10, 16 << 10, 4},
		{churnLoad, 16, 64, 1},
		{idleLoad, 10000, 64, 1},
	}
	quickLoads = []loadSpec{
		{streamLoad, 20, 64, 1},
		{streamLoad, 100, 64, 1},
		{streamLoad, 20, 64, 16},
		{streamLoad, 4, 16 << 10, 4},
		{churnLoad, 8, 64, 1},
		{idleLoad, 500, 64, 1},
	}
)

// Messages: a 4-byte connection id, a 4-byte sequence number, then bytes of
// a pseudo-random pattern starting at an offset that moves with the
// sequence, so every message of a connection differs and every echoed byte
// is compared with what was sent.
const (
	headerLen     = 8
	patternSpread = 251
)

func newPattern(size int) []byte {
	p := make([]byte, size+patternSpread)
	x := uint64(0x9E3779B97F4A7C15)
	for i := range p {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		p[i] = byte(x)
	}
	return p
}

func appendMsg(b []byte, pattern []byte, size int, id, seq uint32) []byte {
	b = binary.LittleEndian.AppendUint32(b, id)
	b = binary.LittleEndian.AppendUint32(b, seq)
	off := int(seq % patternSpread)
	return append(b, pattern[off:off+size-headerLen]...)
}

// errMismatch marks a verification failure: the run is void.
var errMismatch = errors.New("echoed bytes differ from those sent")

func checkMsg(m []byte, pattern []byte, id, seq uint32) error {
	off := int(seq % patternSpread)
	want := pattern[off : off+len(m)-headerLen]
	if binary.LittleEndian.Uint32(m) == id && binary.LittleEndian.Uint32(m[4:]) == seq && bytes.Equal(m[headerLen:], want) {
		return nil
	}
	exp := appendMsg(nil, pattern, len(m), id, seq)
	i := 0
	for i < len(m) && m[i] == exp[i] {
		i++
	}
	return fmt.Errorf("conn %d message %d, byte %d of %d: %w", id, seq, i, len(m), errMismatch)
}

// latencies is the run's histogram, in nanoseconds; workers fill a local
// slice and add it under the lock.
type latencies struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

func newLatencies() *latencies {
	return &latencies{h: hdrhistogram.New(1, int64(60*time.Second), 3)}
}

func (l *latencies) add(ns []int64) {
	l.mu.Lock()
	for _, v := range ns {
		l.h.RecordValue(max(1, min(v, l.h.HighestTrackableValue())))
	}
	l.mu.Unlock()
}

func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Duration(l.h.ValueAtQuantile(q))
}

const (
	phaseWarm    int32 = iota // running, not measured
	phaseMeasure              // in the measured window
	phaseStop                 // stop sending, drain what is in flight
)

// loadRun is the state one load shares with its workers.
type loadRun struct {
	spec    loadSpec
	addr    *net.TCPAddr
	pattern []byte
	start   time.Time
	phase   atomic.Int32
	done    atomic.Int64 // operations completed, in every phase
	failed  atomic.Int64 // churn cycles that failed
	lat     *latencies

	errMu sync.Mutex
	err   error // the first error
}

func newLoadRun(spec loadSpec, addr string) (*loadRun, error) {
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &loadRun{spec: spec, addr: a, pattern: newPattern(spec.size), start: time.Now(), lat: newLatencies()}, nil
}

func (r *loadRun) now() int64 { return int64(time.Since(r.start)) }

func (r *loadRun) fail(err error) {
	r.errMu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.errMu.Unlock()
}

func (r *loadRun) firstErr() error {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	return r.err
}

// dialAll opens n connections, 64 at a time, and runs each through
// prepare (nil: none).
func (r *loadRun) dialAll(n int, prepare func(c *net.TCPConn, id uint32) error) ([]*net.TCPConn, error) {
	conns := make([]*net.TCPConn, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, 64) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || r.firstErr() != nil {
					return
				}
				c, err := net.DialTCP("tcp", nil, r.addr)
				if err != nil {
					r.fail(fmt.Errorf("dial %d of %d: %w", i+1, n, err))
					return
				}
				conns[i] = c
				if prepare != nil {
					if err := prepare(c, uint32(i)); err != nil {
						r.fail(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := r.firstErr(); err != nil {
		closeAll(conns)
		return nil, err
	}
	return conns, nil
}

func closeAll(conns []*net.TCPConn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// roundTrip sends message seq on c and checks the echo.
func (r *loadRun) roundTrip(c *net.TCPConn, id, seq uint32, buf []byte) error {
	size := r.spec.size
	if _, err := c.Write(appendMsg(buf[:0], r.pattern, size, id, seq)); err != nil {
		return err
	}
	m := buf[:size]
	if _, err := io.ReadFull(c, m); err != nil {
		return fmt.Errorf("conn %d message %d: read echo: %w", id, seq, err)
	}
	return checkMsg(m, r.pattern, id, seq)
}

// streamWorker keeps inflight messages outstanding on c: it reads every
// echo available, checks it, and sends as many new messages in one write.
func (r *loadRun) streamWorker(c *net.TCPConn, id uint32) error {
	size, k := r.spec.size, r.spec.inflight
	br := bufio.NewReaderSize(c, max(4096, size*k))
	sendAt := make([]int64, k)
	wbuf := make([]byte, 0, size*k)
	lat := make([]int64, 0, 256)
	defer func() { r.lat.add(lat) }()
	var sent, recv uint32
	now := r.now()
	for ; sent < uint32(k); sent++ {
		wbuf = appendMsg(wbuf, r.pattern, size, id, sent)
		sendAt[sent%uint32(k)] = now
	}
	if _, err := c.Write(wbuf); err != nil {
		return err
	}
	for {
		m, err := br.Peek(size)
		if err != nil {
			return fmt.Errorf("conn %d message %d: read echo: %w", id, recv, err)
		}
		now := r.now()
		measuring := r.phase.Load() == phaseMeasure
		n := 0
		for {
			if err := checkMsg(m, r.pattern, id, recv); err != nil {
				return err
			}
			if measuring {
				lat = append(lat, now-sendAt[recv%uint32(k)])
				if len(lat) == cap(lat) {
					r.lat.add(lat)
					lat = lat[:0]
				}
			}
			br.Discard(size)
			recv++
			n++
			if br.Buffered() < size {
				break
			}
			m, _ = br.Peek(size)
		}
		r.done.Add(int64(n))
		if r.phase.Load() == phaseStop {
			if recv == sent {
				return nil
			}
			continue
		}
		wbuf = wbuf[:0]
		now = r.now()
		for range n {
			wbuf = appendMsg(wbuf, r.pattern, size, id, sent)
			sendAt[sent%uint32(k)] = now
			sent++
		}
		if _, err := c.Write(wbuf); err != nil {
			return err
		}
	}
}

// churnWorker loops until the stop phase: connect, one message, check the
// echo, close. Failed cycles are counted; a wrong byte voids the run.
func (r *loadRun) churnWorker(id uint32) {
	buf := make([]byte, 0, r.spec.size)
	lat := make([]int64, 0, 256)
	defer func() { r.lat.add(lat) }()
	for seq := uint32(0); r.phase.Load() != phaseStop; seq++ {
		t0 := r.now()
		c, err := net.DialTCP("tcp", nil, r.addr)
		if err == nil {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			err = r.roundTrip(c, id, seq, buf)
			c.Close()
		}
		if err != nil {
			r.failed.Add(1)
			r.fail(err)
			if errors.Is(err, errMismatch) {
				return
			}
			time.Sleep(time.Millisecond)
			continue
		}
		r.done.Add(1)
		if r.phase.Load() == phaseMeasure {
			lat = append(lat, r.now()-t0)
			if len(lat) == cap(lat) {
				r.lat.add(lat)
				lat = lat[:0]
			}
		}
	}
}

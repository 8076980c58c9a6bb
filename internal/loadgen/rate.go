package loadgen

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// A paced run sends on a fixed schedule, as wrk2 does: request seq of
// worker i is due at (seq × workers + i) / rate seconds after Start, so
// the workers' requests interleave evenly at rate a second in all. Its
// latencies run from the due time, not from the send: a server that
// stalls delays the requests that were due meanwhile, and each of those
// counts the stall it waited through (the coordinated omission of a
// closed loop, which sends nothing while it waits and so records a stall
// once). A worker that falls behind sends what is due as soon as it can,
// at most depth in flight.

// pacedPoll bounds a paced stream's wait for a reply, so that it sees Stop
// soon although a read cannot wait on it.
const pacedPoll = 100 * time.Millisecond

// drainWait bounds the wait for the replies in flight once stopped: a
// server that lost a message must not hang the run.
const drainWait = 10 * time.Second

// SetRate paces the run at perSecond requests a second across its workers
// (stream connections or churn workers); 0, the default, sends as fast as
// the replies come. Call it before Start.
func (r *Run) SetRate(perSecond float64) { r.rate = perSecond }

// Rate returns the pace set by SetRate.
func (r *Run) Rate() float64 { return r.rate }

// due returns when request seq of worker i is due, in nanoseconds since
// the run's start.
func (r *Run) due(i, seq uint32) int64 {
	return r.paceStart + int64((float64(seq)*float64(r.workers)+float64(i))*1e9/r.rate)
}

// paced is Stream on the schedule: it sends what is due, as long as fewer
// than depth messages are in flight, and waits for replies no longer than
// until the next is due.
func (r *Run) paced(c net.Conn, id uint32) error {
	size, rsize, k := r.sc.Size(), r.sc.ReplySize(), uint32(r.depth)
	br := bufio.NewReaderSize(c, max(4096, rsize*int(k)))
	wbuf := make([]byte, 0, size*int(k))
	lat, lag := make([]int64, 0, 256), make([]int64, 0, 256)
	defer func() { r.Record(lat); r.record(r.lag, lag) }()
	freed := make([]int64, k) // when each slot of the window came free
	var sent, recv uint32
	stopping := false
	for {
		if !stopping && r.phase.Load() == phaseStop {
			stopping = true
			c.SetReadDeadline(time.Now().Add(drainWait))
		}
		if stopping && recv == sent {
			if br.Buffered() > 0 {
				return fmt.Errorf("conn %d: bytes after the last reply: %w", id, ErrMismatch)
			}
			return noMore(c, id, recv)
		}
		if !stopping {
			now := r.now()
			wbuf = wbuf[:0]
			measuring := r.phase.Load() == phaseMeasure
			for sent-recv < k && r.due(id, sent) <= now {
				if measuring {
					lag = r.keep(r.lag, lag, now-max(r.due(id, sent), freed[sent%k]))
				}
				wbuf = r.sc.AppendRequest(wbuf, id, sent)
				sent++
			}
			if len(wbuf) > 0 {
				if _, err := c.Write(wbuf); err != nil {
					return err
				}
			}
			wait := pacedPoll
			if sent-recv < k {
				wait = min(wait, time.Duration(r.due(id, sent)-now))
			}
			c.SetReadDeadline(time.Now().Add(wait))
		}
		m, err := br.Peek(rsize)
		if err != nil {
			// A timeout before Stop only means a request is due (bufio
			// keeps a part of a reply read so far, and crypto/tls a part
			// of a record).
			if !stopping && errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			return fmt.Errorf("conn %d message %d: read reply: %w", id, recv, err)
		}
		n, err := r.takeReplies(br, m, id, recv, &lat, nil)
		if err != nil {
			return err
		}
		for now := r.now(); n > 0; n-- {
			freed[recv%k] = now
			recv++
		}
	}
}

// keep appends a duration to a worker's batch for h, recording the batch
// when it is full.
func (r *Run) keep(h *hdrhistogram.Histogram, batch []int64, ns int64) []int64 {
	batch = append(batch, ns)
	if len(batch) == cap(batch) {
		r.record(h, batch)
		batch = batch[:0]
	}
	return batch
}

// SendLag returns, at percentile q (0-100), how late the paced requests
// measured were sent: from when each could go (it was due, and the window
// of depth had room, or a churn worker was free) to when it went. Their
// latency includes it: it is the load generator's own share (a busy
// machine wakes it late), where the rest is the network's and the
// server's, waits for the window included.
func (r *Run) SendLag(q float64) time.Duration { return r.quantile(r.lag, q) }

// waitDue waits until cycle seq of churn worker id is due; it returns the
// due time, or false if the run stopped first.
func (r *Run) waitDue(t *time.Timer, id, seq uint32) (int64, bool) {
	due := r.due(id, seq)
	if d := time.Duration(due - r.now()); d > 0 {
		t.Reset(d)
		select {
		case <-t.C:
		case <-r.stopped:
			t.Stop()
			return due, false
		}
	}
	return due, true
}

// Histogram returns a copy of the latencies recorded so far, in
// nanoseconds.
func (r *Run) Histogram() *hdrhistogram.Histogram {
	r.latMu.Lock()
	defer r.latMu.Unlock()
	return r.lat.Clone()
}

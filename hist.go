package proactor

import (
	"slices"
	"sync/atomic"
	"time"
)

// Timing histograms. Each loop keeps its own buckets in its share of the
// server's counters and is the only one to write them, so an observation
// is a few plain loads and stores of atomics, with no lock, no contended
// cache line and no allocation; a snapshot sums the loops, as Stats does.
// The per-message figures are sampled: one OnData call in sampleEvery on
// each loop reads the clock twice, the others pay an increment and a test.

// sampleEvery is how many OnData calls a loop makes per timed one; a power
// of two, so that the test is a mask.
const sampleEvery = 64

// The histograms a server keeps.
const (
	histLifetime = iota // connections, from open to close
	histLoopLag         // sampled OnData calls: from the end of the poller's wait to the call
	histCallback        // sampled OnData calls: how long they ran
	numHists
)

// The buckets' upper bounds (an observation equal to a bound falls in its
// bucket); every histogram has one more bucket, above its last bound.
var (
	callBounds = []time.Duration{
		time.Microsecond, 2 * time.Microsecond, 5 * time.Microsecond,
		10 * time.Microsecond, 20 * time.Microsecond, 50 * time.Microsecond,
		100 * time.Microsecond, 200 * time.Microsecond, 500 * time.Microsecond,
		time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
		10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
		100 * time.Millisecond, time.Second,
	}
	lifetimeBounds = []time.Duration{
		time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond,
		time.Second, 10 * time.Second, time.Minute, 10 * time.Minute,
		time.Hour, 24 * time.Hour,
	}
	histBounds = [numHists][]time.Duration{histLifetime: lifetimeBounds, histLoopLag: callBounds, histCallback: callBounds}
)

// histShard is one loop's share of a histogram. Only that loop writes it;
// snapshots read it from any goroutine.
type histShard struct {
	counts [18]atomic.Uint64 // per bucket: len(callBounds)+1, the most any histogram has
	sum    atomic.Int64      // nanoseconds
}

// observe counts d in kind's histogram. Only the shard's loop may call it:
// the load and store are not one atomic step.
func (s *statShard) observe(kind int, d time.Duration) {
	h, bounds := &s.hist[kind], histBounds[kind]
	i := 0
	for i < len(bounds) && d > bounds[i] {
		i++
	}
	h.counts[i].Store(h.counts[i].Load() + 1)
	h.sum.Store(h.sum.Load() + int64(d))
}

// Histogram is a snapshot of a distribution of durations.
type Histogram struct {
	Bounds []time.Duration `json:"bounds_ns"` // the buckets' upper bounds, inclusive, but for the last bucket's
	Counts []uint64        `json:"counts"`    // observations per bucket, not cumulative: len(Bounds)+1, the last above every bound
	Count  uint64          `json:"count"`     // observations in all
	Sum    time.Duration   `json:"sum_ns"`    // of every observation
}

// Quantile returns the upper bound of the bucket that holds the q-th
// quantile (0 < q <= 1) of the observations, and false when there are
// none or when it lies above the last bound.
func (h Histogram) Quantile(q float64) (time.Duration, bool) {
	if h.Count == 0 {
		return 0, false
	}
	rank := uint64(q*float64(h.Count) + 0.5)
	rank = min(max(rank, 1), h.Count)
	var seen uint64
	for i, n := range h.Counts[:len(h.Bounds)] {
		if seen += n; seen >= rank {
			return h.Bounds[i], true
		}
	}
	return 0, false
}

// Histograms are a server's timing distributions.
type Histograms struct {
	// ConnLifetime is how long each connection that has closed was open:
	// from accept (for a Client's, from OnOpen) to close.
	ConnLifetime Histogram `json:"conn_lifetime"`
	// LoopLag is how long input waited on its loop: from the end of the
	// poller's wait that reported it to the OnData call, which grows with
	// the work done before it in the same iteration. Sampled: one OnData
	// call in 64 on each loop.
	LoopLag Histogram `json:"loop_lag"`
	// Callback is how long OnData calls ran; sampled like LoopLag.
	Callback Histogram `json:"callback"`
}

// Histograms returns a snapshot of the server's timing histograms. Like
// Stats it reads each loop's counters, never the connections. Safe from
// any goroutine.
func (s *Server) Histograms() Histograms {
	var hs [numHists]Histogram
	for k := range hs {
		h := &hs[k]
		h.Bounds = slices.Clone(histBounds[k])
		h.Counts = make([]uint64, len(h.Bounds)+1)
		for i := range s.stats {
			sh := &s.stats[i].hist[k]
			for b := range h.Counts {
				h.Counts[b] += sh.counts[b].Load()
			}
			h.Sum += time.Duration(sh.sum.Load())
		}
		for _, n := range h.Counts {
			h.Count += n // from the counts read, so that the two agree
		}
	}
	return Histograms{ConnLifetime: hs[histLifetime], LoopLag: hs[histLoopLag], Callback: hs[histCallback]}
}

package proactor

import (
	"testing"
	"time"
)

// TestHistogramBuckets: an observation lands in the first bucket whose
// bound it does not pass, one above every bound in the last; the snapshot
// sums the loops, and its count agrees with its buckets.
func TestHistogramBuckets(t *testing.T) {
	s := &Server{owner: owner{stats: make([]statShard, 2)}}
	for _, tc := range []struct {
		loop int
		d    time.Duration
	}{
		{0, 0},
		{0, time.Microsecond},                      // on a bound: that bucket
		{1, time.Microsecond + 1},                  // just past it: the next
		{1, 3 * time.Millisecond},                  // 5ms bucket
		{0, 2 * time.Second},                       // above every bound
		{1, time.Second},                           // the last bound
		{0, 999 * time.Microsecond},                // 1ms bucket
		{1, 50*time.Microsecond - time.Nanosecond}, // 50µs bucket
	} {
		s.stats[tc.loop].observe(histCallback, tc.d)
	}
	s.stats[1].observe(histLifetime, 90*time.Second)
	hs := s.Histograms()
	h := hs.Callback
	want := map[time.Duration]uint64{time.Microsecond: 2, 2 * time.Microsecond: 1, 50 * time.Microsecond: 1,
		time.Millisecond: 1, 5 * time.Millisecond: 1, time.Second: 1}
	if len(h.Counts) != len(h.Bounds)+1 {
		t.Fatalf("%d counts for %d bounds", len(h.Counts), len(h.Bounds))
	}
	for i, b := range h.Bounds {
		if h.Counts[i] != want[b] {
			t.Errorf("bucket ≤%v: %d, want %d", b, h.Counts[i], want[b])
		}
	}
	if last := h.Counts[len(h.Bounds)]; last != 1 {
		t.Errorf("above the last bound: %d, want 1", last)
	}
	wantSum := time.Microsecond + time.Microsecond + 1 + 3*time.Millisecond + 2*time.Second + time.Second +
		999*time.Microsecond + 50*time.Microsecond - time.Nanosecond
	if h.Count != 8 || h.Sum != wantSum {
		t.Fatalf("count %d sum %v; want 8 and %v", h.Count, h.Sum, wantSum)
	}
	if l := hs.ConnLifetime; l.Count != 1 || l.Counts[6] != 1 || l.Bounds[6] != 10*time.Minute {
		t.Fatalf("lifetime %+v: 90s belongs under 10m", l)
	}
	if hs.LoopLag.Count != 0 {
		t.Fatalf("loop lag %+v, nothing observed", hs.LoopLag)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
		ok   bool
	}{
		{0.25, time.Microsecond, true},
		{0.5, 50 * time.Microsecond, true},
		{0.75, 5 * time.Millisecond, true},
		{0.875, time.Second, true},
		{1, 0, false}, // above the last bound
	} {
		if got, ok := h.Quantile(tc.q); got != tc.want || ok != tc.ok {
			t.Errorf("Quantile(%v) = %v, %v; want %v, %v", tc.q, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := hs.LoopLag.Quantile(0.5); ok {
		t.Error("a quantile of no observations")
	}
}

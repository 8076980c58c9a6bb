package workers

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// orderRun submits jobs for many keys and records, per key, the sequence
// numbers in the order the jobs ran and whether two of them overlapped.
type orderRun struct {
	seqs     [][]int        // per key; only the key's own jobs touch it
	inflight []atomic.Int32 // per key: jobs running now
	overlaps atomic.Int64
}

func (r *orderRun) job(key, seq int) func() {
	return func() {
		if r.inflight[key].Add(1) != 1 {
			r.overlaps.Add(1)
		}
		r.seqs[key] = append(r.seqs[key], seq)
		time.Sleep(rand.N(201 * time.Microsecond))
		r.inflight[key].Add(-1)
	}
}

func TestOrderPerKey(t *testing.T) {
	tests := []struct {
		name        string
		workers     int
		keys        int
		jobs        int // per key
		queue       int
		submitters  int // goroutines; each owns the keys k with k%submitters == its index
		resizeUpTo  int // when > 0, resize at random in [1, resizeUpTo] while jobs run
		finalResize int
	}{
		{name: "16 workers 200 keys", workers: 16, keys: 200, jobs: 100, submitters: 8},
		{name: "one worker", workers: 1, keys: 20, jobs: 50, submitters: 4},
		{name: "one key many workers", workers: 16, keys: 1, jobs: 500, submitters: 1},
		{name: "queue of one", workers: 8, keys: 50, jobs: 40, queue: 1, submitters: 8},
		{name: "resizing", workers: 4, keys: 100, jobs: 100, submitters: 8, resizeUpTo: 32, finalResize: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, tt.workers, WithQueueSize(tt.queue))
			r := &orderRun{seqs: make([][]int, tt.keys), inflight: make([]atomic.Int32, tt.keys)}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()

			var submitters sync.WaitGroup
			for g := range tt.submitters {
				submitters.Go(func() {
					for seq := range tt.jobs {
						for key := g; key < tt.keys; key += tt.submitters {
							if err := p.SubmitWait(ctx, uint64(key), r.job(key, seq)); err != nil {
								t.Errorf("SubmitWait(%d): %v", key, err)
								return
							}
						}
					}
				})
			}
			stop := make(chan struct{})
			var background sync.WaitGroup
			background.Go(func() { sampleStats(t, p, stop) })
			if tt.resizeUpTo > 0 {
				background.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						p.Resize(1 + rand.IntN(tt.resizeUpTo))
						time.Sleep(rand.N(time.Millisecond))
					}
				})
			}
			submitters.Wait()
			close(stop)
			background.Wait()
			if tt.finalResize > 0 {
				p.Resize(tt.finalResize)
				if got := p.Size(); got != tt.finalResize {
					t.Errorf("Size() = %d after Resize(%d)", got, tt.finalResize)
				}
			}
			if err := p.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}

			if n := r.overlaps.Load(); n != 0 {
				t.Errorf("%d jobs ran while another job of their key was running", n)
			}
			for key, seqs := range r.seqs {
				if len(seqs) != tt.jobs {
					t.Errorf("key %d: %d jobs ran, want %d", key, len(seqs), tt.jobs)
					continue
				}
				for i, seq := range seqs {
					if seq != i {
						t.Errorf("key %d: job %d ran in position %d: %v", key, seq, i, seqs)
						break
					}
				}
			}
			total := uint64(tt.keys * tt.jobs)
			st := p.Stats()
			if st.Submitted != total || st.Completed != total || st.Queued != 0 || st.Running != 0 || st.Workers != 0 {
				t.Errorf("Stats() after Close = %+v, want %d submitted and completed, nothing left", st, total)
			}
		})
	}
}

// sampleStats checks the invariants of Stats while a test runs.
func sampleStats(t *testing.T, p *Pool, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		st := p.Stats()
		if st.Submitted != st.Completed+uint64(st.Running)+uint64(st.Queued) {
			t.Errorf("Stats() = %+v: Submitted != Completed+Running+Queued", st)
			return
		}
		if st.Queued > p.capacity || st.Running > st.Workers {
			t.Errorf("Stats() = %+v: over the queue bound (%d) or more running than workers", st, p.capacity)
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func TestParallelAcrossKeys(t *testing.T) {
	tests := []struct {
		name    string
		workers int
	}{
		{name: "1", workers: 1},
		{name: "4", workers: 4},
		{name: "32", workers: 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, tt.workers)
			g := newGate()
			defer g.open()
			// One job more than there are workers: the barrier proves that
			// all workers run at once, the extra job that they are all busy.
			for key := range tt.workers + 1 {
				if err := p.Submit(uint64(key), g.job(uint64(key))); err != nil {
					t.Fatalf("Submit: %v", err)
				}
			}
			g.await(t, tt.workers)
			n := uint64(tt.workers + 1)
			checkStats(t, p, Stats{Submitted: n, Queued: 1, Running: tt.workers, Workers: tt.workers})
		})
	}
}

func TestSameKeyNeverConcurrent(t *testing.T) {
	p := newPool(t, 8)
	g := newGate()
	defer g.open()
	for range 3 {
		if err := p.Submit(7, g.job(7)); err != nil {
			t.Fatalf("Submit: %v", err)
		}
	}
	g.await(t, 1)
	// Seven idle workers, yet the key's later jobs wait for the first.
	checkStats(t, p, Stats{Submitted: 3, Queued: 2, Running: 1, Workers: 8})
}

func TestResizeGrow(t *testing.T) {
	p := newPool(t, 1)
	g := newGate()
	defer g.open()
	for key := range uint64(4) {
		if err := p.Submit(key, g.job(key)); err != nil {
			t.Fatalf("Submit: %v", err)
		}
	}
	g.await(t, 1)
	checkStats(t, p, Stats{Submitted: 4, Queued: 3, Running: 1, Workers: 1})

	p.Resize(4)
	if got := p.Size(); got != 4 {
		t.Fatalf("Size() = %d after Resize(4)", got)
	}
	g.await(t, 3) // the new workers take the queued keys at once
	checkStats(t, p, Stats{Submitted: 4, Running: 4, Workers: 4})
}

func TestResizeShrink(t *testing.T) {
	p := newPool(t, 4)
	g := newGate()
	for key := range uint64(4) {
		if err := p.Submit(key, g.job(key)); err != nil {
			t.Fatalf("Submit: %v", err)
		}
	}
	g.await(t, 4)
	p.Resize(1)
	if got := p.Size(); got != 1 {
		t.Fatalf("Size() = %d after Resize(1)", got)
	}
	// Running jobs are not interrupted: every worker stays until its job
	// returns.
	checkStats(t, p, Stats{Submitted: 4, Running: 4, Workers: 4})

	g.open()
	waitFor(t, "the jobs to finish and three workers to exit", func() bool {
		st := p.Stats()
		return st.Completed == 4 && st.Workers == 1
	})
	checkStats(t, p, Stats{Submitted: 4, Completed: 4, Workers: 1})

	// One worker left: two keys take turns.
	g2 := newGate()
	defer g2.open()
	for key := range uint64(2) {
		if err := p.Submit(key, g2.job(key)); err != nil {
			t.Fatalf("Submit: %v", err)
		}
	}
	g2.await(t, 1)
	checkStats(t, p, Stats{Submitted: 6, Completed: 4, Queued: 1, Running: 1, Workers: 1})
}

func TestResizeIdleShrinkReleasesGoroutines(t *testing.T) {
	p := newPool(t, 64)
	checkStats(t, p, Stats{Workers: 64})
	before := runtime.NumGoroutine()
	p.Resize(2)
	waitFor(t, "idle workers to exit", func() bool { return p.Stats().Workers == 2 })
	waitFor(t, "62 fewer goroutines", func() bool { return runtime.NumGoroutine() <= before-62 })
	p.Resize(8)
	checkStats(t, p, Stats{Workers: 8})
}

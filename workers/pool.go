package workers

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"sync"
)

var (
	// ErrQueueFull is returned by Submit when the pool already holds its
	// bound of pending jobs (see WithQueueSize). Nothing was queued.
	ErrQueueFull = errors.New("workers: queue full")
	// ErrClosed is returned by Submit and SubmitWait once Close has been
	// called. Nothing was queued.
	ErrClosed = errors.New("workers: pool closed")
	// ErrNilFunc is returned by Submit and SubmitWait for a nil job.
	ErrNilFunc = errors.New("workers: nil func")
)

// Stats is a snapshot of a Pool's counters, taken by Pool.Stats. The
// counters are consistent with one another: Submitted equals Completed +
// Running + Queued.
type Stats struct {
	Submitted uint64 `json:"submitted"` // jobs accepted by Submit and SubmitWait
	Completed uint64 `json:"completed"` // jobs that finished running, panicked ones included
	Rejected  uint64 `json:"rejected"`  // ErrQueueFull from Submit, plus SubmitWait calls that gave up on their ctx facing a full queue
	Panics    uint64 `json:"panics"`    // jobs that panicked (recovered and logged)
	Queued    int    `json:"queued"`    // jobs accepted and not started yet; at most the queue size
	Running   int    `json:"running"`   // jobs running now
	Workers   int    `json:"workers"`   // worker goroutines alive; above Size after a shrink until the extra ones finish their jobs
}

// Pool runs jobs on a bounded, resizable set of goroutines. Jobs submitted
// with the same key run one at a time, in the order they were accepted;
// jobs with different keys run in parallel, up to Size at once. All methods
// are safe for concurrent use, including from inside a job (except Close,
// which would wait for the job that calls it). A Pool must be closed to
// release its goroutines.
//
// Inside, a map holds a FIFO of pending jobs per key and a run queue holds
// the keys that have pending jobs and no job running. A worker takes the
// key at the head of the run queue, runs its oldest job and then puts the
// key back at the tail if it has more, so that a busy key cannot starve the
// others; a key with nothing left is forgotten. A key is therefore either
// in the run queue or held by exactly one worker, which is what makes its
// jobs ordered and never concurrent. One mutex guards it all: a job costs
// two short critical sections, far less than the work worth handing off.
type Pool struct {
	cfg      config
	capacity int // bound on pending, from cfg

	mu   sync.Mutex
	work sync.Cond // on mu; a key entered the run queue, the size shrank, or the pool closed

	keys  map[uint64]*keyQueue // every key with a pending or running job
	runq  fifo[*keyQueue]      // keys with pending jobs and no running job
	free  []*keyQueue          // recycled keyQueues, so that a returning key does not allocate
	space chan struct{}        // closed when a pending job starts or the pool closes; nil while no SubmitWait waits
	done  chan struct{}        // closed once the pool is closed and its last worker has exited

	size    int // target number of workers
	live    int // worker goroutines started and not yet exited
	idle    int // workers waiting on work
	pending int // jobs queued, across keys
	running int
	closed  bool

	submitted, completed, rejected, panics uint64
}

// keyQueue is the pending jobs of one key.
type keyQueue struct {
	key  uint64
	jobs fifo[func()]
}

// Recycling bounds. Live keys never outnumber pending plus running jobs, so
// keeping up to the queue size of spare keyQueues makes a steady state
// allocation-free; the caps stop a huge queue or one long burst from
// pinning memory for good.
const (
	maxFree     = 4096
	maxFreeRing = 16 // jobs a recycled key's ring may hold
)

// New returns a Pool with size workers; size <= 0 means runtime.GOMAXPROCS(0).
// The workers start at once and wait for jobs. Call Close to stop them.
func New(size int, opts ...Option) *Pool {
	p := &Pool{
		keys: make(map[uint64]*keyQueue),
		done: make(chan struct{}),
	}
	for _, o := range opts {
		if o != nil {
			o(&p.cfg)
		}
	}
	p.capacity = p.cfg.capacity()
	p.work.L = &p.mu
	p.Resize(size)
	return p
}

// Submit queues fn to run after every job accepted earlier with the same
// key, and never blocks. It returns ErrQueueFull when the pool already holds
// its bound of pending jobs, ErrClosed after Close, and ErrNilFunc for a nil
// fn; in each case nothing was queued. Submit is the call to use on an I/O
// loop, where blocking would stall every connection of the loop.
func (p *Pool) Submit(key uint64, fn func()) error {
	if fn == nil {
		return ErrNilFunc
	}
	p.mu.Lock()
	err := p.enqueueLocked(key, fn)
	if err == ErrQueueFull {
		p.rejected++
	}
	p.mu.Unlock()
	return err
}

// SubmitWait is Submit that waits for room in the queue instead of failing.
// It returns nil once fn is queued, ctx.Err() if ctx ends first (or is
// already done: nothing is queued then, even if there is room), and
// ErrClosed if the pool is or becomes closed. It must not be called on an
// I/O loop, nor from a job of this pool when every worker might do the same,
// since jobs only leave the queue when a worker is free to start them.
func (p *Pool) SubmitWait(ctx context.Context, key uint64, fn func()) error {
	if fn == nil {
		return ErrNilFunc
	}
	waited := false
	p.mu.Lock()
	for {
		if p.closed {
			p.mu.Unlock()
			return ErrClosed
		}
		if err := ctx.Err(); err != nil {
			if waited || p.pending >= p.capacity {
				p.rejected++
			}
			p.mu.Unlock()
			return err
		}
		if p.pending < p.capacity {
			err := p.enqueueLocked(key, fn)
			p.mu.Unlock()
			return err
		}
		if p.space == nil {
			p.space = make(chan struct{})
		}
		space := p.space
		p.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
		}
		waited = true
		p.mu.Lock()
	}
}

func (p *Pool) enqueueLocked(key uint64, fn func()) error {
	if p.closed {
		return ErrClosed
	}
	if p.pending >= p.capacity {
		return ErrQueueFull
	}
	kq := p.keys[key]
	if kq == nil {
		// A key that is not in the map is neither queued nor running:
		// make it runnable.
		kq = p.newKeyQueue(key)
		p.keys[key] = kq
		p.runq.push(kq)
		if p.idle > 0 {
			p.work.Signal()
		}
	}
	kq.jobs.push(fn)
	p.pending++
	p.submitted++
	return nil
}

// Resize sets the number of workers to n; n <= 0 means
// runtime.GOMAXPROCS(0). Growing starts workers at once. Shrinking lets
// running jobs finish: the extra workers exit when they are idle or done
// with their current job, and Stats().Workers shows them leave. Order per
// key holds across a resize. Resize does nothing after Close.
func (p *Pool) Resize(n int) {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.size = n
	for p.live < p.size {
		p.live++
		go p.worker()
	}
	if p.live > p.size && p.idle > 0 {
		p.work.Broadcast()
	}
}

// Size returns the number of workers set by New or the last Resize.
func (p *Pool) Size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.size
}

// Stats returns a consistent snapshot of the pool's counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{
		Submitted: p.submitted,
		Completed: p.completed,
		Rejected:  p.rejected,
		Panics:    p.panics,
		Queued:    p.pending,
		Running:   p.running,
		Workers:   p.live,
	}
}

// Close stops accepting jobs (Submit and SubmitWait return ErrClosed, and
// waiting SubmitWait calls give up), lets the workers run every job already
// queued, and waits for them to exit. It returns nil once they have, or
// ctx.Err() if ctx ends first; the workers then go on draining in the
// background, as a running job cannot be interrupted, and a later Close
// waits again. Close is safe to call more than once and from several
// goroutines, but not from a job of this pool.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		p.work.Broadcast()
		p.wakeSubmitters()
	}
	p.mu.Unlock()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
	}
	select {
	case <-p.done: // both ready: the work is done, report that
		return nil
	default:
		return ctx.Err()
	}
}

func (p *Pool) wakeSubmitters() {
	if p.space != nil {
		close(p.space)
		p.space = nil
	}
}

func (p *Pool) worker() {
	var cur *keyQueue // the key whose job is running, nil between jobs
	defer func() {
		if cur == nil {
			return
		}
		// The job called runtime.Goexit, which ends this goroutine whatever
		// we do: finish the job's bookkeeping and hand the slot to a new
		// worker so that the pool keeps its size.
		p.cfg.log().Warn("workers: job called runtime.Goexit", "key", cur.key)
		p.mu.Lock()
		p.finishLocked(cur, false)
		go p.worker()
		p.mu.Unlock()
	}()

	p.mu.Lock()
	for p.live <= p.size {
		kq, ok := p.runq.pop()
		if !ok {
			if p.closed {
				break
			}
			p.idle++
			p.work.Wait()
			p.idle--
			continue
		}
		if p.runq.len() > 0 && p.idle > 0 {
			p.work.Signal() // more runnable keys: wake a peer for them
		}
		fn, _ := kq.jobs.pop()
		p.pending--
		p.running++
		p.wakeSubmitters()
		cur = kq
		p.mu.Unlock()

		panicked := p.run(kq.key, fn)

		p.mu.Lock()
		cur = nil
		p.finishLocked(kq, panicked)
	}
	p.live--
	if p.runq.len() > 0 && p.idle > 0 {
		p.work.Signal() // leaving on a shrink: pass the work on
	}
	if p.closed && p.live == 0 {
		close(p.done)
	}
	p.mu.Unlock()
}

// run calls fn, recovering and logging a panic.
func (p *Pool) run(key uint64, fn func()) (panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			panicked = true
			p.cfg.log().Error("workers: job panicked",
				"key", key, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	fn()
	return false
}

// finishLocked records the end of kq's running job and either puts kq back
// at the tail of the run queue or, if it has nothing pending, forgets it.
func (p *Pool) finishLocked(kq *keyQueue, panicked bool) {
	p.running--
	p.completed++
	if panicked {
		p.panics++
	}
	if kq.jobs.len() > 0 {
		p.runq.push(kq)
		return
	}
	delete(p.keys, kq.key)
	p.recycle(kq)
}

func (p *Pool) newKeyQueue(key uint64) *keyQueue {
	if n := len(p.free); n > 0 {
		kq := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		kq.key = key
		return kq
	}
	return &keyQueue{key: key}
}

func (p *Pool) recycle(kq *keyQueue) {
	if len(p.free) >= min(p.capacity, maxFree) {
		return
	}
	if len(kq.jobs.buf) > maxFreeRing {
		kq.jobs = fifo[func()]{}
	}
	p.free = append(p.free, kq)
}

package workers

import (
	"context"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// waitBound bounds every wait on an event, so that a broken pool fails the
// test instead of hanging it.
const waitBound = 10 * time.Second

// newPool returns a pool that is closed, and checked for leaked goroutines,
// when the test ends.
func newPool(t *testing.T, size int, opts ...Option) *Pool {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
	p := New(size, opts...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitBound)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("Close at cleanup: %v", err)
		}
	})
	return p
}

// gate is a set of jobs that block until released, reporting when they
// start.
type gate struct {
	started chan uint64   // receives a job's key when it starts
	release chan struct{} // closed to let the jobs return
}

func newGate() *gate {
	return &gate{started: make(chan uint64, 1024), release: make(chan struct{})}
}

func (g *gate) job(key uint64) func() {
	return func() {
		g.started <- key
		<-g.release
	}
}

// await waits for n jobs of g to start.
func (g *gate) await(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(waitBound)
	for range n {
		select {
		case <-g.started:
		case <-timeout:
			t.Fatalf("jobs did not start within %v", waitBound)
		}
	}
}

func (g *gate) open() { close(g.release) }

// waitFor polls cond for a state that no event announces, such as a worker
// goroutine having exited.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
		time.Sleep(50 * time.Microsecond)
	}
}

// submitWaiting reports whether some SubmitWait call is waiting for room.
func submitWaiting(p *Pool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.space != nil
}

func checkStats(t *testing.T, p *Pool, want Stats) {
	t.Helper()
	if got := p.Stats(); got != want {
		t.Fatalf("Stats() = %+v, want %+v", got, want)
	}
}

package proactor_test

import (
	"testing"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/workers"
)

// TestWorkerPoolStats: a server given its handler's pool reports the
// pool's jobs in Stats, as they are queued, run, finish and are refused.
func TestWorkerPoolStats(t *testing.T) {
	pool := workers.New(1, workers.WithQueueSize(1))
	srv, err := proactor.NewServer(proactor.BaseHandler{}, proactor.WithLoops(1), proactor.WithWorkerPool(pool))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	started, release := make(chan struct{}), make(chan struct{})
	if err := pool.Submit(1, func() { close(started); <-release }); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := pool.Submit(2, func() {}); err != nil { // waits: the one worker is busy
		t.Fatal(err)
	}
	if err := pool.Submit(3, func() {}); err != workers.ErrQueueFull {
		t.Fatalf("third job: %v, want ErrQueueFull", err)
	}
	w := srv.Stats().Workers
	if w.Running != 1 || w.Queued != 1 || w.Rejected != 1 || w.Completed != 0 {
		t.Fatalf("while busy: %+v, want 1 running, 1 queued, 1 rejected", w)
	}
	close(release)
	if err := pool.Close(t.Context()); err != nil { // runs what is queued, then stops
		t.Fatal(err)
	}
	if w := srv.Stats().Workers; w.Completed != 2 || w.Running != 0 || w.Queued != 0 || w.Rejected != 1 {
		t.Fatalf("after: %+v, want 2 completed, 1 rejected", w)
	}
}

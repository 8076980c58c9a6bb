package metrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/echo"
	"github.com/seed487d475b/proactor/internal/servertest"
	"github.com/seed487d475b/proactor/metrics"
	"github.com/seed487d475b/proactor/workers"
)

// TestWorkerJobs: the jobs of the pool given by WithWorkerPool show in the
// scrape.
func TestWorkerJobs(t *testing.T) {
	pool := workers.New(1, workers.WithQueueSize(1))
	srv, _ := servertest.Start(t, echo.Handler{}, proactor.WithWorkerPool(pool))
	release := make(chan struct{})
	started := make(chan struct{})
	pool.Submit(1, func() { close(started); <-release })
	<-started
	pool.Submit(2, func() {})
	if err := pool.Submit(3, func() {}); err != workers.ErrQueueFull {
		t.Fatalf("third job: %v", err)
	}
	want := `
# HELP proactor_worker_jobs_queued Jobs waiting in the workers pool (WithWorkerPool).
# TYPE proactor_worker_jobs_queued gauge
proactor_worker_jobs_queued 1
# HELP proactor_worker_jobs_rejected_total Jobs the workers pool refused: its queue was full.
# TYPE proactor_worker_jobs_rejected_total counter
proactor_worker_jobs_rejected_total 1
# HELP proactor_worker_jobs_running Jobs running in the workers pool.
# TYPE proactor_worker_jobs_running gauge
proactor_worker_jobs_running 1
`
	col := metrics.NewCollector(srv)
	if err := testutil.CollectAndCompare(col, strings.NewReader(want), "proactor_worker_jobs_queued",
		"proactor_worker_jobs_running", "proactor_worker_jobs_rejected_total"); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := pool.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	want = `
# HELP proactor_worker_jobs_completed_total Jobs the workers pool finished.
# TYPE proactor_worker_jobs_completed_total counter
proactor_worker_jobs_completed_total 2
`
	if err := testutil.CollectAndCompare(col, strings.NewReader(want), "proactor_worker_jobs_completed_total"); err != nil {
		t.Fatal(err)
	}
}

package workers

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewSize(t *testing.T) {
	tests := []struct {
		name string
		size int
		want int
	}{
		{name: "explicit", size: 3, want: 3},
		{name: "zero means GOMAXPROCS", size: 0, want: runtime.GOMAXPROCS(0)},
		{name: "negative means GOMAXPROCS", size: -5, want: runtime.GOMAXPROCS(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, tt.size)
			if got := p.Size(); got != tt.want {
				t.Errorf("Size() = %d, want %d", got, tt.want)
			}
			checkStats(t, p, Stats{Workers: tt.want})
			p.Resize(tt.size)
			if got := p.Size(); got != tt.want {
				t.Errorf("Size() after Resize(%d) = %d, want %d", tt.size, got, tt.want)
			}
		})
	}
}

func TestNilFunc(t *testing.T) {
	p := newPool(t, 1)
	if err := p.Submit(1, nil); !errors.Is(err, ErrNilFunc) {
		t.Errorf("Submit(nil) = %v, want ErrNilFunc", err)
	}
	if err := p.SubmitWait(context.Background(), 1, nil); !errors.Is(err, ErrNilFunc) {
		t.Errorf("SubmitWait(nil) = %v, want ErrNilFunc", err)
	}
	checkStats(t, p, Stats{Workers: 1})
}

func TestQueueFull(t *testing.T) {
	tests := []struct {
		name  string
		queue int
	}{
		{name: "1", queue: 1},
		{name: "3", queue: 3},
		{name: "64", queue: 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, 1, WithQueueSize(tt.queue))
			g := newGate()
			if err := p.Submit(0, g.job(0)); err != nil {
				t.Fatalf("Submit: %v", err)
			}
			g.await(t, 1) // running jobs do not count against the bound
			for i := range tt.queue {
				if err := p.Submit(uint64(i%2), func() {}); err != nil {
					t.Fatalf("Submit %d of %d: %v", i+1, tt.queue, err)
				}
			}
			for _, key := range []uint64{0, 1, 99} {
				if err := p.Submit(key, func() { t.Error("rejected job ran") }); !errors.Is(err, ErrQueueFull) {
					t.Fatalf("Submit(%d) on a full queue = %v, want ErrQueueFull", key, err)
				}
			}
			n := uint64(tt.queue + 1)
			checkStats(t, p, Stats{Submitted: n, Rejected: 3, Queued: tt.queue, Running: 1, Workers: 1})
			g.open()
			if err := p.Close(context.Background()); err != nil {
				t.Fatalf("Close: %v", err)
			}
			checkStats(t, p, Stats{Submitted: n, Completed: n, Rejected: 3})
		})
	}
}

func TestDefaultQueueSize(t *testing.T) {
	p := newPool(t, 1)
	if p.capacity != DefaultQueueSize {
		t.Errorf("capacity = %d, want DefaultQueueSize", p.capacity)
	}
}

func TestSubmitWaitForRoom(t *testing.T) {
	p := newPool(t, 1, WithQueueSize(1))
	g := newGate()
	defer g.open()
	fillOne(t, p, g)
	result := make(chan error, 1)
	ran := make(chan struct{})
	go func() { result <- p.SubmitWait(context.Background(), 2, func() { close(ran) }) }()
	waitFor(t, "SubmitWait to wait", func() bool { return submitWaiting(p) })
	select {
	case err := <-result:
		t.Fatalf("SubmitWait returned %v on a full queue", err)
	default:
	}
	g.release <- struct{}{} // the first job returns, the second starts: room for one
	if err := <-result; err != nil {
		t.Fatalf("SubmitWait: %v", err)
	}
	g.await(t, 1)
	g.release <- struct{}{}
	<-ran
}

func TestSubmitWaitContext(t *testing.T) {
	tests := []struct {
		name         string
		full         bool
		ctx          func() (context.Context, context.CancelFunc)
		cancelLater  bool // cancel once SubmitWait waits
		want         error
		wantRejected uint64
	}{
		{
			name: "deadline while full", full: true,
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 20*time.Millisecond)
			},
			want: context.DeadlineExceeded, wantRejected: 1,
		},
		{
			name: "cancel while full", full: true, cancelLater: true,
			ctx:  func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			want: context.Canceled, wantRejected: 1,
		},
		{
			name: "done before the call, with room",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			want: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, 1, WithQueueSize(1))
			g := newGate()
			defer g.open()
			var submitted uint64
			if tt.full {
				fillOne(t, p, g)
				submitted = 2
			}
			ctx, cancel := tt.ctx()
			defer cancel()
			result := make(chan error, 1)
			go func() { result <- p.SubmitWait(ctx, 2, func() { t.Error("job ran after SubmitWait failed") }) }()
			if tt.cancelLater {
				waitFor(t, "SubmitWait to wait", func() bool { return submitWaiting(p) })
				cancel()
			}
			if err := <-result; !errors.Is(err, tt.want) {
				t.Fatalf("SubmitWait = %v, want %v", err, tt.want)
			}
			st := p.Stats()
			if st.Submitted != submitted || st.Rejected != tt.wantRejected {
				t.Errorf("Stats() = %+v, want %d submitted, %d rejected", st, submitted, tt.wantRejected)
			}
		})
	}
}

func TestSubmitWaitUnblockedByClose(t *testing.T) {
	p := newPool(t, 1, WithQueueSize(1))
	g := newGate()
	fillOne(t, p, g)
	result := make(chan error, 1)
	go func() { result <- p.SubmitWait(context.Background(), 2, func() {}) }()
	waitFor(t, "SubmitWait to wait", func() bool { return submitWaiting(p) })
	closed := make(chan error, 1)
	go func() { closed <- p.Close(context.Background()) }()
	if err := <-result; !errors.Is(err, ErrClosed) {
		t.Fatalf("SubmitWait during Close = %v, want ErrClosed", err)
	}
	g.open()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestCloseDrains(t *testing.T) {
	p := newPool(t, 2)
	var ran atomic.Int64
	for i := range 500 {
		if err := p.Submit(uint64(i%7), func() { ran.Add(1) }); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 3 { // concurrent Close calls all wait for the drain
		wg.Go(func() {
			if err := p.Close(context.Background()); err != nil {
				t.Errorf("Close: %v", err)
			}
			if n := ran.Load(); n != 500 {
				t.Errorf("Close returned after %d of 500 jobs", n)
			}
		})
	}
	wg.Wait()
	checkStats(t, p, Stats{Submitted: 500, Completed: 500})
	if err := p.Submit(1, func() {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close = %v, want ErrClosed", err)
	}
	if err := p.SubmitWait(context.Background(), 1, func() {}); !errors.Is(err, ErrClosed) {
		t.Errorf("SubmitWait after Close = %v, want ErrClosed", err)
	}
	p.Resize(8)
	if got := p.Stats().Workers; got != 0 {
		t.Errorf("Resize after Close started %d workers", got)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseContextEnds(t *testing.T) {
	p := newPool(t, 1)
	g := newGate()
	var queuedRan atomic.Bool
	if err := p.Submit(1, g.job(1)); err != nil {
		t.Fatal(err)
	}
	if err := p.Submit(1, func() { queuedRan.Store(true) }); err != nil {
		t.Fatal(err)
	}
	g.await(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := p.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with a blocked job = %v, want DeadlineExceeded", err)
	}
	if err := p.Submit(2, func() {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after a cut-short Close = %v, want ErrClosed", err)
	}
	g.open()
	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if !queuedRan.Load() {
		t.Error("the job queued before Close did not run")
	}
}

func TestPanicRecovered(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  string // in the log
	}{
		{name: "string", value: "boom", want: "boom"},
		{name: "error", value: errors.New("bad state"), want: "bad state"},
		{name: "nil", value: nil, want: "nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer // written by the worker, read after Close
			p := newPool(t, 4, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			var seqs []int
			jobs := []func(){
				func() { seqs = append(seqs, 0) },
				func() { panic(tt.value) },
				func() { seqs = append(seqs, 2) },
			}
			for _, job := range jobs {
				if err := p.Submit(42, job); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(seqs) != 2 || seqs[0] != 0 || seqs[1] != 2 {
				t.Errorf("jobs around the panic ran as %v, want [0 2]", seqs)
			}
			checkStats(t, p, Stats{Submitted: 3, Completed: 3, Panics: 1})
			log := logs.String()
			for _, s := range []string{"job panicked", "key=42", tt.want, "goroutine"} {
				if !strings.Contains(log, s) {
					t.Errorf("log lacks %q:\n%s", s, log)
				}
			}
		})
	}
}

func TestGoexitKeepsPoolSize(t *testing.T) {
	var logs bytes.Buffer
	p := newPool(t, 2, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	done := make(chan struct{})
	if err := p.Submit(1, func() { runtime.Goexit() }); err != nil {
		t.Fatal(err)
	}
	if err := p.Submit(1, func() { close(done) }); err != nil {
		t.Fatal(err)
	}
	<-done
	waitFor(t, "the last job to be counted", func() bool { return p.Stats().Completed == 2 })
	checkStats(t, p, Stats{Submitted: 2, Completed: 2, Workers: 2})
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "Goexit") {
		t.Errorf("Goexit not logged:\n%s", logs.String())
	}
}

// fillOne fills a pool of one worker and a queue of one with two jobs of g:
// one running, one queued.
func fillOne(t *testing.T, p *Pool, g *gate) {
	t.Helper()
	if err := p.Submit(1, g.job(1)); err != nil {
		t.Fatal(err)
	}
	g.await(t, 1)
	if err := p.Submit(1, g.job(1)); err != nil {
		t.Fatal(err)
	}
}

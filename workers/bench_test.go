package workers

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkSubmit measures Submit-to-completion throughput of tiny jobs from
// parallel producers, the pool's own overhead. Close is inside the timing,
// so every job counted has run.
func BenchmarkSubmit(b *testing.B) {
	tests := []struct {
		name string
		key  func(producer, i uint64) uint64
	}{
		// Every job a new key: the map insert and delete are paid each time.
		{name: "distinct-keys", key: func(producer, i uint64) uint64 { return producer<<32 | i }},
		// One key per producer, as with one producer per connection.
		{name: "key-per-producer", key: func(producer, _ uint64) uint64 { return producer }},
		// Everything ordered behind one key: one job at a time.
		{name: "one-key", key: func(_, _ uint64) uint64 { return 0 }},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			p := New(0)
			ctx := context.Background()
			var producers atomic.Uint64
			job := func() {}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				producer := producers.Add(1)
				for i := uint64(0); pb.Next(); i++ {
					if err := p.SubmitWait(ctx, tt.key(producer, i), job); err != nil {
						b.Error(err)
						return
					}
				}
			})
			if err := p.Close(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkChannelPool is the standard-library baseline for
// BenchmarkSubmit: GOMAXPROCS goroutines reading a buffered channel of the
// same size as the pool's default queue, with no ordering at all.
func BenchmarkChannelPool(b *testing.B) {
	jobs := make(chan func(), DefaultQueueSize)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for fn := range jobs {
				fn()
			}
		})
	}
	job := func() {}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			jobs <- job
		}
	})
	close(jobs)
	wg.Wait()
}

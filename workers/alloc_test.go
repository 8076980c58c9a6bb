//go:build !race

package workers

import (
	"context"
	"testing"
)

// TestSubmitAllocs checks that the pool itself allocates nothing per job
// once warm: the closure is the caller's, the key's queue is recycled.
func TestSubmitAllocs(t *testing.T) {
	tests := []struct {
		name string
		key  func(i int) uint64
	}{
		{name: "one key", key: func(int) uint64 { return 1 }},
		{name: "rotating keys", key: func(i int) uint64 { return uint64(i % 16) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, 4)
			done := make(chan struct{}, 1)
			job := func() { done <- struct{}{} }
			i := 0
			allocs := testing.AllocsPerRun(1000, func() {
				if err := p.Submit(tt.key(i), job); err != nil {
					t.Fatal(err)
				}
				<-done
				i++
			})
			if allocs != 0 {
				t.Errorf("Submit and run: %v allocations per job, want 0", allocs)
			}
			ctx := context.Background()
			allocs = testing.AllocsPerRun(1000, func() {
				if err := p.SubmitWait(ctx, tt.key(i), job); err != nil {
					t.Fatal(err)
				}
				<-done
				i++
			})
			if allocs != 0 {
				t.Errorf("SubmitWait and run: %v allocations per job, want 0", allocs)
			}
		})
	}
}

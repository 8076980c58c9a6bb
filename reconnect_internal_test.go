package proactor

import (
	"testing"
	"time"
)

func TestBackoffWait(t *testing.T) {
	for _, tc := range []struct {
		name     string
		b        Backoff
		failures int
		lo, hi   time.Duration
	}{
		{"defaults first", Backoff{}, 1, 80 * time.Millisecond, 120 * time.Millisecond},
		{"grows", Backoff{Initial: 10 * time.Millisecond, Jitter: -1}, 4, 80 * time.Millisecond, 80 * time.Millisecond},
		{"capped", Backoff{Initial: time.Second, Max: 3 * time.Second, Jitter: -1}, 10, 3 * time.Second, 3 * time.Second},
		{"jitter bounds", Backoff{Initial: time.Second, Jitter: 0.5}, 1, 500 * time.Millisecond, 1500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 100 {
				if d := tc.b.wait(tc.failures); d < tc.lo || d > tc.hi {
					t.Fatalf("wait(%d) = %v; want within [%v, %v]", tc.failures, d, tc.lo, tc.hi)
				}
			}
		})
	}
}

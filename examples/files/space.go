package files

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// room keeps uploads from filling the root's file system: an upload is
// accepted only if its size fits in the space free for the server's user,
// less minFree and the bytes that the uploads in progress have announced
// and not written yet. Counting those is what keeps two uploads started at
// once from each taking the same free space. Safe for concurrent use.
type room struct {
	avail   func() (int64, error) // free bytes; errors.ErrUnsupported where the system cannot tell
	minFree int64                 // bytes kept free; negative: no check
	mu      sync.Mutex            // makes reserve's look and take one step
	pending atomic.Int64          // bytes reserved and not written yet
}

// reserve takes n bytes of room for an upload, or says why it cannot.
// Where the free space cannot be known, or the check is off, every upload
// fits and nothing is counted.
func (r *room) reserve(n int64) (taken int64, err error) {
	if r.minFree < 0 || n == 0 {
		return 0, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	free, err := r.avail()
	if errors.Is(err, errors.ErrUnsupported) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("checking the free space: %w", err)
	}
	// Written as a subtraction from free: n can be near 1<<63.
	if n > free-r.pending.Load()-r.minFree {
		return 0, fmt.Errorf("not enough space for %d bytes (the server keeps %d bytes free)", n, r.minFree)
	}
	r.pending.Add(n)
	return n, nil
}

// release gives back n reserved bytes: written (the file system counts
// them now) or no longer coming.
func (r *room) release(n int64) {
	if n != 0 {
		r.pending.Add(-n)
	}
}

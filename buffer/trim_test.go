package buffer_test

import (
	"testing"

	"github.com/seed487d475b/proactor/buffer"
)

// TestTrim checks that Trim gives back what a burst left in the free lists
// once a period has passed without a Get needing it, and keeps what a
// steady load keeps using.
func TestTrim(t *testing.T) {
	p := buffer.NewPool()
	burst := make([]*buffer.Buffer, 100)
	for i := range burst {
		burst[i] = p.Get(4096)
	}
	for _, b := range burst {
		b.Release()
	}
	if got := p.Stats().Retained; got != 100*4096 {
		t.Fatalf("after the burst: %d bytes retained, want %d", got, 100*4096)
	}
	// The first Trim sees the list grow from empty: all of it was needed
	// in this period.
	if n := p.Trim(); n != 0 {
		t.Fatalf("first Trim dropped %d bytes, want 0", n)
	}
	// A steady load of 3 buffers at a time in the next period.
	for range 10 {
		a, b, c := p.Get(4096), p.Get(4096), p.Get(4096)
		a.Release()
		b.Release()
		c.Release()
	}
	if n := p.Trim(); n != 97*4096 {
		t.Fatalf("second Trim dropped %d bytes, want %d (the 97 buffers nobody took)", n, 97*4096)
	}
	if got := p.Stats().Retained; got != 3*4096 {
		t.Fatalf("after trimming: %d bytes retained, want %d", got, 3*4096)
	}
	// Nothing used in the next period: the rest goes too.
	if n := p.Trim(); n != 3*4096 {
		t.Fatalf("third Trim dropped %d bytes, want %d", n, 3*4096)
	}
	if got := p.Stats().Retained; got != 0 {
		t.Fatalf("at the end: %d bytes retained, want 0", got)
	}
	b := p.Get(4096) // and the pool still works
	b.Release()
	if s := p.Stats(); s.Retained != 4096 || s.Puts+s.Drops != s.Gets {
		t.Fatalf("after reuse: %+v", s)
	}
}

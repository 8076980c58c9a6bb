package buffer

import "sync/atomic"

const (
	errRelease = "buffer: release of a released buffer"
	errRetain  = "buffer: retain of a released buffer"
)

// Buffer is a byte slice with a reference count, usually from a Pool. The
// doc of package buffer gives the ownership rules: each reference is
// released exactly once, and the bytes are read-only while shared.
type Buffer struct {
	data  []byte // len is the data length, cap the class size
	refs  atomic.Int32
	pool  *Pool // nil for New's buffers
	class int8  // index into pool.classes; -1 if not pooled
}

// New wraps p in a Buffer holding one reference. The Buffer belongs to no
// pool: its last Release just drops it, leaving p to the garbage collector.
// The caller must not use p directly while the Buffer is shared.
func New(p []byte) *Buffer {
	b := &Buffer{data: p, class: -1}
	b.refs.Store(1)
	return b
}

// Bytes returns the data slice. It is valid until the caller's reference is
// released, and may be written only while that reference is the only one.
func (b *Buffer) Bytes() []byte { return b.data }

// Len returns len(b.Bytes()).
func (b *Buffer) Len() int { return len(b.data) }

// Cap returns cap(b.Bytes()), the most SetLen accepts.
func (b *Buffer) Cap() int { return cap(b.data) }

// SetLen reslices the data to n bytes within the capacity, keeping the
// contents. An n outside [0, Cap()] is a caller bug and panics, like a slice
// bound out of range. Like writing the bytes, SetLen is for the sole holder.
func (b *Buffer) SetLen(n int) {
	if n < 0 || n > cap(b.data) {
		panic("buffer: SetLen out of range")
	}
	b.data = b.data[:n]
}

// Retain adds a reference, to be released by whoever it is handed to. It is
// safe from any goroutine, but the caller must itself hold a reference: a
// Retain of a buffer with none left panics.
func (b *Buffer) Retain() {
	for {
		r := b.refs.Load()
		if r <= 0 {
			panic(errRetain)
		}
		if b.refs.CompareAndSwap(r, r+1) {
			return
		}
	}
}

// Release drops one reference; the last one returns the buffer to its pool,
// after which neither the Buffer nor its bytes may be used. It is safe from
// any goroutine. Releasing a buffer with no reference left panics with
// "buffer: release of a released buffer".
func (b *Buffer) Release() {
	for {
		r := b.refs.Load()
		if r <= 0 {
			panic(errRelease)
		}
		if b.refs.CompareAndSwap(r, r-1) {
			if r == 1 && b.pool != nil {
				b.pool.put(b)
			}
			return
		}
	}
}

// Refs returns the current number of references, 0 once released. With
// other holders active the value may be stale as soon as it is read; it is
// meant for tests and assertions.
func (b *Buffer) Refs() int32 { return b.refs.Load() }

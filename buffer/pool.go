package buffer

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

const (
	minShift  = 8  // smallest class: 256 B
	maxShift  = 24 // largest class: 16 MiB
	numClass  = maxShift - minShift + 1
	fullShift = 16 // classes up to 64 KiB keep the full per-class count

	// DefaultMaxRetained is the per-class cap on free buffers used when
	// WithMaxRetained is not given, for classes up to 64 KiB.
	DefaultMaxRetained = 1024
)

// Option configures a Pool; see NewPool.
type Option func(*config)

type config struct {
	// maxRetained: 0 means DefaultMaxRetained, negative means none.
	maxRetained int
	// maxClass is the index of the largest class kept; 0 means the
	// largest there is (16 MiB).
	maxClass int
}

// WithMaxPooled sets the size of the largest buffer a Pool keeps for
// reuse: a request above it (rounded up to its class, a power of two)
// gets a buffer of its own that is dropped on its last release, as one
// above 16 MiB always does. A smaller bound keeps a few large bursts from
// leaving large buffers behind; the free lists of smaller classes stay as
// WithMaxRetained says. Default: 16 MiB, the largest class; n below 256
// means 256 B, and above 16 MiB means 16 MiB.
func WithMaxPooled(n int) Option {
	return func(c *config) { c.maxClass = min(max(classOf(max(n, 1)), 0), numClass-1) + 1 }
}

// WithMaxRetained sets n, the number of free buffers a Pool keeps per size
// class; a release that finds its class full drops the buffer (counted in
// Stats.Drops). Classes up to 64 KiB keep at most n. Each larger class keeps
// at most n×64 KiB of free memory, that is n/2 buffers of 128 KiB, n/4 of
// 256 KiB and so on down to n/256 of 16 MiB, and always at least one. The
// default, used when n is 0, is DefaultMaxRetained (1024): up to 1024
// buffers per class up to 64 KiB and 64 MiB per larger class, so at most
// about 640 MiB held free in all. A negative n keeps nothing: every buffer
// is dropped on its last release.
func WithMaxRetained(n int) Option {
	return func(c *config) { c.maxRetained = n }
}

// Pool hands out Buffers in size classes (powers of two from 256 B to
// 16 MiB; larger requests get an unpooled buffer) and keeps a bounded number
// of free buffers per class for reuse. All methods are safe for concurrent
// use. The zero Pool is ready to use with the defaults; a Pool must not be
// copied after first use.
type Pool struct {
	cfg     config
	classes [numClass]class

	// Buffers above the largest class have no free list.
	bigAllocs atomic.Uint64
	bigDrops  atomic.Uint64
}

// class is one size class's free stack and counters. The counters are
// updated under mu, which Get and Release hold anyway, so counting costs
// nothing extra and Stats sees each class consistently.
type class struct {
	mu     sync.Mutex
	free   []*Buffer
	low    int // the fewest free buffers since the last Trim
	hits   uint64
	allocs uint64
	puts   uint64
	drops  uint64
	// Keeps each class on its own cache lines so that traffic in one size
	// does not slow down another.
	_ [64]byte
}

// NewPool returns a Pool configured by opts.
func NewPool(opts ...Option) *Pool {
	p := new(Pool)
	for _, o := range opts {
		o(&p.cfg)
	}
	return p
}

// Stats counts a Pool's traffic since it was created. Gets == Hits + Allocs
// always holds. Once every buffer has had its last release,
// Puts + Drops == Gets.
type Stats struct {
	Gets   uint64 `json:"gets"`   // calls to Get
	Hits   uint64 `json:"hits"`   // Gets served from a free list
	Allocs uint64 `json:"allocs"` // Gets that allocated a new buffer
	Puts   uint64 `json:"puts"`   // last releases that kept the buffer for reuse
	Drops  uint64 `json:"drops"`  // last releases that let the buffer go: class full, or larger than 16 MiB
	// Retained is the number of bytes held in free buffers.
	Retained int64 `json:"retained"`
}

// Stats returns the Pool's counters. It is safe to call at any time; each
// size class is read atomically, the pool as a whole is not.
func (p *Pool) Stats() Stats {
	s := Stats{
		Allocs: p.bigAllocs.Load(),
		Drops:  p.bigDrops.Load(),
	}
	for i := range p.classes {
		c := &p.classes[i]
		c.mu.Lock()
		s.Hits += c.hits
		s.Allocs += c.allocs
		s.Puts += c.puts
		s.Drops += c.drops
		s.Retained += int64(len(c.free)) << (minShift + i)
		c.mu.Unlock()
	}
	s.Gets = s.Hits + s.Allocs
	return s
}

// Get returns a buffer with len(b.Bytes()) == n and cap(b.Bytes()) >= n (the
// size of n's class), holding one reference that the caller owns. The
// contents are not zeroed. A negative n is a caller bug and panics, as
// make([]byte, n) would.
func (p *Pool) Get(n int) *Buffer {
	if n < 0 {
		panic("buffer: Get with negative size")
	}
	ci := classOf(n)
	if ci >= numClass || p.cfg.maxClass > 0 && ci >= p.cfg.maxClass {
		p.bigAllocs.Add(1)
		b := &Buffer{data: make([]byte, n), pool: p, class: -1}
		b.refs.Store(1)
		return b
	}
	c := &p.classes[ci]
	var b *Buffer
	c.mu.Lock()
	if k := len(c.free) - 1; k >= 0 {
		b = c.free[k]
		c.free[k] = nil
		c.free = c.free[:k]
		c.low = min(c.low, k)
		c.hits++
	} else {
		c.allocs++
	}
	c.mu.Unlock()
	if b == nil {
		b = &Buffer{data: make([]byte, 1<<(minShift+ci)), pool: p, class: int8(ci)}
	}
	b.data = b.data[:n]
	b.refs.Store(1)
	return b
}

// put takes back b after its last release.
func (p *Pool) put(b *Buffer) {
	if b.class < 0 {
		p.bigDrops.Add(1)
		return
	}
	ci := int(b.class)
	c := &p.classes[ci]
	c.mu.Lock()
	if len(c.free) < p.limit(ci) {
		c.free = append(c.free, b)
		c.puts++
	} else {
		c.drops++
	}
	c.mu.Unlock()
}

// Trim lets go of the free buffers that no Get has needed since the
// previous Trim (on the first call, since the Pool was made) and returns
// their bytes. The caps of WithMaxRetained bound what a pool keeps; Trim,
// called periodically, gives back what a burst left behind within two
// periods while a steady load keeps its working set. An Engine trims its
// pool every few seconds. Safe for concurrent use.
func (p *Pool) Trim() int64 {
	var n int64
	for i := range p.classes {
		c := &p.classes[i]
		c.mu.Lock()
		k := len(c.free) - c.low
		clear(c.free[k:])
		n += int64(c.low) << (minShift + i)
		c.free = c.free[:k]
		c.low = k
		c.mu.Unlock()
	}
	return n
}

// limit is the cap on free buffers in class ci; WithMaxRetained documents
// the rule.
func (p *Pool) limit(ci int) int {
	n := p.cfg.maxRetained
	switch {
	case n < 0:
		return 0
	case n == 0:
		n = DefaultMaxRetained
	}
	if shift := minShift + ci; shift > fullShift {
		n >>= shift - fullShift
	}
	return max(n, 1)
}

// classOf returns the index of the smallest class holding n bytes; an index
// of numClass or more means no class does.
func classOf(n int) int {
	if n <= 1<<minShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minShift
}

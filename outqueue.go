package proactor

import (
	"math"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/seed487d475b/proactor/buffer"
)

// Writes are copied into chunks, which are never moved or grown, so the
// memory of a write in flight stays put while later writes are appended
// behind it. A queue that holds little starts with a small chunk: a loop
// iteration may have hundreds of connections' replies in flight at once,
// and 16 KiB each for 64-byte replies would be megabytes of memory that
// idle connections' RSS pays for.
const (
	chunkSize      = 16 << 10
	smallChunkSize = 512
)

// chunk is a write-queue chunk of either size; len(b) is its size.
type chunk struct{ b []byte }

// chunkPools are an engine's free chunks of each size, shared by its loops
// behind their caches.
type chunkPools struct{ small, big chunkPool }

func (p *chunkPools) init() {
	p.small.size = smallChunkSize
	p.big.size = chunkSize
}

// trim lets go of the chunks that no write has needed since the last trim
// and returns how many bytes that was.
func (p *chunkPools) trim() int { return p.small.trim() + p.big.trim() }

// chunkPool is a free list of chunks of one size. It is not a sync.Pool:
// the collector empties a sync.Pool only when it runs, and only in its
// second cycle, and nothing runs it after a burst has ended, when nothing
// allocates; the burst's chunks (a gigabyte for 20 peers that never read,
// at a 64 MiB high watermark) then stayed resident for minutes. This list
// keeps what it is given until trim, which the engine calls periodically
// and which drops what sat unused since the last trim: a steady load keeps
// its working set, and a burst's chunks go within two periods.
type chunkPool struct {
	mu   sync.Mutex
	free []*chunk
	low  int // the fewest free chunks since the last trim
	size int
}

func (p *chunkPool) get() *chunk {
	p.mu.Lock()
	if i := len(p.free) - 1; i >= 0 {
		c := p.free[i]
		p.free[i] = nil
		p.free = p.free[:i]
		p.low = min(p.low, i)
		p.mu.Unlock()
		return c
	}
	p.mu.Unlock()
	return &chunk{b: make([]byte, p.size)}
}

func (p *chunkPool) put(c *chunk) {
	p.mu.Lock()
	p.free = append(p.free, c)
	p.mu.Unlock()
}

// trim drops the chunks that were free the whole time since the last trim
// (low of them; which ones does not matter) and returns their bytes.
func (p *chunkPool) trim() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.low
	k := len(p.free) - n
	clear(p.free[k:])
	p.free = p.free[:k]
	if cap(p.free) > 64 && k < cap(p.free)/4 {
		// A burst's list of pointers goes too. (A clone of an empty
		// slice would still point into the old array.)
		p.free = append([]*chunk(nil), p.free...)
	}
	p.low = k
	return n * p.size
}

// chunkCache is a loop's stack of free chunks in front of the engine's
// pools. A write takes a chunk and the loop gives it back a moment later,
// once per message: a mutex that nobody contends costs a fifth of what
// sync.Pool's Get and Put cost (measured with callgrind). The stacks are
// bounded, so what a burst leaves behind goes back to the pools, which
// trim it.
type chunkCache struct {
	mu     sync.Mutex
	stacks [2][]*chunk // by class: small, big
	pools  [2]*chunkPool
}

const (
	cachedSmall = 128 // 64 KiB
	cachedBig   = 8   // 128 KiB
)

func newChunkCache(p *chunkPools) chunkCache {
	return chunkCache{
		stacks: [2][]*chunk{make([]*chunk, 0, cachedSmall), make([]*chunk, 0, cachedBig)},
		pools:  [2]*chunkPool{&p.small, &p.big},
	}
}

// class returns the stack and pool index of a chunk: 0 small, 1 big.
func class(small bool) int {
	if small {
		return 0
	}
	return 1
}

// get returns a chunk for n more bytes on a queue holding queued bytes in
// memory. Safe from any goroutine.
func (p *chunkCache) get(n, queued int) *chunk {
	k := class(max(n, queued) < smallChunkSize)
	p.mu.Lock()
	s := p.stacks[k]
	if i := len(s) - 1; i >= 0 {
		c := s[i]
		s[i] = nil
		p.stacks[k] = s[:i]
		p.mu.Unlock()
		return c
	}
	p.mu.Unlock()
	return p.pools[k].get()
}

// put gives c back. Safe from any goroutine.
func (p *chunkCache) put(c *chunk) {
	k := class(len(c.b) == smallChunkSize)
	p.mu.Lock()
	if s := p.stacks[k]; len(s) < cap(s) {
		p.stacks[k] = append(s, c)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.pools[k].put(c)
}

// seg is a stretch of queued bytes, of one of four kinds:
//
//   - copies, in a chunk (ch): what Write copied;
//   - a caller's pooled buffer queued without a copy (buf: WriteBuffer);
//   - a file to be sent by the kernel (file: SendFile; off is where r = 0
//     lies in the file);
//   - borrowed (none of the three set): bytes of the read being delivered
//     to the connection, queued without a copy by a Write made while that
//     read's callbacks run. r and w are offsets into that read, which
//     nobody owns and which is valid only until its callbacks return:
//     Conn.settle, the one place borrowed segments end, runs then and
//     turns whatever is left of them into copies (see Conn.queue).
type seg struct {
	ch   *chunk
	buf  *buffer.Buffer
	file *os.File
	off  int64
	r, w int
}

func (s *seg) borrowed() bool { return s.ch == nil && s.buf == nil && s.file == nil }

// bytes returns the segment's unsent bytes; rd is the read being
// delivered, which a borrowed segment points into.
func (s *seg) bytes(rd []byte) []byte {
	switch {
	case s.ch != nil:
		return s.ch.b[s.r:s.w]
	case s.buf != nil:
		return s.buf.Bytes()[s.r:s.w]
	}
	return rd[s.r:s.w]
}

// within reports where p starts in rd, and whether p lies wholly inside rd
// (an empty p lies nowhere). The addresses are only compared, never
// turned back into pointers.
func within(p, rd []byte) (int, bool) {
	if len(p) == 0 || len(p) > len(rd) {
		return 0, false
	}
	a := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	b := uintptr(unsafe.Pointer(unsafe.SliceData(rd)))
	if a < b || a-b > uintptr(len(rd)-len(p)) {
		return 0, false
	}
	return int(a - b), true
}

// outQueue is a connection's queue of bytes not yet written. It holds no
// chunk when empty, so an idle connection keeps no write buffer. n counts
// every queued byte, mem those held in memory (what the watermarks and the
// write cap limit; file bytes stay in the page cache).
//
// A queue that holds nothing but one borrowed stretch (an echo, the common
// reply) keeps it in lr and lw instead of in q, so a connection whose
// replies the socket takes whole never makes q's array; lw is 0 when there
// is none (a borrowed stretch is never empty). The stretch moves into q as
// soon as anything else is queued, and q's array, once made, is kept
// between messages, so a steady connection never allocates.
type outQueue struct {
	q      []seg
	n      atomic.Int64 // written under the connection's mu, read anywhere (Conn.Buffered)
	mem    int
	lr, lw uint32 // the lone borrowed stretch: offsets into the read being delivered
}

// lone reports whether the queue is one borrowed stretch kept in lr and lw.
func (o *outQueue) lone() bool { return o.lw != 0 }

// spill moves the lone borrowed stretch into q, before something else is
// queued behind it.
func (o *outQueue) spill() {
	if o.lone() {
		o.q = append(o.q, seg{r: int(o.lr), w: int(o.lw)})
		o.lr, o.lw = 0, 0
	}
}

// count adds n queued bytes held in memory.
func (o *outQueue) count(n int) {
	o.n.Add(int64(n))
	o.mem += n
}

func (o *outQueue) write(p []byte, pool *chunkCache) {
	o.spill()
	for len(p) > 0 {
		k := len(o.q) - 1
		if k < 0 || o.q[k].ch == nil || o.q[k].w == len(o.q[k].ch.b) {
			o.q = append(o.q, seg{ch: pool.get(len(p), o.mem)})
			k++
		}
		s := &o.q[k]
		n := copy(s.ch.b[s.w:], p)
		s.w += n
		o.count(n)
		p = p[n:]
	}
}

// writeBuffer queues b's bytes without a copy; the queue owns the reference.
func (o *outQueue) writeBuffer(b *buffer.Buffer) { o.add(seg{buf: b, w: len(b.Bytes())}) }

// borrow queues n bytes of the read being delivered, from off, without a
// copy: a borrowed segment (see seg), which settle must turn into copies
// before that read's callbacks are over. A stretch that continues the
// borrowed one before it (frames echoed one after another) extends it.
// On an empty queue it is the lone stretch, kept outside q.
func (o *outQueue) borrow(off, n int) {
	switch end := uint64(off) + uint64(n); {
	case len(o.q) == 0 && (o.lw == 0 || int(o.lw) == off) && end <= math.MaxUint32:
		if o.lw == 0 {
			o.lr = uint32(off)
		}
		o.lw = uint32(end)
	case len(o.q) > 0 && o.q[len(o.q)-1].borrowed() && o.q[len(o.q)-1].w == off:
		o.q[len(o.q)-1].w += n
	default:
		o.spill()
		o.q = append(o.q, seg{r: off, w: off + n})
	}
	o.count(n)
}

// add queues a stretch of bytes held in memory.
func (o *outQueue) add(s seg) {
	o.spill()
	o.q = append(o.q, s)
	o.count(s.w)
}

// writeFile queues n bytes of f from off; the queue owns f and closes it.
func (o *outQueue) writeFile(f *os.File, off int64, n int) {
	o.spill()
	o.q = append(o.q, seg{file: f, off: off, w: n})
	o.n.Add(int64(n))
}

// headFile reports the file stretch at the head of the queue, if that is
// what must go next.
func (o *outQueue) headFile() (f *os.File, off int64, n int, ok bool) {
	if len(o.q) == 0 || o.q[0].file == nil {
		return nil, 0, 0, false
	}
	s := &o.q[0]
	return s.file, s.off + int64(s.r), s.w - s.r, true
}

// iov appends the queued bytes to dst, at most max slices, up to the first
// file stretch (which goes out by itself); rd is the read being delivered,
// which borrowed segments point into.
func (o *outQueue) iov(dst [][]byte, max int, rd []byte) [][]byte {
	if o.lone() {
		return append(dst, rd[o.lr:o.lw])
	}
	for i := range o.q {
		s := &o.q[i]
		if len(dst) == max || s.file != nil {
			break
		}
		if s.w > s.r {
			dst = append(dst, s.bytes(rd))
		}
	}
	return dst
}

// borrowedThrough returns the count of queued bytes from the head through
// the end of the last borrowed segment: 0 when none is queued, and at most
// that many written bytes leave one behind.
func (o *outQueue) borrowedThrough() int {
	if o.lone() {
		return int(o.lw - o.lr)
	}
	n, through := 0, 0
	for i := range o.q {
		s := &o.q[i]
		n += s.w - s.r
		if s.borrowed() {
			through = n
		}
	}
	return through
}

// consume drops n written bytes and gives back what emptied.
func (o *outQueue) consume(n int, pool *chunkCache) {
	o.n.Add(int64(-n))
	if o.lone() {
		o.mem -= n
		if o.lr += uint32(n); o.lr == o.lw {
			o.lr, o.lw = 0, 0
		}
		return
	}
	for len(o.q) > 0 {
		s := &o.q[0]
		k := min(n, s.w-s.r)
		s.r += k
		n -= k
		if s.file == nil {
			o.mem -= k
		}
		if s.r < s.w {
			break
		}
		o.pop(pool)
	}
	if len(o.q) == 0 && cap(o.q) > 16 {
		o.q = nil // a burst's long list is not kept for an idle connection
	}
}

// pop shifts rather than reslices so the slice keeps its base and a steady
// one-chunk queue never reallocates.
func (o *outQueue) pop(pool *chunkCache) {
	switch s := &o.q[0]; {
	case s.ch != nil:
		pool.put(s.ch)
	case s.buf != nil:
		s.buf.Release()
	case s.file != nil:
		s.file.Close()
	} // a borrowed segment holds nothing to give back
	k := copy(o.q, o.q[1:])
	o.q[k] = seg{}
	o.q = o.q[:k]
}

// settle replaces every borrowed segment by copies of what is left of its
// bytes, in chunks at the same place in the queue, so that nothing queued
// points into rd, the read being delivered, once its callbacks are over.
func (o *outQueue) settle(rd []byte, pool *chunkCache) {
	o.spill()
	for i := 0; i < len(o.q); i++ {
		if !o.q[i].borrowed() {
			continue
		}
		rest := o.q[i].bytes(rd)
		for k := 0; len(rest) > 0; k++ {
			ch := pool.get(len(rest), o.mem)
			n := copy(ch.b, rest)
			rest = rest[n:]
			if k == 0 {
				o.q[i] = seg{ch: ch, w: n}
			} else {
				i++
				o.q = slices.Insert(o.q, i, seg{ch: ch, w: n})
			}
		}
	}
}

func (o *outQueue) reset(pool *chunkCache) {
	for len(o.q) > 0 {
		o.pop(pool)
	}
	o.q = nil
	o.n.Store(0)
	o.mem, o.lr, o.lw = 0, 0, 0
}

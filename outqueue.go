package proactor

import (
	"sync"

	"github.com/seed487d475b/proactor/buffer"
)

// chunkSize is the size of a write-queue chunk. Writes are copied into
// chunks, which are never moved or grown, so the memory of a write in flight
// stays put while later writes are appended behind it.
const chunkSize = 16 << 10

type chunk [chunkSize]byte

// seg is a stretch of queued bytes: in a chunk of copies, or in a caller's
// pooled buffer queued without a copy (WriteBuffer).
type seg struct {
	ch   *chunk
	buf  *buffer.Buffer
	r, w int
}

func (s *seg) bytes() []byte {
	if s.ch != nil {
		return s.ch[s.r:s.w]
	}
	return s.buf.Bytes()[s.r:s.w]
}

// outQueue is a connection's queue of bytes not yet written. It holds no
// chunk when empty, so an idle connection keeps no write buffer.
type outQueue struct {
	q []seg
	n int
}

func (o *outQueue) write(p []byte, pool *sync.Pool) {
	for len(p) > 0 {
		k := len(o.q) - 1
		if k < 0 || o.q[k].ch == nil || o.q[k].w == chunkSize {
			o.q = append(o.q, seg{ch: pool.Get().(*chunk)})
			k++
		}
		s := &o.q[k]
		n := copy(s.ch[s.w:], p)
		s.w += n
		o.n += n
		p = p[n:]
	}
}

// writeBuffer queues b's bytes without a copy; the queue owns the reference.
func (o *outQueue) writeBuffer(b *buffer.Buffer) {
	n := len(b.Bytes())
	o.q = append(o.q, seg{buf: b, w: n})
	o.n += n
}

// iov appends the queued bytes to dst, at most max slices.
func (o *outQueue) iov(dst [][]byte, max int) [][]byte {
	for i := range o.q {
		if len(dst) == max {
			break
		}
		if s := &o.q[i]; s.w > s.r {
			dst = append(dst, s.bytes())
		}
	}
	return dst
}

// consume drops n written bytes and gives back what emptied.
func (o *outQueue) consume(n int, pool *sync.Pool) {
	o.n -= n
	for len(o.q) > 0 {
		s := &o.q[0]
		k := min(n, s.w-s.r)
		s.r += k
		n -= k
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
func (o *outQueue) pop(pool *sync.Pool) {
	if s := &o.q[0]; s.ch != nil {
		pool.Put(s.ch)
	} else {
		s.buf.Release()
	}
	k := copy(o.q, o.q[1:])
	o.q[k] = seg{}
	o.q = o.q[:k]
}

func (o *outQueue) reset(pool *sync.Pool) {
	for len(o.q) > 0 {
		o.pop(pool)
	}
	o.q = nil
	o.n = 0
}

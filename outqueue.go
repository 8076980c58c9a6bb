package proactor

import "sync"

// chunkSize is the size of a write-queue chunk. Writes are copied into
// chunks, which are never moved or grown, so the memory of a write in flight
// stays put while later writes are appended behind it.
const chunkSize = 16 << 10

type chunk struct {
	r, w int
	b    [chunkSize]byte
}

// outQueue is a connection's queue of bytes not yet written. It holds no
// chunk when empty, so an idle connection keeps no write buffer.
type outQueue struct {
	q []*chunk
	n int
}

func (o *outQueue) write(p []byte, pool *sync.Pool) {
	for len(p) > 0 {
		var ch *chunk
		if k := len(o.q); k > 0 && o.q[k-1].w < chunkSize {
			ch = o.q[k-1]
		} else {
			ch = pool.Get().(*chunk)
			ch.r, ch.w = 0, 0
			o.q = append(o.q, ch)
		}
		n := copy(ch.b[ch.w:], p)
		ch.w += n
		o.n += n
		p = p[n:]
	}
}

// iov appends the queued bytes to dst, at most max slices.
func (o *outQueue) iov(dst [][]byte, max int) [][]byte {
	for _, ch := range o.q {
		if len(dst) == max {
			break
		}
		dst = append(dst, ch.b[ch.r:ch.w])
	}
	return dst
}

// consume drops n written bytes and returns emptied chunks to pool.
func (o *outQueue) consume(n int, pool *sync.Pool) {
	o.n -= n
	for n > 0 {
		ch := o.q[0]
		k := min(n, ch.w-ch.r)
		ch.r += k
		n -= k
		if ch.r == ch.w {
			o.pop(pool)
		}
	}
	if len(o.q) == 0 && cap(o.q) > 16 {
		o.q = nil // a burst's long chunk list is not kept for an idle connection
	}
}

// pop shifts rather than reslices so the slice keeps its base and a steady
// one-chunk queue never reallocates.
func (o *outQueue) pop(pool *sync.Pool) {
	pool.Put(o.q[0])
	k := copy(o.q, o.q[1:])
	o.q[k] = nil
	o.q = o.q[:k]
}

func (o *outQueue) reset(pool *sync.Pool) {
	for len(o.q) > 0 {
		o.pop(pool)
	}
	o.q = nil
	o.n = 0
}

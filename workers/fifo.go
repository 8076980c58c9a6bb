package workers

// fifo is a growable ring buffer. Both the per-key job lists and the run
// queue of keys use it: a plain slice with a head index would keep growing
// for a key that never drains, and re-slicing from the front would allocate
// on every refill. Not safe for concurrent use; the Pool's mutex guards it.
type fifo[T any] struct {
	buf  []T // len(buf) is zero or a power of two
	head int // index of the oldest element
	n    int // number of elements
}

// minFIFO is the capacity of a fifo's first buffer.
const minFIFO = 4

func (q *fifo[T]) len() int { return q.n }

func (q *fifo[T]) push(v T) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = v
	q.n++
}

// pop removes and returns the oldest element; ok is false when q is empty.
// The vacated slot is zeroed so a finished job's closure can be collected.
func (q *fifo[T]) pop() (v T, ok bool) {
	if q.n == 0 {
		return v, false
	}
	var zero T
	v = q.buf[q.head]
	q.buf[q.head] = zero
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	return v, true
}

func (q *fifo[T]) grow() {
	size := max(2*len(q.buf), minFIFO)
	buf := make([]T, size)
	// Unroll the ring so the oldest element lands at index 0.
	k := copy(buf, q.buf[q.head:])
	copy(buf[k:], q.buf[:q.head])
	q.buf = buf
	q.head = 0
}

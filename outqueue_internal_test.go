package proactor

import (
	"bytes"
	"testing"
)

// queued returns every byte the queue holds in memory, in order; rd is the
// read its borrowed segments point into.
func queued(o *outQueue, rd []byte) []byte {
	var b []byte
	for _, p := range o.iov(nil, len(o.q)+1, rd) {
		b = append(b, p...)
	}
	return b
}

// checkQueue fails unless the queue holds want, counted right, and, if
// settled, no borrowed segment.
func checkQueue(t *testing.T, o *outQueue, rd, want []byte, settled bool) {
	t.Helper()
	if got := queued(o, rd); !bytes.Equal(got, want) {
		t.Fatalf("queue holds %q, want %q", got, want)
	}
	if o.n.Load() != int64(len(want)) || o.mem != len(want) {
		t.Fatalf("n %d, mem %d; want %d", o.n.Load(), o.mem, len(want))
	}
	if settled && o.borrowedThrough() != 0 {
		t.Fatal("a borrowed segment is left after settle")
	}
}

// borrowIn queues p, which lies in rd, as a Write while rd is delivered does.
func borrowIn(t *testing.T, o *outQueue, rd, p []byte) {
	t.Helper()
	off, ok := within(p, rd)
	if !ok {
		t.Fatalf("%q does not lie in the read", p)
	}
	o.borrow(off, len(p))
}

// reuse overwrites rd, as the next read into the loop's buffer would.
func reuse(rd []byte) {
	for i := range rd {
		rd[i] = '#'
	}
}

func newTestCache() *chunkCache {
	var pools chunkPools
	pools.init()
	c := newChunkCache(&pools)
	return &c
}

// TestOutQueueBorrowed follows a borrowed segment through the writes a
// settle can make: all of it, part of it, none of it, and writes queued
// behind it; whatever is left must be copies that survive the read
// buffer's reuse, in the order the writes were made.
func TestOutQueueBorrowed(t *testing.T) {
	pool := newTestCache()
	read := []byte("0123456789abcdefghij")

	t.Run("AllWritten", func(t *testing.T) {
		rd := bytes.Clone(read)
		var o outQueue
		borrowIn(t, &o, rd, rd[2:12])
		checkQueue(t, &o, rd, read[2:12], false)
		if got := o.borrowedThrough(); got != 10 {
			t.Fatalf("borrowedThrough %d, want 10", got)
		}
		o.consume(10, pool) // the socket took it all
		o.settle(rd, pool)
		reuse(rd)
		checkQueue(t, &o, rd, nil, true)
		if cap(o.q) != 0 || o.lone() {
			t.Fatalf("%d segments left, lone stretch %v; an echo written whole leaves nothing, and makes no array", len(o.q), o.lone())
		}
	})

	t.Run("PartlyWritten", func(t *testing.T) {
		rd := bytes.Clone(read)
		var o outQueue
		borrowIn(t, &o, rd, rd[:10])
		o.consume(4, pool)
		o.settle(rd, pool)
		reuse(rd)
		checkQueue(t, &o, rd, read[4:10], true)
		o.reset(pool)
	})

	t.Run("NoneWritten", func(t *testing.T) {
		rd := bytes.Clone(read)
		var o outQueue
		borrowIn(t, &o, rd, rd[5:])
		o.settle(rd, pool)
		reuse(rd)
		checkQueue(t, &o, rd, read[5:], true)
		o.reset(pool)
	})

	t.Run("WritesBehind", func(t *testing.T) {
		// A copy behind a borrowed segment, another borrowed one behind
		// that, a copy again; partly written, then settled: the order is
		// the order of the writes, and later writes go behind the copies.
		rd := bytes.Clone(read)
		var o outQueue
		borrowIn(t, &o, rd, rd[:5])
		o.write([]byte("XY"), pool)
		borrowIn(t, &o, rd, rd[5:8]) // continues rd[:5] in the read, but not in the queue
		o.write([]byte("Z"), pool)
		want := []byte("01234XY567Z")
		checkQueue(t, &o, rd, want, false)
		if len(o.q) != 4 {
			t.Fatalf("%d segments, want 4", len(o.q))
		}
		if got := o.borrowedThrough(); got != 10 {
			t.Fatalf("borrowedThrough %d, want 10", got)
		}
		o.consume(3, pool)
		o.settle(rd, pool)
		reuse(rd)
		o.write([]byte("!"), pool)
		checkQueue(t, &o, rd, []byte("34XY567Z!"), true)
		o.consume(6, pool)
		checkQueue(t, &o, rd, []byte("7Z!"), true)
		o.reset(pool)
	})

	t.Run("WrittenUpToACopy", func(t *testing.T) {
		// The write ends inside the copy queued behind the borrowed
		// segment: nothing borrowed is left, and settle copies nothing.
		rd := bytes.Clone(read)
		var o outQueue
		borrowIn(t, &o, rd, rd[:4])
		o.write([]byte("XYZ"), pool)
		o.consume(5, pool)
		if got := o.borrowedThrough(); got != 0 {
			t.Fatalf("borrowedThrough %d after the borrowed bytes went, want 0", got)
		}
		o.settle(rd, pool)
		reuse(rd)
		checkQueue(t, &o, rd, []byte("YZ"), true)
		o.reset(pool)
	})

	t.Run("Frames", func(t *testing.T) {
		// Frames echoed one after another in one read make one segment.
		rd := bytes.Clone(read)
		var o outQueue
		for i := 0; i < 20; i += 4 {
			borrowIn(t, &o, rd, rd[i:i+4])
		}
		if len(o.q) != 0 || !o.lone() {
			t.Fatalf("%d segments and lone stretch %v, want the lone stretch only", len(o.q), o.lone())
		}
		checkQueue(t, &o, rd, read, false)
		o.settle(rd, pool)
		reuse(rd)
		checkQueue(t, &o, rd, read, true)
		o.reset(pool)
	})

	t.Run("LoneThenMore", func(t *testing.T) {
		// The lone stretch of an empty queue moves into the list, ahead,
		// when a stretch that does not continue it is queued; the list's
		// array is made only then.
		rd := bytes.Clone(read)
		var o outQueue
		borrowIn(t, &o, rd, rd[:4])
		borrowIn(t, &o, rd, rd[4:6]) // continues it: still lone
		if !o.lone() || cap(o.q) != 0 {
			t.Fatalf("lone %v, array of %d; want the lone stretch and no array", o.lone(), cap(o.q))
		}
		borrowIn(t, &o, rd, rd[10:12])
		if o.lone() || len(o.q) != 2 {
			t.Fatalf("lone %v, %d segments; want 2 segments in the list", o.lone(), len(o.q))
		}
		checkQueue(t, &o, rd, []byte("012345ab"), false)
		o.consume(7, pool)
		o.settle(rd, pool)
		reuse(rd)
		checkQueue(t, &o, rd, []byte("b"), true)
		o.reset(pool)
		if o.lone() || o.n.Load() != 0 || o.mem != 0 {
			t.Fatal("reset left something queued")
		}
	})

	t.Run("Large", func(t *testing.T) {
		// More than a chunk holds: copied into several chunks, in place,
		// ahead of what was queued behind.
		rd := make([]byte, 2*chunkSize+100)
		for i := range rd {
			rd[i] = byte(i * 7)
		}
		orig := bytes.Clone(rd)
		var o outQueue
		borrowIn(t, &o, rd, rd)
		o.write([]byte("tail"), pool)
		o.consume(50, pool)
		o.settle(rd, pool)
		reuse(rd)
		checkQueue(t, &o, rd, append(orig[50:], "tail"...), true)
		o.reset(pool)
	})
}

func TestWithin(t *testing.T) {
	rd := make([]byte, 10)
	other := make([]byte, 10)
	for _, tc := range []struct {
		name string
		p    []byte
		off  int
		ok   bool
	}{
		{"Whole", rd, 0, true},
		{"Inside", rd[3:7], 3, true},
		{"End", rd[9:], 9, true},
		{"Empty", rd[4:4], 0, false},
		{"Elsewhere", other[2:4], 0, false},
		{"Copy", append(rd[:0:0], rd...), 0, false},
	} {
		off, ok := within(tc.p, rd)
		if ok != tc.ok || off != tc.off {
			t.Errorf("%s: within = %d, %v; want %d, %v", tc.name, off, ok, tc.off, tc.ok)
		}
	}
	// A slice that starts inside the read and runs past its end does not
	// lie in it.
	big := make([]byte, 20)
	if _, ok := within(big[5:15], big[:10]); ok {
		t.Error("a slice running past the read's end lies in it")
	}
	if _, ok := within(big[:4], big[5:15]); ok {
		t.Error("a slice before the read lies in it")
	}
}

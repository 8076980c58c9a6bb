package codec

import (
	"encoding/binary"
	"errors"
	"testing"
)

// feedResult is what feed collected from one stream.
type feedResult struct {
	frames  [][]byte // copies of the frames, in order
	raw     [][]byte // copies of the bytes each frame consumed
	err     error    // the error that ended the stream, nil if none
	tail    int      // bytes left unconsumed at the end
	maxTail int      // longest tail kept while waiting for more bytes
	maxBuf  int      // longest buffer handed to Next
	grows   int      // times the tail buffer was allocated or reallocated
}

// feed simulates proactor's read path over stream. It delivers the stream in
// reads of the given sizes, cycled (nil means one read of everything), keeps
// the unconsumed tail in one buffer sized by Next's need when known (else
// doubled), calls Next until it reports no whole frame, and copies each frame
// because the buffer is reused. It checks the Framer contract on every call
// and stops at the first error.
func feed(t testing.TB, f Framer, stream []byte, chunks []int) feedResult {
	t.Helper()
	return feedMode(t, f, stream, chunks, false)
}

// feedMode is feed, calling NextFrom instead of Next if resume is set and f
// is a ResumableFramer.
func feedMode(t testing.TB, f Framer, stream []byte, chunks []int, resume bool) feedResult {
	t.Helper()
	var (
		res     feedResult
		buf     []byte
		need    int
		scanned int
	)
	next := f.Next
	if rf, ok := f.(ResumableFramer); ok && resume {
		next = func(buf []byte) ([]byte, int, int, error) { return rf.NextFrom(buf, scanned) }
	}
	for i := 0; len(stream) > 0; i++ {
		size := len(stream)
		if len(chunks) > 0 {
			size = min(max(chunks[i%len(chunks)], 1), len(stream))
		}
		chunk := stream[:size]
		stream = stream[size:]
		if len(buf)+size > cap(buf) {
			grown := make([]byte, len(buf), max(need, len(buf)+size, 2*cap(buf)))
			copy(grown, buf)
			buf = grown
			res.grows++
		}
		buf = append(buf, chunk...)
		consumed := 0
		for {
			in := buf[consumed:]
			res.maxBuf = max(res.maxBuf, len(in))
			frame, n, nd, err := next(in)
			checkNext(t, in, frame, n, nd, err)
			if err != nil {
				res.err = err
				res.tail = len(in)
				return res
			}
			if n == 0 {
				need, scanned = nd, len(in)
				break
			}
			scanned = 0
			res.frames = append(res.frames, append([]byte{}, frame...))
			res.raw = append(res.raw, append([]byte{}, in[:n]...))
			consumed += n
		}
		if consumed > 0 {
			buf = buf[:copy(buf, buf[consumed:])]
		}
		res.maxTail = max(res.maxTail, len(buf))
	}
	res.tail = len(buf)
	return res
}

// checkNext fails t if one result of Next on buf breaks the Framer contract:
// a frame must be a capacity-capped subslice of the bytes it consumed, need
// must exceed what is buffered, and errors must match a sentinel.
func checkNext(t testing.TB, buf, frame []byte, n, need int, err error) {
	t.Helper()
	switch {
	case err != nil:
		if !errors.Is(err, ErrFrameTooLarge) && !errors.Is(err, ErrBadFrame) {
			t.Fatalf("Next error %v matches no sentinel", err)
		}
		if frame != nil || n != 0 || need != 0 {
			t.Fatalf("Next returned error %v with frame %q, n %d, need %d", err, frame, n, need)
		}
	case n == 0:
		if frame != nil {
			t.Fatalf("Next returned frame %q with n == 0", frame)
		}
		if need != 0 && need <= len(buf) {
			t.Fatalf("Next needs %d bytes, but %d are buffered", need, len(buf))
		}
	default:
		if n < 0 || n > len(buf) || need != 0 {
			t.Fatalf("Next used %d of %d bytes, need %d", n, len(buf), need)
		}
		if cap(frame) != len(frame) {
			t.Fatalf("frame capacity %d exceeds its length %d", cap(frame), len(frame))
		}
		if len(frame) > 0 && !aliases(buf[:n], frame) {
			t.Fatalf("frame %q is not a subslice of the %d bytes consumed", frame, n)
		}
	}
}

// aliases reports whether frame, not empty, lies within buf's memory.
func aliases(buf, frame []byte) bool {
	for off := 0; off+len(frame) <= len(buf); off++ {
		if &buf[off] == &frame[0] {
			return true
		}
	}
	return false
}

// chunkSizes turns fuzz bytes into read sizes of 1 to 256 bytes.
func chunkSizes(cuts []byte) []int {
	sizes := make([]int, len(cuts))
	for i, c := range cuts {
		sizes[i] = int(c) + 1
	}
	return sizes
}

// splitPayloads cuts fuzz data into payloads, each announced by a length byte.
func splitPayloads(data []byte) [][]byte {
	var payloads [][]byte
	for len(data) > 0 {
		n := min(int(data[0]), len(data)-1)
		payloads = append(payloads, data[1:1+n])
		data = data[1+n:]
	}
	return payloads
}

// header encodes v as an hs-byte length, independently of Append.
func header(order binary.AppendByteOrder, hs int, v uint64) []byte {
	switch hs {
	case 1:
		return []byte{byte(v)}
	case 2:
		return order.AppendUint16(nil, uint16(v))
	case 4:
		return order.AppendUint32(nil, uint32(v))
	default:
		return order.AppendUint64(nil, v)
	}
}

// cat concatenates byte slices, to spell streams in tables.
func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// sameResult fails t unless two feeds of one stream found the same frames,
// the same kind of error and the same tail.
func sameResult(t testing.TB, got, want feedResult) {
	t.Helper()
	equalFrames(t, got.frames, want.frames)
	equalFrames(t, got.raw, want.raw)
	if (got.err == nil) != (want.err == nil) || errors.Is(got.err, ErrBadFrame) != errors.Is(want.err, ErrBadFrame) ||
		got.tail != want.tail || got.maxTail != want.maxTail {
		t.Fatalf("got error %v, tail %d (max %d); want %v, tail %d (max %d)",
			got.err, got.tail, got.maxTail, want.err, want.tail, want.maxTail)
	}
}

// equalFrames fails t unless got and want hold the same frames.
func equalFrames(t testing.TB, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d frames %q, want %d %q", len(got), got, len(want), want)
	}
	for i := range got {
		if string(got[i]) != string(want[i]) {
			t.Fatalf("frame %d is %q, want %q", i, got[i], want[i])
		}
	}
}

// checkErr fails t unless err matches want, nil meaning no error.
func checkErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}

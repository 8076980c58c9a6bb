package codec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"testing"
)

// TestLengthPrefixedNext runs streams through LengthPrefixed in various reads.
func TestLengthPrefixedNext(t *testing.T) {
	be := binary.BigEndian
	strip := LengthPrefixed{StripHeader: true}
	tests := []struct {
		name     string
		framer   LengthPrefixed
		stream   []byte
		chunks   []int
		want     []string
		wantErr  error
		wantTail int
	}{
		{name: "default keeps header", stream: []byte("\x00\x00\x00\x03abc"),
			want: []string{"\x00\x00\x00\x03abc"}},
		{name: "strip header", framer: strip, stream: []byte("\x00\x00\x00\x03abc"), want: []string{"abc"}},
		{name: "header split across reads", framer: strip, stream: []byte("\x00\x00\x00\x03abc\x00\x00\x00\x01d"),
			chunks: []int{1, 2, 3}, want: []string{"abc", "d"}},
		{name: "one byte at a time", framer: strip, stream: []byte("\x00\x00\x00\x02hi\x00\x00\x00\x00"),
			chunks: []int{1}, want: []string{"hi", ""}},
		{name: "zero-length payload", framer: strip, stream: []byte("\x00\x00\x00\x00"), want: []string{""}},
		{name: "zero-length frame is its header", stream: []byte("\x00\x00\x00\x00"), want: []string{"\x00\x00\x00\x00"}},
		{name: "three frames in one read", framer: strip,
			stream: []byte("\x00\x00\x00\x01a\x00\x00\x00\x02bc\x00\x00\x00\x03def"), want: []string{"a", "bc", "def"}},
		{name: "partial frame stays in the tail", framer: strip, stream: []byte("\x00\x00\x00\x01a\x00\x00\x00\x05abc"),
			want: []string{"a"}, wantTail: 7},
		{name: "partial header stays in the tail", framer: strip, stream: []byte("\x00\x00"), wantTail: 2},
		{name: "little endian", framer: LengthPrefixed{HeaderSize: 2, ByteOrder: binary.LittleEndian, StripHeader: true},
			stream: []byte("\x03\x00abc"), want: []string{"abc"}},
		{name: "includes header", framer: LengthPrefixed{IncludesHeader: true, StripHeader: true},
			stream: []byte("\x00\x00\x00\x07abc\x00\x00\x00\x04"), want: []string{"abc", ""}},
		{name: "adjust adds a trailer", framer: LengthPrefixed{HeaderSize: 1, Adjust: 2},
			stream: []byte("\x03abcXY"), want: []string{"\x03abcXY"}},
		{name: "adjust after includes header", framer: LengthPrefixed{HeaderSize: 1, IncludesHeader: true, Adjust: 2},
			stream: []byte("\x04abcXY"), want: []string{"\x04abcXY"}},
		{name: "negative adjust", framer: LengthPrefixed{HeaderSize: 2, Adjust: -2, StripHeader: true},
			stream: []byte("\x00\x05abc"), want: []string{"abc"}},
		{name: "frame at MaxFrame", framer: LengthPrefixed{HeaderSize: 1, MaxFrame: 4, StripHeader: true},
			stream: []byte("\x03abc"), want: []string{"abc"}},
		{name: "header over MaxFrame", framer: LengthPrefixed{HeaderSize: 1, MaxFrame: 4},
			stream: []byte("\x04abcd"), wantErr: ErrFrameTooLarge, wantTail: 5},
		{name: "too large as soon as the header arrives", framer: LengthPrefixed{MaxFrame: 100},
			stream: cat(be.AppendUint32(nil, 97), make([]byte, 97)), chunks: []int{4, 1},
			wantErr: ErrFrameTooLarge, wantTail: 4},
		{name: "huge 8-byte length does not overflow", framer: LengthPrefixed{HeaderSize: 8},
			stream: be.AppendUint64(nil, math.MaxUint64), wantErr: ErrFrameTooLarge, wantTail: 8},
		{name: "8-byte length above MaxInt", framer: LengthPrefixed{HeaderSize: 8, IncludesHeader: true},
			stream: be.AppendUint64(nil, 1<<63), wantErr: ErrFrameTooLarge, wantTail: 8},
		{name: "length beyond int brought back by adjust",
			framer: LengthPrefixed{HeaderSize: 8, IncludesHeader: true, Adjust: math.MinInt, StripHeader: true},
			stream: cat(be.AppendUint64(nil, 1<<63+11), []byte("abc")), want: []string{"abc"}},
		{name: "huge positive adjust", framer: LengthPrefixed{HeaderSize: 8, Adjust: math.MaxInt},
			stream: be.AppendUint64(nil, math.MaxUint64-3), wantErr: ErrFrameTooLarge, wantTail: 8},
		{name: "includes header shorter than header", framer: LengthPrefixed{IncludesHeader: true},
			stream: []byte("\x00\x00\x00\x03abc"), wantErr: ErrBadFrame, wantTail: 7},
		{name: "adjust makes length negative", framer: LengthPrefixed{HeaderSize: 1, Adjust: -10},
			stream: []byte("\x03abc"), wantErr: ErrBadFrame, wantTail: 4},
		{name: "adjust makes frame shorter than header", framer: LengthPrefixed{HeaderSize: 2, Adjust: -2},
			stream: []byte("\x00\x01a"), wantErr: ErrBadFrame, wantTail: 3},
		{name: "bad frame after good ones", framer: LengthPrefixed{HeaderSize: 1, IncludesHeader: true, StripHeader: true},
			stream: []byte("\x02a\x00"), want: []string{"a"}, wantErr: ErrBadFrame, wantTail: 1},
		{name: "header size 3", framer: LengthPrefixed{HeaderSize: 3}, stream: []byte("\x00\x00\x01a"),
			wantErr: ErrBadFrame, wantTail: 4},
		{name: "negative MaxFrame", framer: LengthPrefixed{MaxFrame: -1}, stream: []byte("\x00"),
			wantErr: ErrBadFrame, wantTail: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := feed(t, tt.framer, tt.stream, tt.chunks)
			checkErr(t, res.err, tt.wantErr)
			equalFrames(t, res.frames, toBytes(tt.want))
			if res.tail != tt.wantTail {
				t.Errorf("tail %d bytes, want %d", res.tail, tt.wantTail)
			}
		})
	}
}

// TestLengthPrefixedHeaderSizes decodes every header size in both byte
// orders, with and without IncludesHeader, including the longest payload a
// 1-byte header can announce.
func TestLengthPrefixedHeaderSizes(t *testing.T) {
	orders := []binary.AppendByteOrder{binary.BigEndian, binary.LittleEndian}
	for _, hs := range []int{1, 2, 4, 8} {
		for _, order := range orders {
			for _, includes := range []bool{false, true} {
				name := fmt.Sprintf("%d-byte %v includes=%v", hs, order, includes)
				t.Run(name, func(t *testing.T) {
					f := LengthPrefixed{HeaderSize: hs, ByteOrder: order.(binary.ByteOrder),
						IncludesHeader: includes, StripHeader: true}
					longest := 255
					if includes && hs == 1 {
						longest -= hs
					}
					payloads := [][]byte{[]byte("x"), {}, bytes.Repeat([]byte("y"), longest), []byte("hello")}
					var stream []byte
					for _, p := range payloads {
						v := uint64(len(p))
						if includes {
							v += uint64(hs)
						}
						frame := cat(header(order, hs, v), p)
						enc, err := f.Append(nil, p)
						if err != nil || !bytes.Equal(enc, frame) {
							t.Fatalf("Append(%d bytes) = %x, %v, want %x", len(p), enc, err, frame)
						}
						stream = append(stream, frame...)
					}
					for _, chunks := range [][]int{nil, {1}, {3, 7}} {
						res := feed(t, f, stream, chunks)
						checkErr(t, res.err, nil)
						equalFrames(t, res.frames, payloads)
					}
				})
			}
		}
	}
}

// TestLengthPrefixedNeed checks that need is the whole frame's size once the
// header is buffered, and 0 before.
func TestLengthPrefixedNeed(t *testing.T) {
	tests := []struct {
		name     string
		framer   LengthPrefixed
		buf      []byte
		wantNeed int
	}{
		{name: "empty", buf: nil, wantNeed: 0},
		{name: "partial header", buf: []byte("\x00\x00\x01"), wantNeed: 0},
		{name: "header only", buf: []byte("\x00\x00\x01\x00"), wantNeed: 260},
		{name: "header and some payload", buf: []byte("\x00\x00\x01\x00abc"), wantNeed: 260},
		{name: "strip header still counts it", framer: LengthPrefixed{StripHeader: true},
			buf: []byte("\x00\x00\x00\x05"), wantNeed: 9},
		{name: "includes header and adjust", framer: LengthPrefixed{HeaderSize: 2, IncludesHeader: true, Adjust: 4},
			buf: []byte("\x00\x10"), wantNeed: 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, n, need, err := tt.framer.Next(tt.buf)
			if frame != nil || n != 0 || need != tt.wantNeed || err != nil {
				t.Fatalf("Next = %q, %d, %d, %v, want need %d", frame, n, need, err, tt.wantNeed)
			}
		})
	}
}

// TestLengthPrefixedLarge sends frames far larger than a 64 KiB read and
// checks that the caller sizes its buffer once from need, and that a frame
// one byte over a 16 MiB MaxFrame fails on its header.
func TestLengthPrefixedLarge(t *testing.T) {
	const maxFrame = 16 << 20
	f := LengthPrefixed{MaxFrame: maxFrame, StripHeader: true}
	reads := []int{64 << 10}
	tests := []struct {
		name      string
		payload   int
		wantErr   error
		wantGrows int
	}{
		{name: "1 MiB", payload: 1 << 20, wantGrows: 2},
		{name: "exactly MaxFrame", payload: maxFrame - 4, wantGrows: 2},
		{name: "one over MaxFrame", payload: maxFrame - 3, wantErr: ErrFrameTooLarge, wantGrows: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := bytes.Repeat([]byte("0123456789abcdef"), tt.payload/16+1)[:tt.payload]
			stream := cat(binary.BigEndian.AppendUint32(nil, uint32(tt.payload)), payload)
			res := feed(t, f, stream, reads)
			checkErr(t, res.err, tt.wantErr)
			if res.grows != tt.wantGrows {
				t.Errorf("tail buffer allocated %d times, want %d", res.grows, tt.wantGrows)
			}
			if tt.wantErr != nil {
				if res.maxBuf > reads[0] {
					t.Errorf("buffered %d bytes before the error, want at most one read", res.maxBuf)
				}
				return
			}
			equalFrames(t, res.frames, [][]byte{payload})
		})
	}
}

// TestLengthPrefixedAppend checks the encoder's limits; Append must leave dst
// unchanged when it fails.
func TestLengthPrefixedAppend(t *testing.T) {
	tests := []struct {
		name    string
		framer  LengthPrefixed
		payload int
		want    []byte // the header, when wantErr is nil
		wantErr error
	}{
		{name: "default header", payload: 3, want: []byte("\x00\x00\x00\x03")},
		{name: "little endian includes header",
			framer:  LengthPrefixed{HeaderSize: 2, ByteOrder: binary.LittleEndian, IncludesHeader: true},
			payload: 3, want: []byte("\x05\x00")},
		{name: "adjust is subtracted", framer: LengthPrefixed{HeaderSize: 1, Adjust: 2}, payload: 5, want: []byte("\x03")},
		{name: "negative adjust is added", framer: LengthPrefixed{HeaderSize: 1, Adjust: -2}, payload: 5, want: []byte("\x07")},
		{name: "longest 1-byte length", framer: LengthPrefixed{HeaderSize: 1}, payload: 255, want: []byte("\xff")},
		{name: "not representable in 1 byte", framer: LengthPrefixed{HeaderSize: 1}, payload: 256, wantErr: ErrFrameTooLarge},
		{name: "not representable with header", framer: LengthPrefixed{HeaderSize: 1, IncludesHeader: true},
			payload: 255, wantErr: ErrFrameTooLarge},
		{name: "over MaxFrame", framer: LengthPrefixed{MaxFrame: 10}, payload: 7, wantErr: ErrFrameTooLarge},
		{name: "at MaxFrame", framer: LengthPrefixed{MaxFrame: 10}, payload: 6, want: []byte("\x00\x00\x00\x06")},
		{name: "over default MaxFrame", payload: DefaultMaxLengthPrefixed - 3, wantErr: ErrFrameTooLarge},
		{name: "shorter than adjust", framer: LengthPrefixed{HeaderSize: 1, Adjust: 2}, payload: 1, wantErr: ErrBadFrame},
		{name: "bad header size", framer: LengthPrefixed{HeaderSize: 5}, payload: 1, wantErr: ErrBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := bytes.Repeat([]byte("p"), tt.payload)
			dst := []byte("prefix")
			got, err := tt.framer.Append(dst, payload)
			checkErr(t, err, tt.wantErr)
			if err != nil {
				if string(got) != "prefix" {
					t.Fatalf("Append changed dst to %q on error", got)
				}
				return
			}
			if want := cat(dst, tt.want, payload); !bytes.Equal(got, want) {
				t.Fatalf("Append = %x, want %x", got, want)
			}
			frame, n, _, err := tt.framer.Next(got[len(dst):])
			if err != nil || n != len(got)-len(dst) {
				t.Fatalf("Next on the encoding = %x, %d, %v", frame, n, err)
			}
		})
	}
}

// toBytes converts table strings to frames.
func toBytes(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

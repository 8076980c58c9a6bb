package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// format is a Framer with its Encoder, as the fuzz tests see it.
type format struct {
	codec interface {
		Framer
		Encoder
	}
	payload func(frame []byte) []byte // what Append took, given a frame from Next
	bound   int                       // a tail kept waiting for bytes is shorter than this
	// canonical, if set, is how Append writes the bytes a frame consumed
	// (a format that reads several line ends and writes one).
	canonical func(raw []byte) []byte
}

// checkRoundTrip encodes payloads with Append, skipping those it refuses,
// feeds the stream in chunks and checks that Next gives back every payload.
func checkRoundTrip(t *testing.T, fm format, payloads [][]byte, chunks []int) {
	var stream []byte
	var want, wantRaw [][]byte
	for _, p := range payloads {
		enc, err := fm.codec.Append(nil, p)
		if err != nil {
			if !errors.Is(err, ErrFrameTooLarge) && !errors.Is(err, ErrBadFrame) {
				t.Fatalf("Append error %v matches no sentinel", err)
			}
			continue
		}
		stream = append(stream, enc...)
		want = append(want, p)
		wantRaw = append(wantRaw, enc)
	}
	res := feedBoth(t, fm.codec, stream, chunks)
	if res.err != nil || res.tail != 0 {
		t.Fatalf("decoding the encoded stream: %v, %d bytes left", res.err, res.tail)
	}
	equalFrames(t, res.raw, wantRaw)
	got := make([][]byte, len(res.frames))
	for i, frame := range res.frames {
		got[i] = fm.payload(frame)
	}
	equalFrames(t, got, want)
}

// checkRaw feeds arbitrary bytes in chunks: Next must not panic, must keep
// the tail under the format's bound, and every frame it finds must be what
// Append makes of its payload.
func checkRaw(t *testing.T, fm format, data []byte, chunks []int) feedResult {
	res := feedBoth(t, fm.codec, data, chunks)
	if res.maxTail >= fm.bound {
		t.Fatalf("kept a %d-byte tail, bound %d", res.maxTail, fm.bound)
	}
	for i, frame := range res.frames {
		want := res.raw[i]
		if fm.canonical != nil {
			want = fm.canonical(want)
		}
		enc, err := fm.codec.Append(nil, fm.payload(frame))
		if err != nil || !bytes.Equal(enc, want) {
			t.Fatalf("frame %d: Append = %q, %v, want %q", i, enc, err, want)
		}
	}
	return res
}

// feedBoth feeds stream through NextFrom if f has it, and also through Next
// when the stream is short enough for Next's repeated search, which must
// agree.
func feedBoth(t *testing.T, f Framer, stream []byte, chunks []int) feedResult {
	res := feedMode(t, f, stream, chunks, true)
	if _, ok := f.(ResumableFramer); ok && len(stream) <= 4096 {
		sameResult(t, res, feed(t, f, stream, chunks))
	}
	return res
}

// FuzzLengthPrefixed checks LengthPrefixed over fuzzed configurations,
// payloads, streams and read sizes.
func FuzzLengthPrefixed(f *testing.F) {
	f.Add(uint8(2), uint8(4), int8(0), uint16(0), []byte{0, 2}, []byte("\x03abc\x00\x05hello"))
	f.Add(uint8(0), uint8(3), int8(-1), uint16(10), []byte{1}, []byte("\x02\x02\x00\x01\xff"))
	f.Add(uint8(3), uint8(2), int8(0), uint16(64), []byte{7}, []byte("\x00\x00\x00\x00\x00\x00\x00\x08"))
	f.Add(uint8(3), uint8(8), int8(0), uint16(0), []byte{}, []byte("\x80\x00\x00\x00\x00\x00\x00\x0bxyz"))
	f.Add(uint8(1), uint8(16), int8(5), uint16(300), []byte{3, 0}, []byte("\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, hsSel, flags uint8, adjust int8, maxFrame uint16, cuts, data []byte) {
		p := LengthPrefixed{
			HeaderSize:     []int{1, 2, 4, 8}[hsSel%4],
			IncludesHeader: flags&2 != 0,
			StripHeader:    flags&4 != 0,
			Adjust:         int(adjust),
			MaxFrame:       int(maxFrame),
		}
		if flags&1 != 0 {
			p.ByteOrder = binary.LittleEndian
		}
		switch {
		case flags&8 != 0:
			p.Adjust = math.MinInt + int(adjust)
		case flags&16 != 0:
			p.Adjust = math.MaxInt - int(adjust)
		}
		effMax := p.MaxFrame
		if effMax == 0 {
			effMax = DefaultMaxLengthPrefixed
		}
		fm := format{codec: p, bound: max(effMax, p.HeaderSize)}
		fm.payload = func(frame []byte) []byte {
			if p.StripHeader {
				return frame
			}
			return frame[p.HeaderSize:]
		}
		chunks := chunkSizes(cuts)
		checkRoundTrip(t, fm, splitPayloads(data), chunks)
		checkRaw(t, fm, data, chunks)
	})
}

// FuzzDelimited checks Delimited over fuzzed delimiters, limits, payloads,
// streams and read sizes.
func FuzzDelimited(f *testing.F) {
	f.Add([]byte(nil), false, uint16(0), []byte{0}, []byte("\x05hello\x00\x03a\rb"))
	f.Add([]byte("\n"), true, uint16(4), []byte{2, 0}, []byte("abcd\nabcde\n"))
	f.Add([]byte("<END>"), false, uint16(3), []byte{0}, []byte("ab<EN<END>abc<END>"))
	f.Add([]byte("aa"), true, uint16(8), []byte{1, 4}, []byte("\x01a\x02ba\x00xaaaaa"))
	f.Add([]byte("\r\n"), false, uint16(2), []byte{1}, []byte("ab\r\r\nabc\r"))
	f.Fuzz(func(t *testing.T, delim []byte, keep bool, maxFrame uint16, cuts, data []byte) {
		if len(delim) > 8 {
			delim = delim[:8]
		}
		d := Delimited{Delimiter: delim, MaxFrame: int(maxFrame), KeepDelimiter: keep}
		effDelim, effMax := delim, d.MaxFrame
		if len(effDelim) == 0 {
			effDelim = []byte("\r\n")
		}
		if effMax == 0 {
			effMax = DefaultMaxDelimited
		}
		fm := format{codec: d, bound: effMax + len(effDelim)}
		fm.payload = func(frame []byte) []byte {
			if keep {
				return frame[:len(frame)-len(effDelim)]
			}
			return frame
		}
		chunks := chunkSizes(cuts)
		checkRoundTrip(t, fm, splitPayloads(data), chunks)
		checkRaw(t, fm, data, chunks)
	})
}

// FuzzDelimitedLines checks Delimited's AcceptLF mode over fuzzed limits,
// payloads, streams and read sizes. A frame that ended in a bare LF comes
// back from Append with CRLF, so that is what the raw check compares.
func FuzzDelimitedLines(f *testing.F) {
	f.Add(false, uint16(0), []byte{0}, []byte("hello\nworld\r\n\n"))
	f.Add(true, uint16(4), []byte{1}, []byte("abcd\r\nabcd\nabcde\n"))
	f.Add(false, uint16(3), []byte{2, 1}, []byte("ab\r\r\n\rx\nabc\r"))
	f.Add(true, uint16(1), []byte{0}, []byte("\r\r\n\n\r"))
	f.Fuzz(func(t *testing.T, keep bool, maxFrame uint16, cuts, data []byte) {
		d := Delimited{AcceptLF: true, MaxFrame: int(maxFrame), KeepDelimiter: keep}
		effMax := d.MaxFrame
		if effMax == 0 {
			effMax = DefaultMaxDelimited
		}
		fm := format{codec: d, bound: effMax + 2}
		fm.payload = func(frame []byte) []byte {
			if keep {
				frame = frame[:len(frame)-1] // the LF
				if len(frame) > 0 && frame[len(frame)-1] == '\r' {
					frame = frame[:len(frame)-1]
				}
			}
			return frame
		}
		fm.canonical = func(raw []byte) []byte {
			if len(raw) < 2 || raw[len(raw)-2] != '\r' {
				return append(raw[:len(raw)-1:len(raw)-1], '\r', '\n')
			}
			return raw
		}
		chunks := chunkSizes(cuts)
		checkRoundTrip(t, fm, splitPayloads(data), chunks)
		checkRaw(t, fm, data, chunks)
	})
}

// FuzzFixed checks Fixed over fuzzed sizes, streams and read sizes.
func FuzzFixed(f *testing.F) {
	f.Add(uint8(4), []byte{0, 2}, []byte("abcdefghij"))
	f.Add(uint8(1), []byte{}, []byte("xyz"))
	f.Add(uint8(0), []byte{3}, []byte("a"))
	f.Fuzz(func(t *testing.T, size uint8, cuts, data []byte) {
		fx := Fixed{Size: int(size)}
		chunks := chunkSizes(cuts)
		if size == 0 {
			res := feed(t, fx, data, chunks)
			if len(data) > 0 && !errors.Is(res.err, ErrBadFrame) {
				t.Fatalf("Size 0 gave %v, want ErrBadFrame", res.err)
			}
			return
		}
		var payloads [][]byte
		for rest := data; len(rest) >= int(size); rest = rest[size:] {
			payloads = append(payloads, rest[:size])
		}
		if _, err := fx.Append(nil, data[len(payloads)*int(size):]); len(data)%int(size) != 0 && err == nil {
			t.Fatalf("Append took a %d-byte payload for Size %d", len(data)%int(size), size)
		}
		fm := format{codec: fx, bound: int(size), payload: func(frame []byte) []byte { return frame }}
		checkRoundTrip(t, fm, payloads, chunks)
		res := checkRaw(t, fm, data, chunks)
		if res.err != nil || len(res.frames) != len(payloads) || res.tail != len(data)%int(size) {
			t.Fatalf("got %d frames, %d-byte tail, %v; want %d frames, %d-byte tail",
				len(res.frames), res.tail, res.err, len(payloads), len(data)%int(size))
		}
	})
}

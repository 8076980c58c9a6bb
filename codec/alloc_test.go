//go:build !race

package codec

import (
	"encoding/binary"
	"testing"
)

// TestNextAllocs asserts that Next never allocates while it finds frames or
// waits for bytes, the per-message hot path. The race detector allocates on
// its own, hence the build tag.
func TestNextAllocs(t *testing.T) {
	tests := []struct {
		name   string
		framer Framer
		buf    []byte
	}{
		{name: "length whole frame", framer: LengthPrefixed{StripHeader: true}, buf: []byte("\x00\x00\x00\x03abc")},
		{name: "length partial header", framer: LengthPrefixed{}, buf: []byte("\x00\x00")},
		{name: "length partial payload", framer: LengthPrefixed{}, buf: []byte("\x00\x00\x00\x05ab")},
		{name: "length 8-byte little endian",
			framer: LengthPrefixed{HeaderSize: 8, ByteOrder: binary.LittleEndian, IncludesHeader: true, Adjust: 1},
			buf:    []byte("\x08\x00\x00\x00\x00\x00\x00\x00x")},
		{name: "delimited whole line", framer: Delimited{}, buf: []byte("hello\r\nworld")},
		{name: "delimited partial line", framer: Delimited{Delimiter: []byte("<END>")}, buf: []byte("hello<EN")},
		{name: "delimited partial delimiter at MaxFrame", framer: Delimited{MaxFrame: 5}, buf: []byte("hello\r")},
		{name: "fixed whole frame", framer: Fixed{Size: 2}, buf: []byte("abc")},
		{name: "fixed partial frame", framer: Fixed{Size: 8}, buf: []byte("abc")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(100, func() {
				if _, _, _, err := tt.framer.Next(tt.buf); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Fatalf("Next allocates %v times per call, want 0", allocs)
			}
			rf, ok := tt.framer.(ResumableFramer)
			if !ok {
				return
			}
			allocs = testing.AllocsPerRun(100, func() {
				if _, _, _, err := rf.NextFrom(tt.buf, len(tt.buf)/2); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Fatalf("NextFrom allocates %v times per call, want 0", allocs)
			}
		})
	}
}

// TestAppendAllocs asserts that Append allocates nothing when dst has room.
func TestAppendAllocs(t *testing.T) {
	tests := []struct {
		name    string
		encoder Encoder
		payload []byte
	}{
		{name: "length", encoder: LengthPrefixed{HeaderSize: 2}, payload: []byte("hello")},
		{name: "delimited", encoder: Delimited{}, payload: []byte("hello")},
		{name: "fixed", encoder: Fixed{Size: 5}, payload: []byte("hello")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]byte, 0, 64)
			allocs := testing.AllocsPerRun(100, func() {
				if _, err := tt.encoder.Append(dst[:0], tt.payload); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Fatalf("Append allocates %v times per call, want 0", allocs)
			}
		})
	}
}

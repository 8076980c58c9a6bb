package codec

import (
	"bytes"
	"testing"
)

// TestFixedNext runs streams through Fixed in various reads.
func TestFixedNext(t *testing.T) {
	tests := []struct {
		name     string
		framer   Fixed
		stream   string
		chunks   []int
		want     []string
		wantErr  error
		wantTail int
	}{
		{name: "one frame", framer: Fixed{Size: 4}, stream: "abcd", want: []string{"abcd"}},
		{name: "three frames in one read", framer: Fixed{Size: 2}, stream: "aabbcc", want: []string{"aa", "bb", "cc"}},
		{name: "split across reads", framer: Fixed{Size: 3}, stream: "abcdefg", chunks: []int{2, 1, 3},
			want: []string{"abc", "def"}, wantTail: 1},
		{name: "one byte frames", framer: Fixed{Size: 1}, stream: "xyz", chunks: []int{2}, want: []string{"x", "y", "z"}},
		{name: "zero size", framer: Fixed{}, stream: "a", wantErr: ErrBadFrame, wantTail: 1},
		{name: "negative size", framer: Fixed{Size: -1}, stream: "a", wantErr: ErrBadFrame, wantTail: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := feed(t, tt.framer, []byte(tt.stream), tt.chunks)
			checkErr(t, res.err, tt.wantErr)
			equalFrames(t, res.frames, toBytes(tt.want))
			if res.tail != tt.wantTail {
				t.Errorf("tail %d bytes, want %d", res.tail, tt.wantTail)
			}
		})
	}
}

// TestFixedNeed checks that need is Size while a frame is incomplete, even
// before its first byte, and that a Size over one read is allocated once.
func TestFixedNeed(t *testing.T) {
	f := Fixed{Size: 100}
	for _, buf := range [][]byte{nil, make([]byte, 99)} {
		if frame, n, need, err := f.Next(buf); frame != nil || n != 0 || need != 100 || err != nil {
			t.Fatalf("Next(%d bytes) = %q, %d, %d, %v, want need 100", len(buf), frame, n, need, err)
		}
	}
	stream := bytes.Repeat([]byte("x"), 100)
	res := feed(t, f, stream, []int{10})
	if len(res.frames) != 1 || res.grows != 2 {
		t.Fatalf("got %d frames with %d allocations, want 1 frame with 2", len(res.frames), res.grows)
	}
}

// TestFixedAppend checks that the encoder takes exactly Size bytes; Append
// must leave dst unchanged when it fails.
func TestFixedAppend(t *testing.T) {
	tests := []struct {
		name    string
		framer  Fixed
		payload string
		wantErr error
	}{
		{name: "exact", framer: Fixed{Size: 3}, payload: "abc"},
		{name: "short", framer: Fixed{Size: 3}, payload: "ab", wantErr: ErrBadFrame},
		{name: "long", framer: Fixed{Size: 3}, payload: "abcd", wantErr: ErrBadFrame},
		{name: "zero size", framer: Fixed{}, payload: "", wantErr: ErrBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.framer.Append([]byte("prefix"), []byte(tt.payload))
			checkErr(t, err, tt.wantErr)
			want := "prefix"
			if err == nil {
				want += tt.payload
			}
			if string(got) != want {
				t.Fatalf("Append = %q, want %q", got, want)
			}
		})
	}
}

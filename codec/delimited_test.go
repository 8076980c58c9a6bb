package codec

import (
	"bytes"
	"strings"
	"testing"
)

// TestDelimitedNext runs streams through Delimited in various reads.
func TestDelimitedNext(t *testing.T) {
	end := Delimited{Delimiter: []byte("<END>")}
	small := Delimited{MaxFrame: 4}
	lf := Delimited{AcceptLF: true}
	lf4 := Delimited{AcceptLF: true, MaxFrame: 4}
	tests := []struct {
		name     string
		framer   Delimited
		stream   string
		chunks   []int
		want     []string
		wantErr  error
		wantTail int
	}{
		{name: "one line", stream: "hello\r\n", want: []string{"hello"}},
		{name: "empty line", stream: "\r\n", want: []string{""}},
		{name: "empty lines", stream: "\r\n\r\nx\r\n", want: []string{"", "", "x"}},
		{name: "three lines in one read", stream: "a\r\nbc\r\ndef\r\n", want: []string{"a", "bc", "def"}},
		{name: "delimiter split across reads", stream: "abc\r\ndef\r\n", chunks: []int{4, 1, 4, 1},
			want: []string{"abc", "def"}},
		{name: "one byte at a time", stream: "ab\r\n\r\ncd\r\n", chunks: []int{1}, want: []string{"ab", "", "cd"}},
		{name: "bare CR and LF are data", stream: "a\rb\nc\r\n", want: []string{"a\rb\nc"}},
		{name: "partial line stays in the tail", stream: "a\r\nbcd\r", want: []string{"a"}, wantTail: 4},
		{name: "keep delimiter", framer: Delimited{KeepDelimiter: true}, stream: "a\r\n\r\n",
			want: []string{"a\r\n", "\r\n"}},
		{name: "empty delimiter means CRLF", framer: Delimited{Delimiter: []byte{}}, stream: "a\r\n", want: []string{"a"}},
		{name: "single-byte delimiter", framer: Delimited{Delimiter: []byte("\n")}, stream: "a\nb\r\n\n",
			want: []string{"a", "b\r", ""}},
		{name: "custom delimiter", framer: end, stream: "one<END>two<EN<END><END>", want: []string{"one", "two<EN", ""}},
		{name: "custom delimiter split at every byte", framer: end, stream: "one<END>two<END>", chunks: []int{1},
			want: []string{"one", "two"}},
		{name: "custom delimiter kept", framer: Delimited{Delimiter: []byte("<END>"), KeepDelimiter: true},
			stream: "x<END>", chunks: []int{3}, want: []string{"x<END>"}},
		{name: "self-overlapping delimiter", framer: Delimited{Delimiter: []byte("aa")}, stream: "xaaaaa",
			want: []string{"x", ""}, wantTail: 1},
		{name: "line at MaxFrame", framer: small, stream: "abcd\r\n", want: []string{"abcd"}},
		{name: "line at MaxFrame in single bytes", framer: small, stream: "abcd\r\nef\r\n", chunks: []int{1},
			want: []string{"abcd", "ef"}},
		{name: "delimiter may still end a full frame", framer: small, stream: "abcd\r", wantTail: 5},
		{name: "too large without delimiter", framer: small, stream: "abcde", wantErr: ErrFrameTooLarge, wantTail: 5},
		{name: "too large with delimiter", framer: small, stream: "abcde\r\n", wantErr: ErrFrameTooLarge, wantTail: 7},
		{name: "too large after a partial delimiter", framer: small, stream: "abcd\rx", chunks: []int{5, 1},
			wantErr: ErrFrameTooLarge, wantTail: 6},
		{name: "too large found within one read", framer: small, stream: "ok\r\nabcdefgh", want: []string{"ok"},
			wantErr: ErrFrameTooLarge, wantTail: 8},
		{name: "long delimiter may still end a full frame", framer: Delimited{Delimiter: []byte("<END>"), MaxFrame: 2},
			stream: "ab<EN", chunks: []int{1}, wantTail: 5},
		{name: "long delimiter cannot end a full frame", framer: Delimited{Delimiter: []byte("<END>"), MaxFrame: 2},
			stream: "ab<EX", chunks: []int{1}, wantErr: ErrFrameTooLarge, wantTail: 5},
		{name: "MaxFrame 0 means 64 KiB", stream: strings.Repeat("x", DefaultMaxDelimited) + "\r\n",
			chunks: []int{4096}, want: []string{strings.Repeat("x", DefaultMaxDelimited)}},
		{name: "over 64 KiB", stream: strings.Repeat("x", DefaultMaxDelimited+1) + "\r\n", chunks: []int{4096},
			wantErr: ErrFrameTooLarge, wantTail: DefaultMaxDelimited + 3},
		{name: "negative MaxFrame", framer: Delimited{MaxFrame: -1}, stream: "a\r\n", wantErr: ErrBadFrame, wantTail: 3},

		// AcceptLF: a line ends in LF or CRLF.
		{name: "lf: both endings", framer: lf, stream: "a\nb\r\n\n\r\nc\n", want: []string{"a", "b", "", "", "c"}},
		{name: "lf: one byte at a time", framer: lf, stream: "ab\r\ncd\n\r\n", chunks: []int{1}, want: []string{"ab", "cd", ""}},
		{name: "lf: bare CR is data", framer: lf, stream: "a\rb\r\r\n\rc\n", want: []string{"a\rb\r", "\rc"}},
		{name: "lf: partial line stays", framer: lf, stream: "a\nbc\r", want: []string{"a"}, wantTail: 3},
		{name: "lf: keep delimiter", framer: Delimited{AcceptLF: true, KeepDelimiter: true}, stream: "a\nb\r\n",
			want: []string{"a\n", "b\r\n"}},
		{name: "lf: CRLF line at MaxFrame", framer: lf4, stream: "abcd\r\nef\n", want: []string{"abcd", "ef"}},
		{name: "lf: LF line at MaxFrame", framer: lf4, stream: "abcd\nabcd\r\n", chunks: []int{1}, want: []string{"abcd", "abcd"}},
		{name: "lf: CR may still end a full frame", framer: lf4, stream: "abcd\r", chunks: []int{1}, wantTail: 5},
		{name: "lf: LF after MaxFrame+1 bytes", framer: lf4, stream: "abcde\n", wantErr: ErrFrameTooLarge, wantTail: 6},
		{name: "lf: CR LF after MaxFrame+1 bytes", framer: lf4, stream: "abcde\r\n", wantErr: ErrFrameTooLarge, wantTail: 7},
		{name: "lf: too large without line end", framer: lf4, stream: "abcde", chunks: []int{1}, wantErr: ErrFrameTooLarge, wantTail: 5},
		{name: "lf: CR too late", framer: lf4, stream: "abcd\rx", chunks: []int{5, 1}, wantErr: ErrFrameTooLarge, wantTail: 6},
		{name: "lf: another delimiter refused", framer: Delimited{AcceptLF: true, Delimiter: []byte("|")}, stream: "a|",
			wantErr: ErrBadFrame, wantTail: 2},
		{name: "lf: explicit CRLF delimiter", framer: Delimited{AcceptLF: true, Delimiter: []byte("\r\n")}, stream: "a\n",
			want: []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := feed(t, tt.framer, []byte(tt.stream), tt.chunks)
			checkErr(t, res.err, tt.wantErr)
			equalFrames(t, res.frames, toBytes(tt.want))
			if res.tail != tt.wantTail {
				t.Errorf("tail %d bytes, want %d", res.tail, tt.wantTail)
			}
			sameResult(t, feedMode(t, tt.framer, []byte(tt.stream), tt.chunks, true), res)
		})
	}
}

// TestDelimitedLarge sends lines far larger than a 64 KiB read under a 1 MiB
// MaxFrame, and checks that an endless line is refused before the caller
// holds more than MaxFrame plus one read.
func TestDelimitedLarge(t *testing.T) {
	const maxFrame = 1 << 20
	f := Delimited{MaxFrame: maxFrame}
	read := 64 << 10
	line := bytes.Repeat([]byte("0123456789abcdef"), maxFrame/16)
	tests := []struct {
		name    string
		stream  []byte
		want    [][]byte
		wantErr error
	}{
		{name: "300 KiB", stream: cat(line[:300<<10], []byte("\r\n")), want: [][]byte{line[:300<<10]}},
		{name: "exactly MaxFrame", stream: cat(line, []byte("\r\n"), line[:5], []byte("\r\n")),
			want: [][]byte{line, line[:5]}},
		{name: "endless", stream: bytes.Repeat(line, 4), wantErr: ErrFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, resume := range []bool{false, true} {
				res := feedMode(t, f, tt.stream, []int{read}, resume)
				checkErr(t, res.err, tt.wantErr)
				equalFrames(t, res.frames, tt.want)
				if res.maxBuf > maxFrame+read {
					t.Errorf("buffered %d bytes, want at most MaxFrame plus one read", res.maxBuf)
				}
			}
		})
	}
}

// TestDelimitedAppend checks that the encoder refuses what Next could not
// decode back; Append must leave dst unchanged when it fails.
func TestDelimitedAppend(t *testing.T) {
	tests := []struct {
		name    string
		framer  Delimited
		payload string
		want    string
		wantErr error
	}{
		{name: "line", payload: "hello", want: "hello\r\n"},
		{name: "empty line", payload: "", want: "\r\n"},
		{name: "bare CR inside", payload: "a\rb", want: "a\rb\r\n"},
		{name: "trailing CR", payload: "a\r", want: "a\r\r\n"},
		{name: "contains delimiter", payload: "a\r\nb", wantErr: ErrBadFrame},
		{name: "ends with delimiter", payload: "ab\r\n", wantErr: ErrBadFrame},
		{name: "custom delimiter", framer: Delimited{Delimiter: []byte("|")}, payload: "a,b", want: "a,b|"},
		{name: "custom delimiter inside", framer: Delimited{Delimiter: []byte("|")}, payload: "a|b", wantErr: ErrBadFrame},
		{name: "overlaps the delimiter", framer: Delimited{Delimiter: []byte("aba")}, payload: "xab", wantErr: ErrBadFrame},
		{name: "overlaps a repeated delimiter", framer: Delimited{Delimiter: []byte("aa")}, payload: "a", wantErr: ErrBadFrame},
		{name: "at MaxFrame", framer: Delimited{MaxFrame: 3}, payload: "abc", want: "abc\r\n"},
		{name: "over MaxFrame", framer: Delimited{MaxFrame: 3}, payload: "abcd", wantErr: ErrFrameTooLarge},
		{name: "negative MaxFrame", framer: Delimited{MaxFrame: -3}, payload: "a", wantErr: ErrBadFrame},
		{name: "lf: writes CRLF", framer: Delimited{AcceptLF: true}, payload: "a", want: "a\r\n"},
		{name: "lf: trailing CR", framer: Delimited{AcceptLF: true}, payload: "a\r", want: "a\r\r\n"},
		{name: "lf: bare LF inside", framer: Delimited{AcceptLF: true}, payload: "a\nb", wantErr: ErrBadFrame},
		{name: "lf: at MaxFrame", framer: Delimited{AcceptLF: true, MaxFrame: 3}, payload: "ab\r", want: "ab\r\r\n"},
		{name: "lf: another delimiter", framer: Delimited{AcceptLF: true, Delimiter: []byte("|")}, payload: "a", wantErr: ErrBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("prefix")
			got, err := tt.framer.Append(dst, []byte(tt.payload))
			checkErr(t, err, tt.wantErr)
			if err != nil {
				if string(got) != "prefix" {
					t.Fatalf("Append changed dst to %q on error", got)
				}
				return
			}
			if string(got) != "prefix"+tt.want {
				t.Fatalf("Append = %q, want %q", got, "prefix"+tt.want)
			}
			res := feed(t, tt.framer, got[len(dst):], []int{1})
			checkErr(t, res.err, nil)
			equalFrames(t, res.frames, [][]byte{[]byte(tt.payload)})
		})
	}
}

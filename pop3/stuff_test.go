package pop3_test

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/seed487d475b/proactor/pop3"
)

// unstuff is what a client does with a multi-line response body: drop
// the terminator and the stuffed dots.
func unstuff(t *testing.T, wire string) string {
	t.Helper()
	body, ok := strings.CutSuffix(wire, ".\r\n")
	if !ok {
		t.Fatalf("%q does not end with the terminator", wire)
	}
	var out strings.Builder
	for line := range strings.Lines(body) {
		if !strings.HasSuffix(line, "\r\n") {
			t.Fatalf("line %q does not end with CRLF", line)
		}
		if line == ".\r\n" {
			t.Fatalf("a bare terminator inside the body %q", wire)
		}
		out.WriteString(strings.TrimPrefix(line, "."))
	}
	return out.String()
}

func TestStuffer(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		lines int
		want  string
	}{
		{name: "CRLF", in: "a\r\nb\r\n", lines: -1, want: "a\r\nb\r\n.\r\n"},
		{name: "LF", in: "a\nb\n", lines: -1, want: "a\r\nb\r\n.\r\n"},
		{name: "NoFinalLineEnd", in: "a\nb", lines: -1, want: "a\r\nb\r\n.\r\n"},
		{name: "Empty", in: "", lines: -1, want: ".\r\n"},
		{name: "Dots", in: ".\n..x\r\n.", lines: -1, want: "..\r\n...x\r\n..\r\n.\r\n"},
		{name: "DotInside", in: "a.b\n.", lines: -1, want: "a.b\r\n..\r\n.\r\n"},
		{name: "BareCR", in: "a\rb\n\r", lines: -1, want: "a\rb\r\n\r\n.\r\n"},
		{name: "TopZero", in: "H: 1\n\nbody\n", lines: 0, want: "H: 1\r\n\r\n.\r\n"},
		{name: "TopTwo", in: "H: 1\r\n\r\n.1\n2\n3\n", lines: 2, want: "H: 1\r\n\r\n..1\r\n2\r\n.\r\n"},
		{name: "TopMore", in: "H: 1\n\nx", lines: 5, want: "H: 1\r\n\r\nx\r\n.\r\n"},
		{name: "TopNoBody", in: "H: 1\nH: 2", lines: 1, want: "H: 1\r\nH: 2\r\n.\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Whole, and a byte at a time: a chunk boundary anywhere.
			for _, size := range []int{len(tt.in) + 1, 1} {
				st := pop3.NewStuffer(tt.lines)
				var out []byte
				for rest := tt.in; rest != ""; rest = rest[min(size, len(rest)):] {
					out = st.Append(out, []byte(rest[:min(size, len(rest))]))
				}
				out = st.Finish(out)
				if string(out) != tt.want {
					t.Errorf("chunks of %d: %q, want %q", size, out, tt.want)
				}
			}
			if tt.lines >= 0 {
				return
			}
			size, wire, err := pop3.Measure(iotest.OneByteReader(strings.NewReader(tt.in)))
			if want := int64(len(unstuff(t, tt.want))); err != nil || size != want {
				t.Errorf("Measure = %d, %v; want %d", size, err, want)
			}
			if want := tt.in+".\r\n" == tt.want; wire != want {
				t.Errorf("Measure says wire form %v, want %v", wire, want)
			}
		})
	}
}

// FuzzStuffer checks that what a client un-stuffs is the message with
// CRLF line ends, that Measure gives its size, and that chunking does not
// matter.
func FuzzStuffer(f *testing.F) {
	f.Add([]byte("a\r\n.b\n..\r\r\n."), uint8(3))
	f.Add([]byte(".\n"), uint8(1))
	f.Fuzz(func(t *testing.T, msg []byte, cut uint8) {
		st := pop3.NewStuffer(-1)
		size := max(int(cut), 1)
		var out []byte
		for rest := msg; len(rest) > 0; rest = rest[min(size, len(rest)):] {
			out = st.Append(out, rest[:min(size, len(rest))])
		}
		out = st.Finish(out)
		got := unstuff(t, string(out))
		// The reference: split at LF, end each line with CRLF.
		var want strings.Builder
		for line := range bytes.Lines(msg) {
			line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
			want.Write(line)
			want.WriteString("\r\n")
		}
		if got != want.String() {
			t.Fatalf("un-stuffed %q, want %q", got, want.String())
		}
		n, _, err := pop3.Measure(bytes.NewReader(msg))
		if err != nil || n != int64(len(got)) {
			t.Fatalf("Measure = %d, %v; want %d", n, err, len(got))
		}
	})
}

package resp_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/seed487d475b/proactor/codec"
	"github.com/seed487d475b/proactor/resp"
)

// small are tight limits, so that the tests reach every one.
var small = resp.Limits{MaxBulk: 10, MaxArgs: 4, MaxInline: 16, MaxCommand: 64}

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		buf      string
		wantArgs []string
		wantN    int
		wantNeed int
		wantErr  string // a substring of the error; "" for none
		tooLarge bool
	}{
		{name: "Empty", buf: ""},
		{name: "Command", buf: "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", wantArgs: []string{"GET", "k"}, wantN: 20},
		{name: "FollowedByMore", buf: "*1\r\n$4\r\nPING\r\n*1\r\n", wantArgs: []string{"PING"}, wantN: 14},
		{name: "EmptyBulk", buf: "*1\r\n$0\r\n\r\n", wantArgs: []string{""}, wantN: 10},
		{name: "BinaryBulk", buf: "*1\r\n$4\r\n\r\n*$\r\n", wantArgs: []string{"\r\n*$"}, wantN: 14},
		{name: "ZeroElements", buf: "*0\r\nPING\r\n", wantN: 4},
		{name: "NullArray", buf: "*-1\r\n", wantN: 5},
		{name: "NegativeArray", buf: "*-7\r\n", wantN: 5},
		{name: "LongestBulk", buf: "*1\r\n$10\r\n0123456789\r\n", wantArgs: []string{"0123456789"}, wantN: 21},
		{name: "MostArgs", buf: "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n", wantArgs: []string{"a", "b", "c", "d"}, wantN: 32},

		{name: "ShortHeader", buf: "*2"},
		{name: "ShortHeaderCR", buf: "*2\r"},
		{name: "ShortElements", buf: "*2\r\n$3\r\nGET\r\n"},
		{name: "ShortLastBulk", buf: "*2\r\n$3\r\nGET\r\n$5\r\nab", wantNeed: 24},
		{name: "ShortLastCRLF", buf: "*2\r\n$3\r\nGET\r\n$1\r\nk\r", wantNeed: 20},
		{name: "ShortMiddleBulk", buf: "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nabcd"},
		// Until buf could hold every element (6 bytes at least), nothing is
		// looked at: a bad header after the count waits.
		{name: "ShortOfTheElements", buf: "*4\r\n$x\r\n"},

		{name: "BadCount", buf: "*x\r\n", wantErr: "invalid multibulk length"},
		{name: "EmptyCount", buf: "*\r\n", wantErr: "invalid multibulk length"},
		{name: "PlusCount", buf: "*+1\r\n", wantErr: "invalid multibulk length"},
		{name: "LeadingZero", buf: "*01\r\n", wantErr: "invalid multibulk length"},
		{name: "MinusZero", buf: "*-0\r\n", wantErr: "invalid multibulk length"},
		{name: "CRWithoutLF", buf: "*1\rx", wantErr: "invalid multibulk length"},
		{name: "TooManyArgs", buf: "*5", wantErr: "over the limit of 4 elements", tooLarge: true},
		{name: "HugeCount", buf: "*99999999999999999999\r\n", wantErr: "over the limit", tooLarge: true},
		{name: "HugeNegative", buf: "*-99999999999999999999\r\n", wantErr: "invalid multibulk length"},
		{name: "NotBulk", buf: "*1\r\n:12345\r\n", wantErr: "expected '$', got ':'"},
		{name: "BadBulkLength", buf: "*1\r\n$x\r\nabcdef", wantErr: "invalid bulk length"},
		{name: "NegativeBulk", buf: "*1\r\n$-1\r\nabcd", wantErr: "invalid bulk length"},
		{name: "BulkTooLong", buf: "*1\r\n$11\r\n0", wantErr: "invalid bulk length: over the limit of 10 bytes", tooLarge: true},
		{name: "NoCRLFAfterBulk", buf: "*1\r\n$1\r\nabc\r\n", wantErr: "expected CRLF"},
		{name: "CommandTooLong", buf: "*4\r\n" + strings.Repeat("$10\r\n0123456789\r\n", 3) + "$10\r\n", wantErr: "command over the limit of 64 bytes", tooLarge: true},

		{name: "Inline", buf: "SET k v\r\n", wantArgs: []string{"SET", "k", "v"}, wantN: 9},
		{name: "InlineLF", buf: "PING\nPING\n", wantArgs: []string{"PING"}, wantN: 5},
		{name: "InlineSpaces", buf: " \tGET \t k \r\n", wantArgs: []string{"GET", "k"}, wantN: 12},
		{name: "InlineQuotesAreLiteral", buf: "ECHO \"a b\"\r\n", wantArgs: []string{"ECHO", "\"a", "b\""}, wantN: 12},
		{name: "InlineEmpty", buf: "\r\n", wantN: 2},
		{name: "InlineBlank", buf: "   \n", wantN: 4},
		{name: "InlineShort", buf: "GET k"},
		{name: "InlineLongest", buf: strings.Repeat("a", 16) + "\r\n", wantArgs: []string{strings.Repeat("a", 16)}, wantN: 18},
		{name: "InlineLongestAwaitingLF", buf: strings.Repeat("a", 16) + "\r"},
		{name: "InlineTooLong", buf: strings.Repeat("a", 17), wantErr: "too big inline request", tooLarge: true},
		{name: "InlineTooLongLF", buf: strings.Repeat("a", 17) + "\n", wantErr: "too big inline request", tooLarge: true},
		{name: "InlineTooManyArgs", buf: "a b c d e\r\n", wantErr: "over 4 arguments", tooLarge: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prior := [][]byte{[]byte("kept")}
			args, n, need, err := small.Parse([]byte(tt.buf), prior)
			if tt.wantErr != "" {
				var pe *resp.ProtocolError
				if !errors.As(err, &pe) || !strings.Contains(pe.Reason, tt.wantErr) {
					t.Fatalf("err = %v, want a ProtocolError saying %q", err, tt.wantErr)
				}
				wantSentinel := codec.ErrBadFrame
				if tt.tooLarge {
					wantSentinel = codec.ErrFrameTooLarge
				}
				if !errors.Is(err, wantSentinel) {
					t.Errorf("err = %v, does not match %v", err, wantSentinel)
				}
				if n != 0 || len(args) != 1 {
					t.Errorf("on error: n = %d, %d args; want 0 and the args given", n, len(args))
				}
				return
			}
			if err != nil || n != tt.wantN || need != tt.wantNeed {
				t.Fatalf("Parse = n %d, need %d, %v; want %d, %d, nil", n, need, err, tt.wantN, tt.wantNeed)
			}
			got := make([]string, 0, len(args))
			for _, a := range args[1:] {
				got = append(got, string(a))
				if cap(a) != len(a) {
					t.Errorf("argument %q has capacity %d: appending would overwrite the buffer", a, cap(a))
				}
			}
			if string(args[0]) != "kept" || !slices.Equal(got, tt.wantArgs) && len(got)+len(tt.wantArgs) > 0 {
				t.Errorf("args = %q, want %q after the one given", args, tt.wantArgs)
			}
		})
	}
}

// TestParseDefaults checks that a zero Limits means the documented
// defaults, and that a negative one does not make a limit vanish.
func TestParseDefaults(t *testing.T) {
	for _, l := range []resp.Limits{{}, {MaxBulk: -1, MaxArgs: -1, MaxInline: -1, MaxCommand: -1}} {
		over := "*1\r\n$" + itoa(resp.DefaultMaxBulk+1) + "\r\n"
		if _, _, _, err := l.Parse([]byte(over), nil); !errors.Is(err, codec.ErrFrameTooLarge) {
			t.Errorf("%+v: a bulk of DefaultMaxBulk+1: %v", l, err)
		}
		if _, _, _, err := l.Parse([]byte("*"+itoa(resp.DefaultMaxArgs+1)+"\r\n"), nil); !errors.Is(err, codec.ErrFrameTooLarge) {
			t.Errorf("%+v: DefaultMaxArgs+1 elements: %v", l, err)
		}
		if _, _, _, err := l.Parse([]byte(strings.Repeat("a", resp.DefaultMaxInline+1)), nil); !errors.Is(err, codec.ErrFrameTooLarge) {
			t.Errorf("%+v: an inline line of DefaultMaxInline+1: %v", l, err)
		}
		longest := "*1\r\n$" + itoa(resp.DefaultMaxBulk) + "\r\n"
		if _, n, need, err := l.Parse([]byte(longest), nil); err != nil || n != 0 || need != len(longest)+resp.DefaultMaxBulk+2 {
			t.Errorf("%+v: a bulk of DefaultMaxBulk: n %d need %d %v", l, n, need, err)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestParseSplit feeds commands in every split of two reads: each prefix
// must wait (or fail, for the bad ones) and the whole must parse the same.
func TestParseSplit(t *testing.T) {
	stream := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\nv\r\nv\r\n" + "GET k\r\n" + "*0\r\n"
	want := [][]string{{"SET", "k", "v\r\nv"}, {"GET", "k"}, nil}
	for cut := range len(stream) + 1 {
		got := parseAll(t, small, []string{stream[:cut], stream[cut:]})
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("cut at %d: %q, want %q", cut, got, want)
		}
	}
}

// parseAll parses the commands of reads as a server would: a command that
// is not whole waits for the next read.
func parseAll(t *testing.T, l resp.Limits, reads []string) [][]string {
	t.Helper()
	var got [][]string
	var tail []byte
	for _, r := range reads {
		tail = append(tail, r...)
		for {
			args, n, _, err := l.Parse(tail, nil)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tail, err)
			}
			if n == 0 {
				break
			}
			var cmd []string
			for _, a := range args {
				cmd = append(cmd, string(a))
			}
			got = append(got, cmd)
			tail = tail[n:]
		}
	}
	if len(tail) > 0 {
		t.Fatalf("%q left over", tail)
	}
	return got
}

func TestFramers(t *testing.T) {
	stream := []byte("*1\r\n$4\r\nPING\r\nECHO a\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPI")
	f := resp.Framer{Limits: small}
	var frames []string
	for b := stream; ; {
		frame, n, need, err := f.Next(b)
		if err != nil || n == 0 {
			if err != nil || need != len(b)+4 {
				t.Fatalf("at %q: n %d need %d err %v", b, n, need, err)
			}
			break
		}
		frames = append(frames, string(frame))
		b = b[n:]
	}
	want := []string{"*1\r\n$4\r\nPING\r\n", "ECHO a\r\n", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"}
	if !slices.Equal(frames, want) {
		t.Errorf("Framer frames %q, want %q", frames, want)
	}

	p := resp.PipelineFramer{Limits: small}
	frame, n, _, err := p.Next(stream)
	if err != nil || string(frame) != strings.Join(want, "") || n != len(frame) || cap(frame) != n {
		t.Errorf("PipelineFramer = %q, %d, %v; want the three whole commands", frame, n, err)
	}
	if frame, n, need, err := p.Next(stream[n:]); frame != nil || n != 0 || need != 14 || err != nil {
		t.Errorf("PipelineFramer on the partial command = %q, %d, %d, %v; want nothing, need 14", frame, n, need, err)
	}
}

// TestPipelineFramerFault checks that a bad command reaches the handler as
// a frame of its own, after the good ones, and that Parse fails on it.
func TestPipelineFramerFault(t *testing.T) {
	good := "*1\r\n$4\r\nPING\r\n"
	bad := "*1\r\n$99\r\nxyz"
	p := resp.PipelineFramer{Limits: small}
	frame, n, _, err := p.Next([]byte(good + bad))
	if err != nil || string(frame) != good {
		t.Fatalf("first frame %q, %v; want the good command", frame, err)
	}
	frame, n2, _, err := p.Next([]byte(good + bad)[n:])
	if err != nil || string(frame) != bad || n2 != len(bad) {
		t.Fatalf("second frame %q, %d, %v; want the bad command, whole", frame, n2, err)
	}
	if _, _, _, err := small.Parse(frame, nil); !errors.Is(err, codec.ErrFrameTooLarge) {
		t.Errorf("Parse of the bad frame: %v, want a frame-too-large ProtocolError", err)
	}
	if _, _, _, err := (resp.Framer{Limits: small}).Next([]byte(bad)); !errors.Is(err, codec.ErrFrameTooLarge) {
		t.Errorf("Framer on the bad command: %v, want the error", err)
	}
}

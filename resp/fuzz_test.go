package resp_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/seed487d475b/proactor/codec"
	"github.com/seed487d475b/proactor/resp"
)

// fuzzLimits are small, so that the fuzzer meets every limit.
var fuzzLimits = resp.Limits{MaxBulk: 64, MaxArgs: 8, MaxInline: 32, MaxCommand: 256}

// feedResult is what a framer made of a stream fed in reads.
type feedResult struct {
	frames  [][]byte
	err     error // the error that ended the stream, or, from a PipelineFramer, Parse's error on its last frame
	tail    int   // bytes left waiting at the end
	maxTail int   // the most bytes ever left waiting
}

// feed runs f over stream cut into reads of the given sizes (cycled; 0
// means 1), keeping a tail as proactor's framing does and resuming with
// NextFrom.
func feed(t *testing.T, f codec.ResumableFramer, stream []byte, sizes []byte) feedResult {
	t.Helper()
	var res feedResult
	var tail []byte
	scanned := 0
	for i := 0; len(stream) > 0; i++ {
		size := 1
		if len(sizes) > 0 {
			size = max(int(sizes[i%len(sizes)]), 1)
		}
		size = min(size, len(stream))
		tail = append(tail, stream[:size]...)
		stream = stream[size:]
		for len(tail) > 0 {
			frame, n, need, err := f.NextFrom(tail, scanned)
			if err != nil {
				res.err = err
				return res
			}
			if n == 0 {
				if need != 0 && need <= len(tail) {
					t.Fatalf("need %d with %d bytes waiting", need, len(tail))
				}
				scanned = len(tail)
				break
			}
			if n > len(tail) || len(frame) != n || cap(frame) != n || &frame[0] != &tail[0] {
				t.Fatalf("frame of %d bytes, n %d, cap %d: not the first n bytes of the buffer", len(frame), n, cap(frame))
			}
			res.frames = append(res.frames, bytes.Clone(frame))
			tail, scanned = tail[n:], 0
		}
		res.maxTail = max(res.maxTail, len(tail))
	}
	res.tail = len(tail)
	return res
}

// commands parses the frames of a Framer (one command each) or of a
// PipelineFramer (several), failing the test on an error except in a
// PipelineFramer's frame, where it stops as a handler closes the connection
// and returns the error.
func commands(t *testing.T, frames [][]byte, pipelined bool) (cmds [][]string, err error) {
	t.Helper()
	for _, frame := range frames {
		for len(frame) > 0 {
			args, n, _, perr := fuzzLimits.Parse(frame, nil)
			if perr != nil && pipelined {
				return cmds, perr
			}
			if perr != nil || n == 0 || (!pipelined && n != len(frame)) {
				t.Fatalf("Parse of frame %q: n %d, %v", frame, n, perr)
			}
			cmd := []string{}
			for _, a := range args {
				cmd = append(cmd, string(a))
			}
			checkCanonical(t, frame[:n], args)
			cmds = append(cmds, cmd)
			frame = frame[n:]
		}
	}
	return cmds, nil
}

// checkCanonical checks that a command's arguments say all that its bytes
// said: an array encodes back to itself, and inline words hold no space.
func checkCanonical(t *testing.T, raw []byte, args [][]byte) {
	t.Helper()
	if raw[0] == '*' {
		if len(args) > 0 && !bytes.Equal(resp.AppendCommand(nil, args...), raw) {
			t.Fatalf("%q parsed to %q, which encodes differently", raw, args)
		}
		return
	}
	for _, a := range args {
		if len(a) == 0 || bytes.ContainsAny(a, " \t\r\n\v\f") {
			t.Fatalf("inline %q gave the word %q", raw, a)
		}
	}
}

// FuzzFramers feeds arbitrary bytes to both framers in reads of fuzzed
// sizes, and whole: they must not panic, must keep the waiting bytes within
// the limits, must find the same commands however the stream is cut, and
// must agree with each other and with Parse.
func FuzzFramers(f *testing.F) {
	for _, seed := range []string{
		"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\nv\r\nv\r\nGET k\r\nPING\n",
		"*0\r\n*-1\r\n\r\n  \n",
		"*1\r\n$65\r\n",
		"*9\r\n",
		"*1\r\n$-1\r\n",
		"*01\r\n",
		"*1\r\n$1\r\nab\r\n",
		"*1\r\n:1\r\n",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"a b c d e f g h i\r\n",
	} {
		f.Add([]byte(seed), []byte{1})
		f.Add([]byte(seed), []byte{3, 7})
	}
	f.Fuzz(func(t *testing.T, stream, sizes []byte) {
		one := resp.Framer{Limits: fuzzLimits}
		res := feed(t, one, stream, sizes)
		whole := feed(t, one, stream, []byte{255})
		if len(stream) < 255 && !sameFeed(res, whole) {
			t.Fatalf("read by read: %q, %v; whole: %q, %v", res.frames, res.err, whole.frames, whole.err)
		}
		// A command waits for bytes only while it could still be valid.
		if bound := max(fuzzLimits.MaxCommand, fuzzLimits.MaxInline+2); res.maxTail > bound {
			t.Fatalf("kept %d bytes waiting, bound %d", res.maxTail, bound)
		}
		if res.err != nil && !errors.Is(res.err, codec.ErrBadFrame) && !errors.Is(res.err, codec.ErrFrameTooLarge) {
			t.Fatalf("error %v matches no codec sentinel", res.err)
		}
		cmds, _ := commands(t, res.frames, false)

		pipe := feed(t, resp.PipelineFramer{Limits: fuzzLimits}, stream, sizes)
		if pipe.err != nil {
			t.Fatalf("PipelineFramer returned %v", pipe.err)
		}
		pcmds, perr := commands(t, pipe.frames, true)
		if !slices.EqualFunc(pcmds, cmds, slices.Equal) {
			t.Fatalf("PipelineFramer's commands %q, Framer's %q", pcmds, cmds)
		}
		if (perr == nil) != (res.err == nil) || perr != nil && perr.Error() != res.err.Error() {
			t.Fatalf("PipelineFramer's fault %v, Framer's %v", perr, res.err)
		}
		if res.err == nil && pipe.tail != res.tail {
			t.Fatalf("PipelineFramer left %d bytes, Framer %d", pipe.tail, res.tail)
		}
	})
}

func sameFeed(a, b feedResult) bool {
	if !slices.EqualFunc(a.frames, b.frames, bytes.Equal) || (a.err == nil) != (b.err == nil) {
		return false
	}
	return a.err == nil && a.tail == b.tail || a.err != nil && a.err.Error() == b.err.Error()
}

// FuzzRoundTrip encodes fuzzed arguments as a command, several times over,
// and checks that the framers and Parse give them back, or refuse them only
// for a limit they pass.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("SET\x00k\x00v"), byte(3), []byte{2})
	f.Add([]byte("\x00\r\n\x00"), byte(1), []byte{1, 9})
	f.Add([]byte(""), byte(2), []byte{64})
	f.Fuzz(func(t *testing.T, joined []byte, copies byte, sizes []byte) {
		args := bytes.Split(joined, []byte{0})
		cmd := resp.AppendCommand(nil, args...)
		var stream []byte
		for range copies%4 + 1 {
			stream = append(stream, cmd...)
		}
		fits := len(args) <= fuzzLimits.MaxArgs && len(cmd) <= fuzzLimits.MaxCommand &&
			!slices.ContainsFunc(args, func(a []byte) bool { return len(a) > fuzzLimits.MaxBulk })
		res := feed(t, resp.Framer{Limits: fuzzLimits}, stream, sizes)
		if !fits {
			if !errors.Is(res.err, codec.ErrFrameTooLarge) {
				t.Fatalf("a command over the limits: %v, want ErrFrameTooLarge", res.err)
			}
			return
		}
		if res.err != nil || res.tail != 0 || len(res.frames) != int(copies%4+1) {
			t.Fatalf("%d frames, %d bytes left, %v", len(res.frames), res.tail, res.err)
		}
		for _, frame := range res.frames {
			got, n, _, err := fuzzLimits.Parse(frame, nil)
			if err != nil || n != len(frame) || !slices.EqualFunc(got, args, bytes.Equal) {
				t.Fatalf("Parse = %q, %d, %v; want %q", got, n, err, args)
			}
		}
	})
}

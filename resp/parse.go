package resp

import (
	"bytes"
	"fmt"

	"github.com/seed487d475b/proactor/codec"
)

// The limits of a zero Limits, as in redis-server where it has the same
// limit (proto-max-bulk-len is larger there: 512 MiB).
const (
	DefaultMaxBulk    = 8 << 20  // bytes in one bulk string
	DefaultMaxArgs    = 1 << 16  // elements in one array (redis-server: 1 Mi)
	DefaultMaxInline  = 64 << 10 // bytes in one inline line, its line end excluded
	DefaultMaxCommand = 64 << 20 // bytes in one whole command as sent
)

// Limits bounds the commands that Parse and the framers accept; a zero
// field means its default. A Limits is a plain value, safe for concurrent
// use.
type Limits struct {
	MaxBulk    int // longest bulk string; 0 means DefaultMaxBulk
	MaxArgs    int // most elements in an array; 0 means DefaultMaxArgs
	MaxInline  int // longest inline line, "\r\n" excluded; 0 means DefaultMaxInline
	MaxCommand int // longest command, headers and line ends included; 0 means DefaultMaxCommand
}

// orDefault returns l with its zero fields set to the defaults; a negative
// field counts as zero, so that no setting makes a limit unbounded.
func (l Limits) orDefault() Limits {
	pick := func(v, def int) int {
		if v <= 0 {
			return def
		}
		return v
	}
	return Limits{
		MaxBulk:    pick(l.MaxBulk, DefaultMaxBulk),
		MaxArgs:    pick(l.MaxArgs, DefaultMaxArgs),
		MaxInline:  pick(l.MaxInline, DefaultMaxInline),
		MaxCommand: pick(l.MaxCommand, DefaultMaxCommand),
	}
}

// ProtocolError is a command that breaks the protocol or a limit. The
// stream is unusable after it: a server answers "-ERR Protocol error: " +
// Reason and closes the connection. It matches codec.ErrFrameTooLarge (a
// limit) or codec.ErrBadFrame (malformed) with errors.Is.
type ProtocolError struct {
	Reason   string // what is wrong, as redis-server words it where it has the case
	TooLarge bool   // a limit was passed, rather than the syntax broken
}

func (e *ProtocolError) Error() string { return "resp: protocol error: " + e.Reason }

// Unwrap returns the codec sentinel that e matches.
func (e *ProtocolError) Unwrap() error {
	if e.TooLarge {
		return codec.ErrFrameTooLarge
	}
	return codec.ErrBadFrame
}

func badFrame(format string, a ...any) error {
	return &ProtocolError{Reason: fmt.Sprintf(format, a...)}
}

func tooLarge(format string, a ...any) error {
	return &ProtocolError{Reason: fmt.Sprintf(format, a...), TooLarge: true}
}

// Parse parses the command at the start of buf and appends its arguments to
// args, as subslices of buf whose capacity ends with them (appending to one
// copies rather than overwrite buf). n is the number of bytes the command
// takes (n > 0), or 0 when buf holds no whole command yet; then args comes
// back as it was given, and need is the length buf must reach to hold the
// command when that is known (the last bulk string's header has been read),
// else 0. A command with no arguments (an empty line, "*0\r\n") has n > 0
// and adds nothing. err is a *ProtocolError, returned as soon as buf proves
// the command malformed or over a limit.
//
// Parse never allocates except to grow args, and to make an error.
func (l Limits) Parse(buf []byte, args [][]byte) (out [][]byte, n, need int, err error) {
	return l.parse(buf, args, true)
}

// parse is Parse that, unless keep, leaves args alone: the framers only
// need to know where a command ends.
func (l Limits) parse(buf []byte, args [][]byte, keep bool) ([][]byte, int, int, error) {
	if len(buf) == 0 {
		return args, 0, 0, nil
	}
	l = l.orDefault()
	if buf[0] != '*' {
		return l.inline(buf, args, keep, 0)
	}
	count, pos, r := number(buf, 1, int64(l.MaxArgs), true)
	switch {
	case r != numOK:
		return args, 0, 0, r.err("multibulk length", l.MaxArgs, "elements")
	case count <= 0:
		return args, pos, 0, nil
	}
	// Each element takes at least 6 bytes ("$0\r\n\r\n"): until buf could
	// hold them all there is nothing to find, which keeps a command that
	// arrives in many reads from being scanned again after each.
	if int64(pos)+6*count > int64(l.MaxCommand) {
		return args, 0, 0, tooLarge("%d elements cannot fit in the command limit of %d bytes", count, l.MaxCommand)
	}
	if int64(len(buf)) < int64(pos)+6*count {
		return args, 0, 0, nil
	}
	start := len(args)
	for i := range int(count) {
		if pos == len(buf) {
			return args[:start], 0, 0, nil
		}
		if buf[pos] != '$' {
			return args[:start], 0, 0, badFrame("expected '$', got '%c'", buf[pos])
		}
		size, data, r := number(buf, pos+1, int64(l.MaxBulk), false)
		if r != numOK {
			return args[:start], 0, 0, r.err("bulk length", l.MaxBulk, "bytes")
		}
		end := data + int(size) + 2
		// The elements still to come take at least 6 bytes each.
		if rest := int64(count) - int64(i) - 1; int64(end)+6*rest > int64(l.MaxCommand) {
			return args[:start], 0, 0, tooLarge("command over the limit of %d bytes", l.MaxCommand)
		}
		if len(buf) < end {
			if i == int(count)-1 {
				return args[:start], 0, end, nil
			}
			return args[:start], 0, 0, nil
		}
		if buf[end-2] != '\r' || buf[end-1] != '\n' {
			return args[:start], 0, 0, badFrame("expected CRLF after a bulk string of %d bytes", size)
		}
		if keep {
			stop := data + int(size)
			args = append(args, buf[data:stop:stop])
		}
		pos = end
	}
	return args, pos, 0, nil
}

// numResult is how reading a header's number went.
type numResult uint8

const (
	numOK      numResult = iota
	numShort             // buf ends before the line does
	numInvalid           // not a number as RESP writes one
	numOver              // over the limit
)

// err returns the error of a number that is not numOK: nil while short.
func (r numResult) err(what string, limit int, unit string) error {
	switch r {
	case numInvalid:
		return badFrame("invalid %s", what)
	case numOver:
		return tooLarge("invalid %s: over the limit of %d %s", what, limit, unit)
	}
	return nil
}

// number reads the decimal integer of a header line starting at buf[pos]
// and its "\r\n": a '-' only if signed, no '+', no leading zero, at most
// max. next is where the line ends. It fails as soon as the digits read so
// far are wrong or over max, before the line's end has arrived.
func number(buf []byte, pos int, max int64, signed bool) (v int64, next int, r numResult) {
	neg := signed && pos < len(buf) && buf[pos] == '-'
	if neg {
		pos++
	}
	digits := pos
	for ; pos < len(buf) && buf[pos] != '\r'; pos++ {
		c := buf[pos]
		// 18 digits keep v clear of int64 overflow; no limit is near that.
		if c < '0' || c > '9' || pos-digits >= 18 || (pos > digits && buf[digits] == '0') {
			return 0, 0, numInvalid
		}
		v = v*10 + int64(c-'0')
		if !neg && v > max {
			return 0, 0, numOver
		}
	}
	switch {
	case pos+1 >= len(buf):
		return 0, 0, numShort
	case pos == digits || (neg && buf[digits] == '0') || buf[pos+1] != '\n':
		return 0, 0, numInvalid
	}
	if neg {
		v = -v
	}
	return v, pos + 2, numOK
}

// inline parses an inline command: the words of a line ending in "\n" or
// "\r\n". from is where the search for the line's end may resume.
func (l Limits) inline(buf []byte, args [][]byte, keep bool, from int) ([][]byte, int, int, error) {
	window := buf
	if len(window) > l.MaxInline+2 {
		window = window[:l.MaxInline+2]
	}
	i := bytes.IndexByte(window[min(from, len(window)):], '\n')
	if i < 0 {
		if len(buf) > l.MaxInline+1 || (len(buf) == l.MaxInline+1 && buf[l.MaxInline] != '\r') {
			return args, 0, 0, tooLarge("too big inline request (over %d bytes)", l.MaxInline)
		}
		return args, 0, 0, nil
	}
	end := min(from, len(window)) + i
	line := buf[:end]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if len(line) > l.MaxInline {
		return args, 0, 0, tooLarge("too big inline request (over %d bytes)", l.MaxInline)
	}
	start, words := len(args), 0
	for w := 0; w < len(line); {
		for w < len(line) && isSpace(line[w]) {
			w++
		}
		e := w
		for e < len(line) && !isSpace(line[e]) {
			e++
		}
		if e > w {
			if words++; words > l.MaxArgs {
				return args[:start], 0, 0, tooLarge("over %d arguments", l.MaxArgs)
			}
			if keep {
				args = append(args, line[w:e:e])
			}
		}
		w = e
	}
	return args, end + 1, 0, nil
}

// isSpace reports whether c separates inline words.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' }

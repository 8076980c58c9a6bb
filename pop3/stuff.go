package pop3

import (
	"errors"
	"io"
)

// Stuffer turns a message as stored (lines ended by LF or CRLF, in any
// mix, perhaps without a final line end) into the body of a multi-line
// response (RFC 1939, section 3): every line ended by CRLF, a "." added
// before each line that starts with ".", and the ".\r\n" terminator at the
// end. It works on chunks of any size, so a message of any size streams
// through a buffer of fixed size; the zero value is ready for a message.
//
// A CR not followed by LF is data and passes through; a CR at the end of
// one chunk followed by LF at the start of the next is one line end.
//
// With Lines set to n ≥ 0 (TOP), only the header and the first n lines of
// the body come out: the body starts after the first empty line.
type Stuffer struct {
	Lines int // body lines to keep (TOP); negative keeps them all

	mid     bool // inside a line: a byte since the last line end
	cr      bool // the last byte was a CR, already written
	empty   bool // the current line so far is only that CR (an empty CRLF line)
	body    bool // past the blank line that ends the header
	counted int  // body lines ended so far
}

// NewStuffer returns a Stuffer for a whole message (RETR), or for its
// header and first lines body lines when lines ≥ 0 (TOP).
func NewStuffer(lines int) *Stuffer { return &Stuffer{Lines: lines} }

// Done reports whether a TOP has all its lines: the rest of the message
// would be dropped, so reading it can stop.
func (s *Stuffer) Done() bool { return s.Lines >= 0 && s.body && s.counted >= s.Lines }

// Append appends the wire form of src, the next bytes of the message, to
// dst and returns it. The wire form is at most twice as long as src (a
// line of dots) plus 1.
func (s *Stuffer) Append(dst, src []byte) []byte {
	start := 0 // src[start:i] is copied as is when a change is due at i
	for i := 0; i < len(src); i++ {
		if s.Done() {
			return append(dst, src[start:i]...)
		}
		b := src[i]
		switch {
		case b == '\n':
			dst = append(dst, src[start:i]...)
			if !s.cr {
				dst = append(dst, '\r')
			}
			dst = append(dst, '\n')
			start = i + 1
			s.endLine()
		case !s.mid && b == '.':
			// A line that starts with "." gets another in front.
			dst = append(append(dst, src[start:i]...), '.')
			start = i
			s.mid, s.cr, s.empty = true, false, false
		default:
			s.empty = !s.mid && b == '\r'
			s.mid, s.cr = true, b == '\r'
		}
	}
	if s.Done() {
		return dst
	}
	return append(dst, src[start:]...)
}

// endLine notes a line end, counting body lines for TOP.
func (s *Stuffer) endLine() {
	blank := !s.mid || s.empty
	s.mid, s.cr, s.empty = false, false, false
	switch {
	case s.body:
		s.counted++
	case blank:
		s.body = true
	}
}

// Finish appends what ends the response: a CRLF if the message did not end
// with a line end, then the terminator ".\r\n".
func (s *Stuffer) Finish(dst []byte) []byte {
	if s.mid && !s.Done() {
		if !s.cr {
			dst = append(dst, '\r')
		}
		dst = append(dst, '\n')
	}
	return append(dst, ".\r\n"...)
}

// Measure reads a message as stored and returns its size in octets as
// RETR sends it before dot-stuffing (every line end a CRLF, a final CRLF
// added if missing), which is what STAT and LIST report (RFC 1939, section
// 11), and whether the stored bytes are already the wire form, so that
// RETR may send them unchanged: CRLF line ends only, no line starting with
// ".", and a final CRLF (or no byte at all).
func Measure(r io.Reader) (size int64, wire bool, err error) {
	buf := make([]byte, 32<<10)
	var prev byte = '\n' // as if at the start of a line
	wire = true
	for {
		n, err := r.Read(buf)
		for _, b := range buf[:n] {
			switch {
			case b == '\n' && prev != '\r':
				size++ // the CR that RETR adds
				wire = false
			case b == '.' && prev == '\n':
				wire = false
			}
			prev = b
		}
		size += int64(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, false, err
		}
	}
	if prev != '\n' {
		// RETR ends the last line, a bare CR included, with a line end:
		// a bare trailing CR gets only the LF.
		if prev == '\r' {
			size++
		} else {
			size += 2
		}
		wire = false
	}
	return size, wire, nil
}

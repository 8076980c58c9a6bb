package resp

import "github.com/seed487d475b/proactor/codec"

// Static checks: both framers resume the search for an inline line's end.
var (
	_ codec.ResumableFramer = Framer{}
	_ codec.ResumableFramer = PipelineFramer{}
)

// Framer makes each command a frame, for proactor.WithFramer: the frame is
// the command as sent, which Parse splits into its arguments. A malformed
// or over-limit command is an error (a *ProtocolError), after which the
// stream is unusable; proactor then closes the connection without letting
// the handler answer, so a server that wants to say why uses
// PipelineFramer. Framer is stateless: one value serves every connection.
type Framer struct {
	Limits
}

// Next returns the first command in buf; see codec.Framer. need is the
// command's whole length once the header of its last bulk string has been
// read, else 0.
func (f Framer) Next(buf []byte) (frame []byte, n, need int, err error) {
	return f.NextFrom(buf, 0)
}

// NextFrom is Next resuming the search for an inline line's end where an
// earlier call left off; see codec.ResumableFramer. An array's headers are
// read again from its start: they are short, and its payloads are skipped
// by their lengths.
func (f Framer) NextFrom(buf []byte, scanned int) (frame []byte, n, need int, err error) {
	_, n, need, err = f.parseFrom(buf, scanned)
	if n == 0 || err != nil {
		return nil, 0, need, err
	}
	return buf[:n:n], n, 0, nil
}

// parseFrom finds the end of the first command, resuming an inline line's
// search at scanned.
func (l Limits) parseFrom(buf []byte, scanned int) ([][]byte, int, int, error) {
	if len(buf) > 0 && buf[0] != '*' {
		// The previous search found no '\n' in buf[:scanned].
		return l.orDefault().inline(buf, nil, false, scanned)
	}
	return l.parse(buf, nil, false)
}

// PipelineFramer makes a frame of every whole command at the start of buf,
// for proactor.WithFramer in a server: a handler parses the frame's
// commands one after another with Parse, answers each in one buffer and
// writes it once, so that a pipelined read costs one Write. (A command
// that arrives in several reads is a frame of its own when its last read
// completes it, before the commands after it in that read.)
//
// A malformed or over-limit command is not an error but a frame: the rest
// of buf, on which Parse returns the same *ProtocolError, so the handler
// can answer "-ERR Protocol error: ..." and close the connection, as
// redis-server does. The commands before it come first, in a frame of
// their own. A handler must therefore close the connection when Parse
// fails on a frame, or it would read the rest of the stream as commands.
// PipelineFramer is stateless: one value serves every connection.
type PipelineFramer struct {
	Limits
}

// Next returns the run of whole commands at the start of buf; see
// codec.Framer. It never returns an error.
func (f PipelineFramer) Next(buf []byte) (frame []byte, n, need int, err error) {
	return f.NextFrom(buf, 0)
}

// NextFrom is Next resuming the search for an inline line's end where an
// earlier call left off, when buf starts with an unfinished inline line;
// see codec.ResumableFramer.
func (f PipelineFramer) NextFrom(buf []byte, scanned int) (frame []byte, n, need int, err error) {
	_, n, need, err = f.parseFrom(buf, scanned)
	switch {
	case err != nil:
		// Parse finds the same fault in the same bytes.
		return buf[:len(buf):len(buf)], len(buf), 0, nil
	case n == 0:
		return nil, 0, need, nil
	}
	for n < len(buf) {
		_, m, _, err := f.parse(buf[n:], nil, false)
		if m == 0 || err != nil {
			break // the next call starts with it
		}
		n += m
	}
	return buf[:n:n], n, 0, nil
}

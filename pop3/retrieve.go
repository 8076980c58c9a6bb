package pop3

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// chunk is how much of a message is read at a time: the response grows
// by at most twice this (a line of dots) before it waits for the output.
const chunk = 32 << 10

// chunks holds the buffers of the responses in progress: a chunk read,
// then room for its wire form.
var chunks = sync.Pool{New: func() any { b := make([]byte, 3*chunk+1); return &b }}

// reply writes one response line; format and args as in fmt.
func reply(out Output, format string, args ...any) error {
	return out.Write(fmt.Appendf(nil, format+"\r\n", args...))
}

// message parses argument 1 of cmd as a message number, 1-based, and
// returns its index. When the number is wrong, names no message or a
// deleted one, it answers "-ERR" itself and reports ok false with the
// error of that write. want is how many arguments cmd must have.
func (s *Session) message(cmd Command, want int, out Output) (i int, ok bool, err error) {
	if len(cmd.Args) != want {
		return 0, false, reply(out, "-ERR %s takes %d arguments", cmd.Name, want)
	}
	n, valid := number(cmd.Args[0])
	switch {
	case !valid:
		return 0, false, reply(out, "-ERR %q is not a message number", cmd.Args[0])
	case n < 1 || n > len(s.msgs):
		return 0, false, reply(out, "-ERR no message %d", n)
	case s.deleted[n-1]:
		return 0, false, reply(out, "-ERR message %d is deleted", n)
	}
	return n - 1, true, nil
}

// list answers LIST and UIDL: one message's line, or all of them in a
// multi-line response paced by out.Wait.
func (s *Session) list(cmd Command, out Output) error {
	line := func(b []byte, i int) []byte {
		if cmd.Name == "LIST" {
			return fmt.Appendf(b, "%d %d", i+1, s.msgs[i].Size)
		}
		return fmt.Appendf(b, "%d %s", i+1, s.msgs[i].UID)
	}
	if len(cmd.Args) > 0 {
		i, ok, err := s.message(cmd, 1, out)
		if !ok {
			return err
		}
		return out.Write(append(line([]byte("+OK "), i), "\r\n"...))
	}
	n, size := s.count()
	b := fmt.Appendf(nil, "+OK %d messages (%d octets)\r\n", n, size)
	for i := range s.msgs {
		if s.deleted[i] {
			continue
		}
		b = append(line(b, i), "\r\n"...)
		if len(b) >= chunk {
			if err := out.Write(b); err != nil {
				return err
			}
			if err := out.Wait(); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	return out.Write(append(b, ".\r\n"...))
}

// retrieve answers RETR msg and TOP msg n.
func (s *Session) retrieve(cmd Command, out Output) error {
	lines := -1
	want := 1
	if cmd.Name == "TOP" {
		want = 2
		if len(cmd.Args) == 2 {
			n, ok := number(cmd.Args[1])
			if !ok {
				return reply(out, "-ERR %q is not a line count", cmd.Args[1])
			}
			lines = n
		}
	}
	i, ok, err := s.message(cmd, want, out)
	if !ok {
		return err
	}
	r, err := s.drop.Open(i)
	if err != nil {
		return reply(out, "-ERR [SYS/TEMP] cannot read message %d", i+1)
	}
	m := s.msgs[i]
	if f, isFile := r.(*os.File); isFile && m.Wire && lines < 0 {
		// The stored bytes are the wire form: the kernel sends them.
		if err := reply(out, "+OK %d octets", m.Size); err != nil {
			f.Close()
			return err
		}
		if err := out.SendFile(f, m.Size); err != nil {
			return err
		}
		return out.Write([]byte(".\r\n"))
	}
	defer r.Close()
	if lines < 0 {
		err = reply(out, "+OK %d octets", m.Size)
	} else {
		err = reply(out, "+OK top of message %d", i+1)
	}
	if err != nil {
		return err
	}
	return stream(r, NewStuffer(lines), out)
}

// stream sends a message through st in chunks, waiting for out between
// them, so that the message is never in memory whole.
func stream(r io.Reader, st *Stuffer, out Output) error {
	in := chunks.Get().(*[]byte)
	defer chunks.Put(in)
	buf := (*in)[:chunk]
	wire := (*in)[chunk:chunk]
	for !st.Done() {
		n, err := r.Read(buf)
		if n > 0 {
			if werr := out.Write(st.Append(wire[:0], buf[:n])); werr != nil {
				return werr
			}
			if werr := out.Wait(); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Part of the message is out: the client cannot be told.
			return fmt.Errorf("pop3: reading a message: %w", err)
		}
	}
	return out.Write(st.Finish(wire[:0]))
}

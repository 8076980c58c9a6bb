package files

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/seed487d475b/proactor"
)

// Flow control of a connection's input queue: reading pauses when more
// than highWater bytes wait and resumes at lowWater. The bytes wait in
// chunks of chunkSize.
const (
	chunkSize = 256 << 10
	highWater = 4 << 20
	lowWater  = 1 << 20
)

// maxSending is how many GETs may have their file queued at once.
const maxSending = 16

// Why a connection's job waits for the client.
const (
	blockWritable = 1 << iota // the write queue is over the high watermark
	blockSending              // maxSending files are queued
)

// session is a connection's state: an input queue filled on the loop, and
// the protocol's state, owned by the connection's job.
type session struct {
	h *Handler
	c *proactor.Conn

	mu        sync.Mutex // guards the fields below, shared by the loop, the job and timers
	in        []*[]byte  // input the job has not taken yet
	pending   int        // input bytes not processed yet, taken or not
	paused    bool       // reading is paused for pending
	scheduled bool       // the job is queued or running
	blocked   uint8      // why the job waits: blockWritable, blockSending
	eof       bool       // no more input will come
	closed    bool       // OnClose has run
	sending   int        // GETs whose file is still queued

	// Owned by the job: a connection's jobs run one at a time.
	rest    []*[]byte // input taken and not processed: rest[0] from off on
	off     int
	line    []byte  // the start of a command line
	up      *upload // the upload receiving bytes
	stopped bool    // closing: input is dropped
	ended   bool    // the end of the input has been acted on
}

// input runs on the loop: it queues a copy of data and wakes the job.
func (s *session) input(data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(data) > 0 {
		var b *[]byte
		if n := len(s.in); n > 0 && len(*s.in[n-1]) < chunkSize {
			b = s.in[n-1]
		} else {
			b = s.h.chunk()
			s.in = append(s.in, b)
		}
		k := min(len(data), chunkSize-len(*b))
		*b = append(*b, data[:k]...)
		data = data[k:]
		s.pending += k
	}
	if !s.paused && s.pending > highWater {
		s.paused = true
		s.c.PauseRead()
	}
	s.wake()
}

// end runs on the loop when the input ends: at the peer's FIN, after
// which the job finishes the commands that came and closes, or once the
// connection has closed, when the job only cleans up.
func (s *session) end(closed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.eof = true
	if closed {
		s.closed = true
		s.h.release(s.in)
		s.in = nil
	}
	s.wake()
}

// unblock removes a reason for the job to wait, and wakes it if none is
// left. Safe from any goroutine.
func (s *session) unblock(reason uint8) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.blocked&reason == 0 {
		return
	}
	s.blocked &^= reason
	s.wake()
}

// wake queues the job unless it is queued or running already, or waits for
// the client; a closed connection's job runs anyway, to clean up. s.mu
// must be held.
func (s *session) wake() {
	if s.scheduled || (s.blocked != 0 && !s.closed) {
		return
	}
	s.scheduled = true
	h, id := s.h, s.c.ID()
	if h.pool.Submit(id, s.run) != nil {
		// The queue is full: wait for room off the loop. If the pool is
		// closing instead, SubmitWait fails too and Close's sweep removes
		// what an upload left.
		h.waiting.Go(func() { h.pool.SubmitWait(context.Background(), id, s.run) })
	}
}

// run is the connection's job: it processes the input that has arrived,
// then queues itself again if more came meanwhile, so that a busy
// connection takes turns with the others.
func (s *session) run() {
	s.mu.Lock()
	closed, eof := s.closed, s.eof
	s.rest = append(s.rest, s.in...)
	s.in = nil
	s.mu.Unlock()

	var n int
	if closed {
		n = s.drop()
	} else {
		n = s.process()
		if eof && len(s.rest) == 0 {
			s.endInput()
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending -= n
	if s.paused && s.pending <= lowWater && !s.closed {
		s.paused = false
		s.c.ResumeRead()
	}
	s.scheduled = false
	// More input, a change of state, or a wait that ended while the job
	// was still running (an unblock cannot queue a running job): go again.
	if len(s.in) > 0 || len(s.rest) > 0 || s.eof != eof || s.closed != closed {
		s.wake()
	}
}

// process runs what rest holds and returns the number of bytes used. It
// stops early only when the job has to wait for the client.
func (s *session) process() (n int) {
	for len(s.rest) > 0 {
		b := (*s.rest[0])[s.off:]
		k := s.consume(b, len(s.rest) > 1)
		n += k
		s.off += k
		if k < len(b) {
			return n
		}
		s.h.release(s.rest[:1])
		s.rest[0] = nil
		s.rest, s.off = s.rest[1:], 0
	}
	s.rest = nil
	return n
}

// consume runs the commands in b and stores the upload bytes it holds; more
// says whether more input follows b in what the job took. It returns the
// number of bytes used, short of len(b) only if the job has to wait.
func (s *session) consume(b []byte, more bool) int {
	n := 0
	for len(b) > 0 {
		if s.stopped {
			return n + len(b)
		}
		if up := s.up; up != nil {
			k := int(min(up.left, int64(len(b))))
			s.receive(b[:k])
			n, b = n+k, b[k:]
			continue
		}
		if s.wait() {
			return n
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(s.line)+len(b) > MaxLine+1 { // +1: the CR
				s.abandon("-ERR line too long\r\n")
				continue
			}
			s.line = append(s.line, b...) // a copy: b goes back to the pool
			return n + len(b)
		}
		line := b[:i]
		if len(s.line) > 0 {
			line = append(s.line, line...)
		}
		s.line = nil
		n, b = n+i+1, b[i+1:]
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > MaxLine {
			s.abandon("-ERR line too long\r\n")
			continue
		}
		s.command(string(line), len(b) > 0 || more)
	}
	return n
}

// wait reports whether the job has to stop before the next command,
// because the client is not reading what it already has, and records why
// so that OnWritable, or the end of a GET's file, wakes the job again.
func (s *session) wait() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return true // the next job cleans up
	case s.sending >= maxSending:
		s.blocked |= blockSending
		return true
	}
	// Writable's false promises an OnWritable, whose unblock waits for
	// s.mu: setting the flag first cannot miss it.
	s.blocked |= blockWritable
	if s.c.Writable() {
		s.blocked &^= blockWritable
		return false
	}
	return true
}

// command runs one command line; trailing says whether input follows it
// in what the job took.
func (s *session) command(line string, trailing bool) {
	word, rest, _ := strings.Cut(line, " ")
	args := strings.Fields(rest)
	switch strings.ToUpper(word) {
	case "LIST":
		if len(args) != 0 {
			s.reply("-ERR usage: LIST\r\n")
			return
		}
		s.list()
	case "GET":
		if len(args) != 1 {
			s.reply("-ERR usage: GET name\r\n")
			return
		}
		if err := CheckName(args[0]); err != nil {
			s.reply("-ERR %s\r\n", err)
			return
		}
		s.get(args[0])
	case "PUT":
		s.put(args, trailing)
	case "QUIT":
		s.abandon("+OK bye\r\n")
	default:
		s.reply("-ERR unknown command\r\n")
	}
}

// put starts an upload: it creates the temporary file and answers "+OK",
// after which the input is the file's bytes.
func (s *session) put(args []string, trailing bool) {
	name, size, want, why := s.h.checkPut(args)
	if trailing && size != 0 {
		// What follows came with the PUT line, before its reply. It may
		// be file bytes, which answering and going on would take for
		// commands; only an empty upload may be pipelined.
		if why == "" {
			why = "bytes sent before the reply to PUT"
		}
		s.abandon(fmt.Sprintf("-ERR %s\r\n", why))
		return
	}
	if why != "" {
		s.reply("-ERR %s\r\n", why)
		return
	}
	reserved, err := s.h.room.reserve(size)
	if err != nil {
		s.reply("-ERR %s\r\n", err)
		return
	}
	up, err := s.h.create(name, size, reserved, want)
	if err != nil {
		s.reply("-ERR storing %q: %s\r\n", name, describe(err))
		return
	}
	if !s.write([]byte("+OK\r\n")) {
		up.remove()
		return
	}
	if size == 0 {
		s.write(up.finish())
		return
	}
	s.up = up
}

// checkPut reads PUT's arguments and says why the upload is refused, ""
// if it is not. size is -1 when the arguments hold no valid size.
func (h *Handler) checkPut(args []string) (name string, size int64, want []byte, why string) {
	size = -1
	if len(args) == 3 {
		name = args[0]
		if n, err := strconv.ParseInt(args[1], 10, 64); err == nil && n >= 0 {
			size = n
		}
		if b, err := hex.DecodeString(args[2]); err == nil && len(b) == sha256.Size {
			want = b
		}
	}
	nameErr := CheckName(name)
	switch {
	case h.readOnly:
		why = "read-only server: uploads are refused"
	case len(args) != 3:
		why = "usage: PUT name size sha256hex"
	case nameErr != nil:
		why = nameErr.Error()
	case size < 0:
		why = fmt.Sprintf("bad size %q: want a byte count", args[1])
	case size > h.maxSize:
		why = fmt.Sprintf("%d bytes is over the limit of %d", size, h.maxSize)
	case want == nil:
		why = "bad sha256: want 64 hex digits"
	}
	return name, size, want, why
}

// receive stores upload bytes; after the last one it answers.
func (s *session) receive(b []byte) {
	up := s.up
	up.write(b)
	if up.left == 0 {
		s.up = nil
		s.write(up.finish())
	}
}

// endInput acts on the end of the input, once: an upload cut short is
// discarded, and the connection closes after the replies already queued.
func (s *session) endInput() {
	if s.ended {
		return
	}
	s.ended = true
	if s.up != nil {
		s.up.remove()
		s.up = nil
	}
	if !s.stopped {
		s.stop()
	}
}

// drop cleans up after the connection has closed and returns the number
// of input bytes dropped.
func (s *session) drop() (n int) {
	for _, b := range s.rest {
		n += len(*b)
	}
	n -= s.off
	s.h.release(s.rest)
	s.rest, s.off, s.line = nil, 0, nil
	s.stopped = true
	s.endInput()
	return n
}

// reply writes a reply line made with fmt.Sprintf's rules; with no args,
// format is written as it is.
func (s *session) reply(format string, args ...any) {
	if len(args) == 0 {
		s.write([]byte(format))
		return
	}
	s.write(fmt.Appendf(nil, format, args...))
}

// write queues b and reports whether it could. A refused write means that
// the connection is closing, or was aborted because the client leaves its
// replies unread past proactor.WithMaxWriteQueue: the connection's work
// stops there, as the client would never see its result.
func (s *session) write(b []byte) bool {
	if _, err := s.c.Write(b); err != nil {
		s.stop()
		return false
	}
	return true
}

// abandon writes msg and closes; the input that follows is dropped.
func (s *session) abandon(msg string) {
	s.write([]byte(msg))
	s.stop()
}

// stop closes the connection once its queued replies are sent, and drops
// the input that follows.
func (s *session) stop() {
	s.stopped = true
	// Close fails only on a connection already closing, the state wanted.
	_ = s.c.Close()
}

// chunk returns an empty buffer of chunkSize bytes' capacity.
func (h *Handler) chunk() *[]byte {
	if b, ok := h.chunks.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, chunkSize)
	return &b
}

// release gives chunks back for reuse.
func (h *Handler) release(chunks []*[]byte) {
	for _, b := range chunks {
		*b = (*b)[:0]
		h.chunks.Put(b)
	}
}

// Package loadgen is the load generator behind `proactor bench` and the
// benchmark module's echobench: connections that keep messages in flight
// (or connect, send one and close), every reply checked byte for byte (a
// wrong one is a MismatchError), and a latency histogram. A paced run
// (SetRate) sends on a fixed schedule and counts each latency from when
// the request was due, as wrk2 does, so a stalled server is charged for
// every request it held back.
package loadgen

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Scenario is the protocol of a load: the requests a connection sends and
// the reply each must get. Every message of a connection differs (it
// carries the connection's id and its sequence number, then bytes of a
// pattern at an offset that moves with the sequence), so a reply from the
// wrong connection, a lost or repeated message and a changed byte all fail
// the check.
type Scenario struct {
	name     string
	size     int    // bytes per request
	reqHead  string // before the body of a request
	repHead  string // before the body of a reply
	tail     string // after the body of both
	greeted  bool   // the server greets a new connection with a "+OK ..." line
	lenByte  bool   // the first byte is the message's total length
	text     bool   // the id and the sequence in hex, the pattern printable
	pattern  []byte
	bodySize int
}

// Scenarios lists the scenario names NewScenario takes.
var Scenarios = []string{"echo", "packet", "line"}

const (
	binHeader     = 8  // id and sequence, little-endian
	textHeader    = 16 // id and sequence, hex
	patternSpread = 251
)

// NewScenario returns the named scenario with size-byte requests:
//   - echo: raw bytes, echoed back (size ≥ 8);
//   - packet: a 1-byte total-length header, the packet echoed whole, as
//     `proactor serve packet` does (9 ≤ size ≤ 255);
//   - line: "ECHO <text>\r\n" answered with "+OK <text>\r\n", as `proactor
//     serve line` does (23 ≤ size ≤ 1026, its longest line and CRLF),
//     after the greeting line that server sends on connect.
func NewScenario(name string, size int) (*Scenario, error) {
	s := &Scenario{name: name, size: size}
	var lo, hi int
	switch name {
	case "echo":
		lo, hi = binHeader, 1<<30
	case "packet":
		s.lenByte = true
		lo, hi = 1+binHeader, 255
	case "line":
		s.reqHead, s.repHead, s.tail, s.text, s.greeted = "ECHO ", "+OK ", "\r\n", true, true
		lo, hi = len("ECHO ")+textHeader+len("\r\n"), 1024+len("\r\n") // the line server's MaxLine
	default:
		return nil, fmt.Errorf("unknown scenario %q (have %v)", name, Scenarios)
	}
	if size < lo || size > hi {
		return nil, fmt.Errorf("scenario %s: size %d out of range [%d, %d]", name, size, lo, hi)
	}
	s.bodySize = size - len(s.reqHead) - len(s.tail)
	if s.lenByte {
		s.bodySize--
	}
	s.pattern = newPattern(s.bodySize+patternSpread, s.text)
	return s, nil
}

// Name returns the scenario's name.
func (s *Scenario) Name() string { return s.name }

// Size returns the bytes of a request.
func (s *Scenario) Size() int { return s.size }

// ReplySize returns the bytes of a reply.
func (s *Scenario) ReplySize() int { return s.size - len(s.reqHead) + len(s.repHead) }

func newPattern(n int, text bool) []byte {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	p := make([]byte, n)
	x := uint64(0x9E3779B97F4A7C15)
	for i := range p {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		p[i] = byte(x)
		if text {
			p[i] = letters[p[i]&63]
		}
	}
	return p
}

func (s *Scenario) headerSize() int {
	if s.text {
		return textHeader
	}
	return binHeader
}

// appendHeader appends the id and the sequence number.
func (s *Scenario) appendHeader(b []byte, id, seq uint32) []byte {
	var h [binHeader]byte
	binary.LittleEndian.PutUint32(h[:], id)
	binary.LittleEndian.PutUint32(h[4:], seq)
	if s.text {
		return hex.AppendEncode(b, h[:])
	}
	return append(b, h[:]...)
}

// appendBody appends the body of message seq of connection id.
func (s *Scenario) appendBody(b []byte, id, seq uint32) []byte {
	b = s.appendHeader(b, id, seq)
	off := int(seq % patternSpread)
	return append(b, s.pattern[off:off+s.bodySize-s.headerSize()]...)
}

func (s *Scenario) appendMsg(b []byte, head string, size int, id, seq uint32) []byte {
	if s.lenByte {
		b = append(b, byte(size))
	}
	b = append(b, head...)
	b = s.appendBody(b, id, seq)
	return append(b, s.tail...)
}

// AppendRequest appends request seq of connection id to b.
func (s *Scenario) AppendRequest(b []byte, id, seq uint32) []byte {
	return s.appendMsg(b, s.reqHead, s.size, id, seq)
}

// maxGreeting bounds the greeting line: POP3's limit on a reply line.
const maxGreeting = 512

// ReadGreeting reads the greeting line that a greeted scenario's server
// sends first, and checks that it is a "+OK" line; it does nothing for
// the others. It reads a byte at a time, so that no byte of a reply is
// taken with it, which costs a few dozen system calls per connection.
func (s *Scenario) ReadGreeting(c io.Reader) error {
	if !s.greeted {
		return nil
	}
	var line []byte
	var b [1]byte
	for !bytes.HasSuffix(line, []byte("\r\n")) {
		if len(line) == maxGreeting {
			return fmt.Errorf("greeting %.40q...: no line end in %d bytes: %w", line, maxGreeting, ErrMismatch)
		}
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return fmt.Errorf("read greeting: %w", err)
		}
		line = append(line, b[0])
	}
	if !bytes.HasPrefix(line, []byte("+OK")) {
		return fmt.Errorf("greeting %q, want a +OK line: %w", line, ErrMismatch)
	}
	return nil
}

// ErrMismatch marks a reply that differs from the one expected: the run is
// void.
var ErrMismatch = errors.New("reply differs from the one expected")

// Check compares a reply (ReplySize bytes) with the one request seq of
// connection id must get, without allocating unless it differs; a reply
// that differs is a *MismatchError.
func (s *Scenario) Check(m []byte, id, seq uint32) error {
	if len(m) == s.ReplySize() && s.matches(m, id, seq) {
		return nil
	}
	return newMismatch(id, seq, m, s.appendMsg(nil, s.repHead, s.ReplySize(), id, seq))
}

func (s *Scenario) matches(m []byte, id, seq uint32) bool {
	if s.lenByte {
		if m[0] != byte(len(m)) {
			return false
		}
		m = m[1:]
	}
	if string(m[:len(s.repHead)]) != s.repHead || string(m[len(m)-len(s.tail):]) != s.tail {
		return false
	}
	body := m[len(s.repHead) : len(m)-len(s.tail)]
	var scratch [textHeader]byte
	h := s.appendHeader(scratch[:0], id, seq)
	off := int(seq % patternSpread)
	return bytes.Equal(body[:len(h)], h) && bytes.Equal(body[len(h):], s.pattern[off:off+s.bodySize-len(h)])
}

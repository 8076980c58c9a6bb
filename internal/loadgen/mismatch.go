package loadgen

import (
	"fmt"
	"strconv"
)

// MismatchError is a reply that differs from the one expected, with where
// it first differs and the bytes from there on: enough to tell a shifted
// stream (another message's bytes) from a changed byte. It matches
// ErrMismatch with errors.Is.
type MismatchError struct {
	Conn     uint32 // the connection's id
	Message  uint32 // the message's sequence number on it
	Offset   int    // of the first byte that differs
	Size     int    // of the reply
	Expected []byte // the expected bytes from Offset on, at most mismatchShown
	Received []byte // the received bytes from Offset on, at most mismatchShown
}

// mismatchShown bounds the bytes a MismatchError keeps of each side.
const mismatchShown = 16

// newMismatch compares the received reply m with the expected exp.
func newMismatch(id, seq uint32, m, exp []byte) *MismatchError {
	i := 0
	for i < len(m) && i < len(exp) && m[i] == exp[i] {
		i++
	}
	window := func(b []byte) []byte {
		return append([]byte(nil), b[i:min(len(b), i+mismatchShown)]...)
	}
	return &MismatchError{Conn: id, Message: seq, Offset: i, Size: len(m), Expected: window(exp), Received: window(m)}
}

func (e *MismatchError) Error() string {
	more := ""
	if e.Offset+mismatchShown < e.Size {
		more = "..."
	}
	text := printable(e.Expected) && printable(e.Received)
	return fmt.Sprintf("conn %d message %d: reply differs at byte %d of %d: expected %s%s, received %s%s",
		e.Conn, e.Message, e.Offset, e.Size, showBytes(e.Expected, text), more, showBytes(e.Received, text), more)
}

// Unwrap makes errors.Is(err, ErrMismatch) hold.
func (e *MismatchError) Unwrap() error { return ErrMismatch }

// showBytes prints b as quoted text (both sides printable ASCII: the line
// scenario), else as hex bytes.
func showBytes(b []byte, text bool) string {
	if text {
		return strconv.Quote(string(b))
	}
	return fmt.Sprintf("[% x]", b)
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\r' && c != '\n' || c > '~' {
			return false
		}
	}
	return true
}

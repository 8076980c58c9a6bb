package pop3

import (
	"errors"
	"io"
)

// Errors an Authenticator returns; the session answers each with its own
// response code (RFC 2449's RESP-CODES).
var (
	// ErrAuth reports a wrong user name or password. The session does not
	// say which, and answers it after a delay.
	ErrAuth = errors.New("pop3: authentication failed")
	// ErrLocked reports a maildrop that another session holds (RFC 1939:
	// one session per maildrop at a time).
	ErrLocked = errors.New("pop3: maildrop locked")
)

// Message describes one message of a maildrop, as listed when the session
// opens it.
type Message struct {
	// Size is the message's size in octets as RETR sends it before
	// dot-stuffing (every line end a CRLF); Measure computes it.
	Size int64
	// UID is the unique id UIDL reports: 1 to 70 characters from 0x21 to
	// 0x7E, the same in every session for as long as the message exists.
	UID string
	// Wire reports that the stored bytes are the wire form already (see
	// Measure): RETR then sends them unchanged, with Conn.SendFile when
	// Open returns an *os.File, instead of converting them on the way.
	Wire bool
}

// Maildrop is one user's messages, held by one session from its login to
// its end (the maildrop lock). Its methods are called from one goroutine at
// a time, never from a proactor loop, so they may block on a disk.
type Maildrop interface {
	// Messages lists the messages as they were when the maildrop was
	// opened: message n of the session is Messages()[n-1]. The list does
	// not change during the session.
	Messages() []Message
	// Open returns message i (0-based) as stored, with lines ended by LF
	// or CRLF; the caller closes it. An *os.File lets RETR use SendFile.
	Open(i int) (io.ReadCloser, error)
	// Delete removes the messages at the given 0-based indexes: the UPDATE
	// state, after QUIT. An error leaves the maildrop as it is, or with
	// some of them removed; the session reports it to the client.
	Delete(indexes []int) error
	// Close releases the maildrop lock. The session calls it exactly once,
	// after Delete if any.
	Close() error
}

// Authenticator checks a user's credentials and opens the user's
// maildrop, locked. It is shared by every session, so it must be safe for
// concurrent use; it is called off the proactor loops and may block.
type Authenticator interface {
	// Login returns the user's maildrop, or an error matching ErrAuth for
	// a wrong user or password, ErrLocked for a maildrop in use, or any
	// other error for a server-side failure.
	Login(user, pass string) (Maildrop, error)
}

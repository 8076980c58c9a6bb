package pop3

import (
	"errors"
	"os"
	"strconv"
	"time"
)

// State is a session's state (RFC 1939, section 3).
type State int

// The states of a session, in order.
const (
	Authorization State = iota // after the greeting, until USER and PASS succeed
	Transaction                // the maildrop is open and locked
	Update                     // after QUIT in Transaction: deletions applied, then the end
)

func (s State) String() string {
	switch s {
	case Authorization:
		return "AUTHORIZATION"
	case Transaction:
		return "TRANSACTION"
	case Update:
		return "UPDATE"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Output is where a session writes its responses: a connection, or a
// buffer in tests. The session calls it from one goroutine at a time.
type Output interface {
	// Write queues a copy of p.
	Write(p []byte) error
	// SendFile queues the first n bytes of f and takes over f: it is
	// closed once sent or when the connection ends, and at once on error.
	SendFile(f *os.File, n int64) error
	// Wait blocks until more output is welcome (the queue has drained
	// enough), so that a long response never sits in memory whole. It
	// returns an error when the connection has ended.
	Wait() error
}

// Limits are a session's defences against password guessing.
type Limits struct {
	// FailDelay is how long a failed PASS waits before its answer; 0
	// means 1 s, negative none (tests).
	FailDelay time.Duration
	// MaxFailures is how many failed PASS end the session; 0 means 3.
	MaxFailures int
}

func (l Limits) failDelay() time.Duration {
	if l.FailDelay == 0 {
		return time.Second
	}
	return max(l.FailDelay, 0)
}

func (l Limits) maxFailures() int {
	if l.MaxFailures <= 0 {
		return 3
	}
	return l.MaxFailures
}

// Session is one POP3 session's state machine: it executes commands and
// writes their responses to an Output. It knows nothing of connections:
// the caller reads the lines, calls Exec for each (from one goroutine at a
// time) and ends the connection when Exec says so. Exec blocks on the
// Authenticator and the Maildrop for the commands Blocks reports.
type Session struct {
	auth     Authenticator
	limits   Limits
	state    State
	user     string // given by USER, awaiting PASS
	failures int
	drop     Maildrop
	msgs     []Message
	deleted  []bool
}

// NewSession returns a session in the AUTHORIZATION state, after the
// greeting (which the caller sends: Greeting).
func NewSession(auth Authenticator, limits Limits) *Session {
	return &Session{auth: auth, limits: limits}
}

// Greeting is the line a server sends on connect. It carries no APOP
// timestamp: APOP's MD5 of a shared secret is not offered.
const Greeting = "+OK POP3 server ready\r\n"

// State returns the session's state.
func (s *Session) State() State { return s.state }

// Blocks reports whether Exec may block on cmd: a login, the UPDATE state,
// and the multi-line responses whose length depends on the maildrop
// (which wait for the output to drain), so that the caller runs them off
// its event loop.
func (s *Session) Blocks(cmd Command) bool {
	switch cmd.Name {
	case "PASS":
		return s.state == Authorization
	case "QUIT":
		return s.state == Transaction
	case "RETR", "TOP":
		return s.state == Transaction
	case "LIST", "UIDL":
		return s.state == Transaction && len(cmd.Args) == 0
	}
	return false
}

// Exec executes one command and writes its response. done reports that
// the session is over (after QUIT, or too many failed logins): the caller
// closes the connection once the response is sent. err is an error from
// out, or a message that failed to read after its response began: either
// way the client cannot be answered, and the caller should abort.
func (s *Session) Exec(cmd Command, out Output) (done bool, err error) {
	if cmd.Name == "CAPA" {
		return false, out.Write([]byte(capabilities))
	}
	if cmd.Name == "QUIT" {
		return true, s.quit(out)
	}
	if s.state == Authorization {
		return s.authorization(cmd, out)
	}
	if s.state != Transaction {
		return false, reply(out, "-ERR command not valid in this state")
	}
	switch cmd.Name {
	case "STAT":
		if len(cmd.Args) != 0 {
			return false, reply(out, "-ERR STAT takes no argument")
		}
		n, size := s.count()
		return false, reply(out, "+OK %d %d", n, size)
	case "LIST", "UIDL":
		return false, s.list(cmd, out)
	case "RETR", "TOP":
		return false, s.retrieve(cmd, out)
	case "DELE":
		i, ok, err := s.message(cmd, 1, out)
		if !ok {
			return false, err
		}
		s.deleted[i] = true
		return false, reply(out, "+OK message %d deleted", i+1)
	case "RSET":
		clear(s.deleted)
		n, size := s.count()
		return false, reply(out, "+OK maildrop has %d messages (%d octets)", n, size)
	case "NOOP":
		return false, reply(out, "+OK")
	}
	return false, reply(out, "-ERR command not valid in this state")
}

// capabilities is the response to CAPA (RFC 2449). USER is listed because
// it is the only login; RESP-CODES because the errors carry [AUTH],
// [IN-USE] and [SYS/TEMP]; PIPELINING because commands sent together are
// answered in order.
const capabilities = "+OK capability list follows\r\nUSER\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nIMPLEMENTATION proactor\r\n.\r\n"

// authorization runs a command of the AUTHORIZATION state.
func (s *Session) authorization(cmd Command, out Output) (bool, error) {
	switch cmd.Name {
	case "USER":
		if len(cmd.Args) != 1 {
			return false, reply(out, "-ERR USER takes a name")
		}
		// Whether the user exists is told only after PASS, with the same
		// answer as a wrong password.
		s.user = string(cmd.Args[0])
		return false, reply(out, "+OK send PASS")
	case "PASS":
		if s.user == "" {
			return false, reply(out, "-ERR USER first")
		}
		if len(cmd.Args) != 1 {
			return false, reply(out, "-ERR PASS takes a password")
		}
		return s.login(string(cmd.Args[0]), out)
	case "APOP":
		return false, reply(out, "-ERR APOP is not offered; use USER and PASS")
	}
	return false, reply(out, "-ERR command not valid in this state")
}

// login checks the password of the user USER named. A failure is answered
// after Limits.FailDelay, and ends the session at Limits.MaxFailures.
func (s *Session) login(pass string, out Output) (bool, error) {
	user := s.user
	s.user = ""
	drop, err := s.auth.Login(user, pass)
	switch {
	case err == nil:
		s.drop, s.msgs = drop, drop.Messages()
		s.deleted = make([]bool, len(s.msgs))
		s.state = Transaction
		n, size := s.count()
		return false, reply(out, "+OK maildrop has %d messages (%d octets)", n, size)
	case errors.Is(err, ErrLocked):
		return false, reply(out, "-ERR [IN-USE] maildrop locked: another session holds it")
	case errors.Is(err, ErrAuth):
		s.failures++
		time.Sleep(s.limits.failDelay())
		if s.failures >= s.limits.maxFailures() {
			return true, reply(out, "-ERR [AUTH] invalid user name or password; too many failures, bye")
		}
		return false, reply(out, "-ERR [AUTH] invalid user name or password")
	}
	return false, reply(out, "-ERR [SYS/TEMP] cannot open the maildrop")
}

// quit ends the session: in TRANSACTION it enters UPDATE, removes the
// messages marked deleted and releases the maildrop.
func (s *Session) quit(out Output) error {
	if s.state != Transaction {
		return reply(out, "+OK bye")
	}
	s.state = Update
	var gone []int
	for i, d := range s.deleted {
		if d {
			gone = append(gone, i)
		}
	}
	err := s.drop.Delete(gone)
	if cerr := s.release(); err == nil {
		err = cerr
	}
	if err != nil {
		return reply(out, "-ERR [SYS/TEMP] some deleted messages not removed")
	}
	return reply(out, "+OK bye (%d messages deleted)", len(gone))
}

// Close releases the maildrop of a session that ends without QUIT (the
// connection was lost): nothing marked deleted is removed (RFC 1939,
// section 6). It is safe to call more than once, and after QUIT.
func (s *Session) Close() error {
	return s.release()
}

func (s *Session) release() error {
	if s.drop == nil {
		return nil
	}
	drop := s.drop
	s.drop = nil
	return drop.Close()
}

// count returns the number and total size of the messages not deleted.
func (s *Session) count() (n int, size int64) {
	for i, m := range s.msgs {
		if !s.deleted[i] {
			n++
			size += m.Size
		}
	}
	return n, size
}

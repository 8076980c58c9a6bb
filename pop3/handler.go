package pop3

import (
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/seed487d475b/proactor"
)

// AutoLogout is the idle timeout of Options: RFC 1939 (section 3) asks
// for at least 10 minutes.
const AutoLogout = 10 * time.Minute

// Options returns the options that make a listener (or a server) speak
// POP3 to a Handler: the command framer, and the autologout timer as
// proactor's idle timeout.
func Options() []proactor.Option {
	return []proactor.Option{proactor.WithFramer(Framer()), proactor.WithIdleTimeout(AutoLogout)}
}

// Handler serves POP3 sessions on proactor connections, over an
// Authenticator and its maildrops. Commands that need no disk (STAT, DELE,
// one message's LIST, ...) are answered on the loop; the others (PASS,
// RETR, TOP, whole LIST and UIDL, QUIT's UPDATE) run on a goroutine of
// their own while the connection's reading is paused, so a slow disk or a
// password hash never stalls a loop, and commands sent together are still
// answered in order. A long response waits for the connection's output to
// drain (Conn.Writable, OnWritable) between chunks.
//
// Make one with NewHandler; one value serves every connection.
type Handler struct {
	auth   Authenticator
	limits Limits
	logins chan struct{} // bounds the password checks in progress
}

// NewHandler returns a Handler that logs users in with auth. At most
// GOMAXPROCS logins are checked at a time (a password hash is built to be
// slow), the others wait their turn.
func NewHandler(auth Authenticator, limits Limits) *Handler {
	return &Handler{auth: auth, limits: limits, logins: make(chan struct{}, runtime.GOMAXPROCS(0))}
}

// conn is a connection's state: its session, and the hand-off between
// the loop and a command's goroutine.
type conn struct {
	c        *proactor.Conn
	mu       sync.Mutex
	session  *Session
	busy     bool          // a command runs on its goroutine
	lost     bool          // the connection closed while busy: the goroutine releases the maildrop
	writable chan struct{} // OnWritable's signal to a waiting command
	closed   chan struct{} // closed by OnClose
}

// OnOpen greets the client.
func (h *Handler) OnOpen(c *proactor.Conn) {
	st := &conn{c: c, session: NewSession(h.auth, h.limits),
		writable: make(chan struct{}, 1), closed: make(chan struct{})}
	c.SetContext(st)
	if _, err := c.Write([]byte(Greeting)); err != nil {
		c.Abort()
	}
}

// OnData executes one command line (the framer of Options delivers lines
// without their line end).
func (h *Handler) OnData(c *proactor.Conn, line []byte) {
	st := c.Context().(*conn)
	cmd, err := Parse(line)
	if err != nil {
		if _, werr := c.Write([]byte("-ERR unknown command or bad arguments\r\n")); werr != nil {
			c.Abort()
		}
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.session.Blocks(cmd) {
		done, err := st.session.Exec(cmd, st)
		st.finish(done, err)
		return
	}
	// The line lives in the loop's buffer: the goroutine parses a copy.
	// Reading stops until the command is answered, so no other command
	// (nor OnData) can run meanwhile.
	st.busy = true
	c.PauseRead()
	own := append([]byte(nil), line...)
	go h.run(st, own)
}

// run executes a blocking command on its own goroutine.
func (h *Handler) run(st *conn, line []byte) {
	cmd, _ := Parse(line) // parsed once already
	if cmd.Name == "PASS" {
		h.logins <- struct{}{}
		defer func() { <-h.logins }()
	}
	done, err := st.session.Exec(cmd, st)
	st.mu.Lock()
	st.busy = false
	lost := st.lost
	st.finish(done, err)
	st.mu.Unlock()
	if lost {
		st.session.Close()
		return
	}
	if err == nil && !done {
		st.c.ResumeRead()
	}
}

// finish ends the connection as Exec asked: closed gracefully after the
// response when the session is over, aborted when the response could not
// be written whole. st.mu is held.
func (st *conn) finish(done bool, err error) {
	switch {
	case err != nil:
		st.c.Abort()
	case done:
		st.c.Close()
	}
}

// OnPeerClosed closes the connection: a client that stops sending has no
// more commands, and a command in progress ends with it.
func (h *Handler) OnPeerClosed(c *proactor.Conn) { c.Close() }

// OnWritable wakes a command waiting for the output to drain.
func (h *Handler) OnWritable(c *proactor.Conn) {
	st := c.Context().(*conn)
	select {
	case st.writable <- struct{}{}:
	default:
	}
}

// OnClose releases the maildrop without UPDATE: a session that ends
// without QUIT removes nothing (RFC 1939, section 6). If a command is
// still running, its goroutine releases it when it ends.
func (h *Handler) OnClose(c *proactor.Conn, _ error) {
	st, ok := c.Context().(*conn)
	if !ok {
		return
	}
	close(st.closed)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.busy {
		st.lost = true
		return
	}
	// Maildrop.Close may block; the session is no longer used here.
	go st.session.Close()
}

// Write queues p on the connection (Output).
func (st *conn) Write(p []byte) error {
	_, err := st.c.Write(p)
	return err
}

// SendFile queues the first n bytes of f (Output).
func (st *conn) SendFile(f *os.File, n int64) error {
	return st.c.SendFile(f, 0, int(n))
}

// Wait blocks until the connection's output is back under its high
// watermark, or the connection has closed (Output). Once Writable has
// reported false, proactor owes an OnWritable, so the wait always ends.
func (st *conn) Wait() error {
	for !st.c.Writable() {
		select {
		case <-st.writable:
		case <-st.closed:
			return proactor.ErrClosed
		}
	}
	return nil
}

// Static checks of the optional interfaces the handler relies on.
var (
	_ proactor.Handler         = (*Handler)(nil)
	_ proactor.WritableHandler = (*Handler)(nil)
	_ Output                   = (*conn)(nil)
)

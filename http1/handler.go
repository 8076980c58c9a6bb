package http1

import (
	"errors"
	"sync"
	"time"

	"github.com/seed487d475b/proactor"
)

// The timeouts of Options.
const (
	// DefaultReadTimeout bounds the time from a request's first byte to
	// its answer: the header read timeout, which also bounds the body.
	DefaultReadTimeout = 10 * time.Second
	// DefaultIdleTimeout closes a kept-alive connection that sends nothing.
	DefaultIdleTimeout = 60 * time.Second
)

// Options returns the proactor options an HTTP listener wants: a read
// timeout of DefaultReadTimeout, which without a framer runs from the
// first unanswered byte to the next write (a slow or stalled head or body
// closes the connection with a reset), and an idle timeout of
// DefaultIdleTimeout for kept-alive connections. Give them to
// proactor.NewServer or Server.Listen; options after them override them.
func Options() []proactor.Option {
	return []proactor.Option{
		proactor.WithReadTimeout(DefaultReadTimeout),
		proactor.WithIdleTimeout(DefaultIdleTimeout),
	}
}

// HandlerFunc answers one request through w. It runs on the connection's
// loop and must not block; r and its slices are valid only until it
// returns.
type HandlerFunc func(w *ResponseWriter, r *Request)

// Handler serves HTTP/1.1 on proactor connections with a HandlerFunc: a
// proactor.Handler for proactor.NewServer. It parses each read's requests
// in order (pipelining), answers them into one buffer written with one
// Write, keeps connections alive as the requests ask, and answers a bad
// request with its status (400, 413, 414, 417, 431, 501 or 505) and
// "Connection: close", then closes. A failed Write or SendFile aborts the
// connection. Its methods are safe for concurrent use by every loop.
type Handler struct {
	proactor.BaseHandler
	serve   HandlerFunc
	limits  Limits
	date    dateCache
	scratch sync.Pool // of *scratch
}

// Option configures a Handler.
type Option func(*Handler)

// WithLimits sets the limits on requests; default: a zero Limits, whose
// fields mean the Default values.
func WithLimits(l Limits) Option { return func(h *Handler) { h.limits = l } }

// NewHandler returns a Handler that answers every request with serve.
func NewHandler(serve HandlerFunc, opts ...Option) *Handler {
	h := &Handler{serve: serve}
	for _, o := range opts {
		o(h)
	}
	h.scratch.New = func() any { return &scratch{out: make([]byte, 0, 4096)} }
	return h
}

// conn is a connection's state: its parser, its request and the input
// that does not yet make a whole request.
type conn struct {
	p         Parser
	req       Request
	tail      []byte
	continued bool // "100 Continue" sent for the current request
	closing   bool // answered its last request: input is ignored
}

// scratch is what one OnData needs: the responses of a read, and the
// writer of one response. It goes back to the pool after the read.
type scratch struct {
	w   ResponseWriter
	out []byte
}

// The sizes past which buffers are flushed or dropped rather than kept.
const (
	flushAt  = 64 << 10 // responses queued in one Write
	keepTail = 16 << 10 // a connection's empty input buffer
	keepOut  = 64 << 10 // a scratch's response buffer
)

// OnOpen gives the connection its parser.
func (h *Handler) OnOpen(c *proactor.Conn) {
	c.SetContext(&conn{p: Parser{Limits: h.limits}})
}

// OnData parses the requests of data, answers each whole one in turn and
// keeps the rest for the next read.
func (h *Handler) OnData(c *proactor.Conn, data []byte) {
	st, _ := c.Context().(*conn)
	if st == nil || st.closing {
		return
	}
	s := h.scratch.Get().(*scratch)
	out := s.out[:0]
	buf := data
	fromTail := len(st.tail) > 0
	if fromTail {
		st.tail = append(st.tail, data...)
		buf = st.tail
	}
	date := h.date.get(time.Now())
	ok := true
	for ok && !st.closing {
		n, err := st.p.Next(buf, &st.req)
		if err != nil {
			out = s.w.appendError(out, err, date)
			st.closing = true
			break
		}
		if n == 0 {
			if st.p.InBody() && st.req.Expect100 && !st.continued {
				out = append(out, "HTTP/1.1 100 Continue\r\n\r\n"...)
				st.continued = true
			}
			break
		}
		st.continued = false
		s.w.reset(&st.req)
		h.serve(&s.w, &st.req)
		st.closing = s.w.close
		out, ok = finish(c, &s.w, out, date)
		if ok && len(out) >= flushAt {
			_, err := c.Write(out)
			out, ok = out[:0], err == nil
		}
		buf = buf[n:]
	}
	st.keep(buf, fromTail)
	if ok && len(out) > 0 {
		_, err := c.Write(out)
		ok = err == nil
	}
	switch {
	case !ok:
		// A refused write: the stream has a hole, so it must end now.
		c.Abort()
	case st.closing:
		c.Close()
	}
	if cap(out) <= keepOut {
		s.out = out[:0]
	} else {
		s.out = make([]byte, 0, 4096)
	}
	h.scratch.Put(s)
}

// keep makes rest, what is left of the input, the connection's tail.
func (st *conn) keep(rest []byte, fromTail bool) {
	switch {
	case st.closing || len(rest) == 0 && cap(st.tail) > keepTail:
		st.tail = nil
	case fromTail:
		// rest is the end of st.tail: move it to the front.
		st.tail = st.tail[:copy(st.tail, rest)]
	default:
		st.tail = append(st.tail[:0], rest...)
	}
}

// OnClose drops the connection's state.
func (h *Handler) OnClose(c *proactor.Conn, _ error) { c.SetContext(nil) }

// finish appends w's response to out; a file body is queued after out,
// which is written first. ok is false if a write was refused.
func finish(c *proactor.Conn, w *ResponseWriter, out []byte, date *[dateLen]byte) ([]byte, bool) {
	out = w.appendTo(out, date)
	f := w.file
	w.file = nil
	if f == nil {
		return out, true
	}
	if w.noBody || bodyless(w.status) || w.fileN <= 0 {
		f.Close()
		return out, true
	}
	if _, err := c.Write(out); err != nil {
		f.Close()
		return out[:0], false
	}
	// SendFile takes f over, closing it even when it fails.
	err := c.SendFile(f, w.fileOff, int(w.fileN))
	return out[:0], err == nil
}

// appendError appends the response to a refused request: its status, its
// reason as the body, and "Connection: close".
func (w *ResponseWriter) appendError(out []byte, err error, date *[dateLen]byte) []byte {
	status, reason := 400, err.Error()
	var e *Error
	if errors.As(err, &e) {
		status, reason = e.Status, e.Reason
	}
	if w.file != nil {
		w.file.Close()
	}
	*w = ResponseWriter{status: status, hdr: w.hdr[:0], body: w.body[:0], close: true}
	w.AddHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteString(reason)
	w.WriteString("\n")
	return w.appendTo(out, date)
}

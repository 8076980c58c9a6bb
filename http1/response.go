package http1

import (
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// ResponseWriter builds the response to one request. A handler sets the
// status (default 200), adds header fields and writes the body, or gives
// a file for the body with SendFile; when the handler returns, the writer
// puts the status line, the fields it owns (Date, Content-Length,
// Connection) and the handler's fields before the body, and queues the
// lot behind the responses to the requests before it. The body of a
// response to HEAD is left out, its Content-Length kept.
//
// A ResponseWriter is valid only during the handler's call, on the
// connection's loop, and is not safe for concurrent use. Its buffers are
// reused from one response to the next, so building a response allocates
// nothing once they have grown.
type ResponseWriter struct {
	status   int
	hdr      []byte // the handler's field lines
	body     []byte
	file     *os.File
	fileOff  int64
	fileN    int64
	noBody   bool // HEAD: everything but the body
	close    bool // "Connection: close", then close
	keepOpen bool // an HTTP/1.0 request that asked to keep the connection
}

func (w *ResponseWriter) reset(r *Request) {
	*w = ResponseWriter{
		status:   200,
		hdr:      w.hdr[:0],
		body:     w.body[:0],
		noBody:   string(r.Method) == "HEAD",
		close:    !r.KeepAlive,
		keepOpen: r.Minor == 0 && r.KeepAlive,
	}
}

// WriteHeader sets the response's status code; without a call it is 200.
// Codes without a body (1xx, 204, 304) get neither a body nor a
// Content-Length.
func (w *ResponseWriter) WriteHeader(status int) {
	if 100 <= status && status <= 999 {
		w.status = status
	}
}

// AddHeader adds the field "name: value". The writer owns Date,
// Content-Length, Transfer-Encoding and Connection: do not add those. A
// line break in value becomes a space, so that no value can end the head.
func (w *ResponseWriter) AddHeader(name, value string) {
	w.hdr = append(w.hdr, name...)
	w.hdr = append(w.hdr, ": "...)
	start := len(w.hdr)
	w.hdr = append(w.hdr, value...)
	w.hdr = append(noBreaks(w.hdr, start), "\r\n"...)
}

// AddHeaderBytes is AddHeader with a value in a byte slice, which is
// copied.
func (w *ResponseWriter) AddHeaderBytes(name string, value []byte) {
	w.hdr = append(w.hdr, name...)
	w.hdr = append(w.hdr, ": "...)
	start := len(w.hdr)
	w.hdr = append(w.hdr, value...)
	w.hdr = append(noBreaks(w.hdr, start), "\r\n"...)
}

func noBreaks(b []byte, from int) []byte {
	for i := from; i < len(b); i++ {
		if b[i] == '\r' || b[i] == '\n' {
			b[i] = ' '
		}
	}
	return b
}

// Write appends p to the body. It never fails.
func (w *ResponseWriter) Write(p []byte) (int, error) {
	w.body = append(w.body, p...)
	return len(p), nil
}

// WriteString appends s to the body. It never fails.
func (w *ResponseWriter) WriteString(s string) (int, error) {
	w.body = append(w.body, s...)
	return len(s), nil
}

// AvailableBuffer returns an empty slice with the body's spare capacity,
// as bufio.Writer's does: append to it (strconv.AppendInt, an encoder) and
// pass the result to Write, which then copies nothing. It is valid until
// the next call on w.
func (w *ResponseWriter) AvailableBuffer() []byte { return w.body[len(w.body):] }

// SendFile makes n bytes of f from offset off the body, in place of
// anything written: the kernel sends them from the file (Conn.SendFile)
// after the head. The writer takes f over and closes it once sent, when
// the connection closes, or at once for a HEAD request.
func (w *ResponseWriter) SendFile(f *os.File, off, n int64) {
	if w.file != nil {
		w.file.Close()
	}
	w.file, w.fileOff, w.fileN = f, off, n
}

// CloseConnection makes the response say "Connection: close" and the
// connection close once it is sent.
func (w *ResponseWriter) CloseConnection() { w.close = true }

// bodyless reports whether status forbids a body and a Content-Length.
func bodyless(status int) bool { return status < 200 || status == 204 || status == 304 }

// appendTo appends the whole response (but a file body) to out.
func (w *ResponseWriter) appendTo(out []byte, date *[dateLen]byte) []byte {
	out = append(out, "HTTP/1.1 "...)
	out = appendStatus(out, w.status)
	out = append(out, "Date: "...)
	out = append(out, date[:]...)
	out = append(out, "\r\n"...)
	out = append(out, w.hdr...)
	if !bodyless(w.status) {
		n := int64(len(w.body))
		if w.file != nil {
			n = w.fileN
		}
		out = append(out, "Content-Length: "...)
		out = strconv.AppendInt(out, n, 10)
		out = append(out, "\r\n"...)
	}
	switch {
	case w.close:
		out = append(out, "Connection: close\r\n"...)
	case w.keepOpen:
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	out = append(out, "\r\n"...)
	if !w.noBody && w.file == nil && !bodyless(w.status) {
		out = append(out, w.body...)
	}
	return out
}

// appendStatus appends "code reason\r\n".
func appendStatus(out []byte, code int) []byte {
	switch code {
	case 200:
		return append(out, "200 OK\r\n"...)
	case 404:
		return append(out, "404 Not Found\r\n"...)
	}
	out = strconv.AppendInt(out, int64(code), 10)
	out = append(out, ' ')
	out = append(out, StatusText(code)...)
	return append(out, "\r\n"...)
}

// StatusText returns the reason phrase of an HTTP status code, or
// "Status" for a code it does not know (the phrase is only a comment in
// HTTP/1.1).
func StatusText(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 204:
		return "No Content"
	case 206:
		return "Partial Content"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 304:
		return "Not Modified"
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 408:
		return "Request Timeout"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 416:
		return "Range Not Satisfiable"
	case 417:
		return "Expectation Failed"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 503:
		return "Service Unavailable"
	case 505:
		return "HTTP Version Not Supported"
	}
	return "Status"
}

// TimeFormat is the format of HTTP dates (RFC 9110 5.6.7), in UTC.
const TimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

const dateLen = len(TimeFormat)

// dateCache holds the Date field's value, formatted once per second for
// every connection of a handler.
type dateCache struct {
	v atomic.Pointer[dateStamp]
}

type dateStamp struct {
	sec int64
	b   [dateLen]byte
}

func (d *dateCache) get(now time.Time) *[dateLen]byte {
	sec := now.Unix()
	if s := d.v.Load(); s != nil && s.sec == sec {
		return &s.b
	}
	s := &dateStamp{sec: sec}
	now.UTC().AppendFormat(s.b[:0], TimeFormat)
	d.v.Store(s)
	return &s.b
}

package http1

import "bytes"

// Header is one header or trailer field as sent: Name and Value are
// subslices of the connection's input (Value without its surrounding
// spaces), valid as long as the Request is.
type Header struct {
	Name, Value []byte
}

// Request is one parsed request. Its byte slices point into the
// connection's input, never copies: they are valid only until the
// handler returns (or, for a Parser's caller, until the input changes).
type Request struct {
	Method []byte // "GET", "POST", ... as sent (methods are case-sensitive)
	Target []byte // the request-target as sent: "/path?query", "*", an absolute URI
	Minor  int    // HTTP/1.Minor: 0 or 1

	Headers  []Header // in order, Host and the framing fields included
	Trailers []Header // after a chunked body, in order
	Host     []byte   // the Host field (required in HTTP/1.1)

	// ContentLength is the body's declared length, or -1 for a chunked
	// body; 0 without a body.
	ContentLength int64
	// Body is the whole body, decoded when chunked.
	Body []byte

	// KeepAlive reports whether the connection may carry another request
	// after this one: HTTP/1.1 unless "Connection: close", HTTP/1.0 only
	// with "Connection: keep-alive".
	KeepAlive bool
	// Expect100 reports "Expect: 100-continue" in an HTTP/1.1 request.
	Expect100 bool
}

// Header returns the value of the first field named name (compared
// without regard to case), or nil.
func (r *Request) Header(name string) []byte {
	for i := range r.Headers {
		if equalFold(r.Headers[i].Name, name) {
			return r.Headers[i].Value
		}
	}
	return nil
}

// Path returns the request-target up to its '?', if any.
func (r *Request) Path() []byte {
	if i := bytes.IndexByte(r.Target, '?'); i >= 0 {
		return r.Target[:i]
	}
	return r.Target
}

// Query returns the request-target after its '?', or nil.
func (r *Request) Query() []byte {
	if i := bytes.IndexByte(r.Target, '?'); i >= 0 {
		return r.Target[i+1:]
	}
	return nil
}

// reset empties r, keeping the capacity of its field lists.
func (r *Request) reset() {
	*r = Request{Headers: r.Headers[:0], Trailers: r.Trailers[:0]}
}

// equalFold compares ASCII case-insensitively, without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

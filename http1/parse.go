package http1

import (
	"bytes"
	"strconv"
)

// The limits of a zero Limits.
const (
	DefaultMaxURI         = 8 << 10  // bytes of the request-target
	DefaultMaxHeaderBytes = 16 << 10 // bytes of the request line and headers, or of the trailers
	DefaultMaxHeaders     = 100      // header lines, or trailer lines
	DefaultMaxBody        = 8 << 20  // bytes of a body, decoded
)

const (
	maxMethod    = 32   // bytes of a method; no registered one comes close
	maxChunkLine = 4096 // bytes of a chunk-size line, extensions included
	versionLen   = len(" HTTP/1.1")
)

// Limits bounds the requests that a Parser accepts; a zero or negative
// field means its default. A Limits is a plain value, safe for concurrent
// use.
type Limits struct {
	MaxURI         int   // longest request-target; 414 past it
	MaxHeaderBytes int   // longest head (request line and headers), and longest trailer section; 431 past it
	MaxHeaders     int   // most header lines, and most trailer lines; 431 past it
	MaxBody        int64 // longest body, decoded; 413 past it
}

func (l Limits) orDefault() Limits {
	if l.MaxURI <= 0 {
		l.MaxURI = DefaultMaxURI
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	if l.MaxBody <= 0 {
		l.MaxBody = DefaultMaxBody
	}
	return l
}

// Error is a request the parser refuses. Status is the response it calls
// for: 400, 413, 414, 417, 431, 501 or 505. The input is unusable after
// it: a server answers Status with "Connection: close" and closes.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string {
	return "http1: " + strconv.Itoa(e.Status) + " " + StatusText(e.Status) + ": " + e.Reason
}

func fail(status int, reason string) error { return &Error{Status: status, Reason: reason} }

// The states of a Parser.
const (
	inHead      = iota // reading the request line and headers
	inBody             // waiting for a Content-Length body
	inChunkSize        // reading a chunk-size line
	inChunkData        // copying a chunk's data
	inChunkEnd         // reading the CRLF after a chunk's data
	inTrailers         // reading the trailer lines
)

// Parser reads the requests of one connection, one after another, as
// their bytes arrive. It keeps its place between calls, so bytes that
// arrive one read at a time are looked at once: a head's lines are
// searched from where the last search stopped, and a chunked body is
// decoded as it comes, in place, at the front of the body's bytes.
//
// The zero Parser is ready, with the default limits; set Limits before the
// first call. A Parser serves one connection and is not safe for
// concurrent use.
type Parser struct {
	Limits Limits

	lim   Limits // Limits with its defaults, from the first call on
	ready bool
	err   error // after an error, every call returns it

	state   int
	begin   int   // where the request line starts (after empty lines)
	line    int   // where the current line starts
	scanned int   // where the search for the current line's '\n' resumes
	fields  int   // header or trailer lines so far
	headEnd int   // where the body starts
	bodyEnd int   // a Content-Length body's end
	pos     int   // a chunked body: the next byte as sent
	out     int   // a chunked body: the end of the decoded bytes
	left    int64 // a chunk's bytes still to come
	trailer int   // where the trailer lines start
	stale   bool  // the head was parsed in an earlier call: parse it again
}

// Next parses the request at the start of buf into r. buf holds the input
// not yet consumed: after Next returns n > 0 (a whole request of n bytes,
// now in r), the next call's buf starts with the byte after it; after
// n == 0 (not all there yet), the next call's buf holds the same bytes
// followed by more. Next may rewrite the bytes of a chunked body in
// place; a caller that keeps the input must keep it as rewritten.
//
// When Next returns n == 0 with InBody true, r holds the request's head
// (until buf changes), so that a server may answer "Expect: 100-continue".
// err is an *Error, after which the stream is unusable.
func (p *Parser) Next(buf []byte, r *Request) (n int, err error) {
	if p.err != nil {
		return 0, p.err
	}
	if !p.ready {
		p.lim, p.ready = p.Limits.orDefault(), true
	}
	n, err = p.next(buf, r)
	switch {
	case err != nil:
		p.err = err
		return 0, err
	case n > 0:
		p.restart()
	case p.state != inHead:
		p.stale = true
	}
	return n, nil
}

// InBody reports whether the current request's head has been read and its
// body has not all arrived.
func (p *Parser) InBody() bool { return p.state != inHead && p.err == nil }

// Reset readies p for a new connection, keeping its Limits.
func (p *Parser) Reset() { *p = Parser{Limits: p.Limits} }

func (p *Parser) restart() { *p = Parser{Limits: p.Limits, lim: p.lim, ready: true} }

func (p *Parser) next(buf []byte, r *Request) (int, error) {
	if p.state == inHead {
		done, err := p.scanHead(buf)
		if !done || err != nil {
			return 0, err
		}
		if err := p.head(buf, r); err != nil {
			return 0, err
		}
		switch {
		case r.ContentLength < 0:
			p.state, p.pos, p.out = inChunkSize, p.headEnd, p.headEnd
			p.line, p.scanned = p.headEnd, p.headEnd
		default:
			p.state, p.bodyEnd = inBody, p.headEnd+int(r.ContentLength)
		}
	}
	if p.state == inBody {
		if len(buf) < p.bodyEnd {
			return 0, nil
		}
		if p.stale {
			if err := p.head(buf, r); err != nil {
				return 0, err
			}
		}
		r.Body = buf[p.headEnd:p.bodyEnd:p.bodyEnd]
		return p.bodyEnd, nil
	}
	end, err := p.chunks(buf)
	if end == 0 || err != nil {
		return 0, err
	}
	if p.stale {
		if err := p.head(buf, r); err != nil {
			return 0, err
		}
	}
	r.Body = buf[p.headEnd:p.out:p.out]
	if err := fields(buf[p.trailer:end], &r.Trailers, p.lim.MaxHeaders); err != nil {
		return 0, err
	}
	return end, nil
}

// scanHead finds the head's end, checking the limits line by line. It
// reports whether the head is whole.
func (p *Parser) scanHead(buf []byte) (bool, error) {
	lim := &p.lim
	for {
		i := bytes.IndexByte(buf[p.scanned:], '\n')
		if i < 0 {
			p.scanned = len(buf)
			return false, p.checkUnfinished(buf)
		}
		next := p.scanned + i + 1
		empty := next-p.line <= 2 && (next-p.line == 1 || buf[p.line] == '\r')
		switch {
		case p.line == p.begin && empty:
			// An empty line before a request line is ignored (RFC 9112
			// 2.2): some clients send CRLF after a body.
			if next > maxChunkLine {
				return false, fail(400, "empty lines before the request")
			}
			p.begin = next
		case p.line == p.begin:
			if next-p.begin > maxMethod+1+lim.MaxURI+versionLen+2 {
				return false, p.longLine(buf[p.begin:next])
			}
		case empty:
			p.headEnd = next
			if next-p.begin > lim.MaxHeaderBytes {
				return false, fail(431, "header section too large")
			}
			return true, nil
		default:
			if p.fields++; p.fields > lim.MaxHeaders {
				return false, fail(431, "too many header fields")
			}
		}
		if next-p.begin > lim.MaxHeaderBytes {
			return false, fail(431, "header section too large")
		}
		p.line, p.scanned = next, next
	}
}

// checkUnfinished refuses an unfinished head that is already over a
// limit. It looks at lengths only, so a head that arrives a byte at a
// time costs constant work per read.
func (p *Parser) checkUnfinished(buf []byte) error {
	if p.line == p.begin && len(buf)-p.begin > maxMethod+1+p.lim.MaxURI+versionLen+2 {
		return p.longLine(buf[p.begin:])
	}
	if len(buf)-p.begin > p.lim.MaxHeaderBytes {
		return fail(431, "header section too large")
	}
	return nil
}

// longLine says why a request line is too long: its target (414), or
// else its method (400).
func (p *Parser) longLine(line []byte) error {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 || sp > maxMethod {
		return fail(400, "malformed request line")
	}
	return fail(414, "request-target too long")
}

// head parses the head in buf[begin:headEnd] into r and checks what it
// says about the body and the connection.
func (p *Parser) head(buf []byte, r *Request) error {
	r.reset()
	b := buf[p.begin:p.headEnd]
	eol := bytes.IndexByte(b, '\n')
	if err := requestLine(trimCR(b[:eol]), r, p.lim.MaxURI); err != nil {
		return err
	}
	if err := fields(b[eol+1:], &r.Headers, p.lim.MaxHeaders); err != nil {
		return err
	}
	return semantics(r, p.lim.MaxBody)
}

// requestLine parses "METHOD SP target SP HTTP/1.x".
func requestLine(line []byte, r *Request, maxURI int) error {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || sp > maxMethod || !isToken(line[:sp]) {
		return fail(400, "malformed method")
	}
	r.Method = line[:sp:sp]
	rest := line[sp+1:]
	sp = bytes.IndexByte(rest, ' ')
	if sp <= 0 {
		return fail(400, "malformed request line")
	}
	if sp > maxURI {
		return fail(414, "request-target too long")
	}
	for _, c := range rest[:sp] {
		if c <= ' ' || c == 0x7f {
			return fail(400, "bad byte in request-target")
		}
	}
	r.Target = rest[:sp:sp]
	v := rest[sp+1:]
	switch {
	case string(v) == "HTTP/1.1":
		r.Minor = 1
	case string(v) == "HTTP/1.0":
		r.Minor = 0
	case len(v) == 8 && string(v[:5]) == "HTTP/" && isDigit(v[5]) && v[6] == '.' && isDigit(v[7]):
		return fail(505, "HTTP version not supported")
	default:
		return fail(400, "malformed HTTP version")
	}
	return nil
}

// fields parses the field lines of b (headers or trailers, each ending in
// "\n" or "\r\n", then an empty line) into *list.
func fields(b []byte, list *[]Header, max int) error {
	for len(b) > 0 {
		eol := bytes.IndexByte(b, '\n')
		line := trimCR(b[:eol])
		b = b[eol+1:]
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !isToken(line[:colon]) {
			// Also a line folded onto the one before (obs-fold), and a
			// space before the colon: both refused by RFC 9112 5.
			return fail(400, "malformed header field")
		}
		value := trimSpace(line[colon+1:])
		for _, c := range value {
			if c < ' ' && c != '\t' || c == 0x7f {
				return fail(400, "bad byte in header value")
			}
		}
		if len(*list) == max {
			return fail(431, "too many header fields")
		}
		*list = append(*list, Header{Name: line[:colon:colon], Value: value[:len(value):len(value)]})
	}
	return nil
}

// semantics reads the fields that frame the body and steer the
// connection. It refuses what could make two parties read one stream two
// ways (request smuggling): a length with a chunked body, two lengths,
// a transfer coding other than chunked alone.
func semantics(r *Request, maxBody int64) error {
	length, chunked, hosts := int64(-1), false, 0
	closeConn, keepAlive := false, false
	for _, h := range r.Headers {
		switch {
		case equalFold(h.Name, "Content-Length"):
			n, ok := parseLength(h.Value)
			switch {
			case !ok:
				return fail(400, "malformed Content-Length")
			case length >= 0 && n != length:
				return fail(400, "conflicting Content-Length fields")
			}
			length = n
		case equalFold(h.Name, "Transfer-Encoding"):
			if chunked || !equalFold(h.Value, "chunked") {
				return fail(501, "transfer coding not implemented (only chunked)")
			}
			chunked = true
		case equalFold(h.Name, "Host"):
			hosts++
			r.Host = h.Value
		case equalFold(h.Name, "Connection"):
			forTokens(h.Value, func(t []byte) {
				closeConn = closeConn || equalFold(t, "close")
				keepAlive = keepAlive || equalFold(t, "keep-alive")
			})
		case equalFold(h.Name, "Expect") && r.Minor == 1:
			if !equalFold(h.Value, "100-continue") {
				return fail(417, "unknown expectation")
			}
			r.Expect100 = true
		}
	}
	switch {
	case chunked && length >= 0:
		return fail(400, "both Content-Length and Transfer-Encoding")
	case chunked && r.Minor == 0:
		return fail(400, "Transfer-Encoding in HTTP/1.0")
	case hosts > 1 || hosts == 0 && r.Minor == 1:
		return fail(400, "an HTTP/1.1 request needs one Host field")
	case length > maxBody:
		return fail(413, "body too large")
	}
	switch {
	case chunked:
		r.ContentLength = -1
	case length > 0:
		r.ContentLength = length
	}
	r.KeepAlive = !closeConn && (r.Minor == 1 || keepAlive)
	return nil
}

// chunks decodes a chunked body as far as buf goes, copying each chunk's
// data to the end of the bytes decoded before it. It returns the end of
// the request once the trailer section is whole, else 0.
func (p *Parser) chunks(buf []byte) (int, error) {
	for {
		switch p.state {
		case inChunkSize:
			i := bytes.IndexByte(buf[p.scanned:], '\n')
			if i < 0 {
				p.scanned = len(buf)
				if len(buf)-p.line > maxChunkLine {
					return 0, fail(400, "chunk-size line too long")
				}
				return 0, nil
			}
			next := p.scanned + i + 1
			if next-p.line > maxChunkLine {
				return 0, fail(400, "chunk-size line too long")
			}
			size, err := chunkSize(trimCR(buf[p.line : next-1]))
			if err != nil {
				return 0, err
			}
			if size > p.lim.MaxBody-int64(p.out-p.headEnd) {
				return 0, fail(413, "body too large")
			}
			p.pos = next
			if size == 0 {
				p.state, p.trailer, p.line, p.scanned, p.fields = inTrailers, next, next, next, 0
				continue
			}
			p.state, p.left = inChunkData, size
		case inChunkData:
			take := min(int64(len(buf)-p.pos), p.left)
			copy(buf[p.out:], buf[p.pos:p.pos+int(take)])
			p.out += int(take)
			p.pos += int(take)
			if p.left -= take; p.left > 0 {
				return 0, nil
			}
			p.state = inChunkEnd
		case inChunkEnd:
			switch {
			case len(buf)-p.pos >= 1 && buf[p.pos] == '\n':
				p.pos++
			case len(buf)-p.pos >= 2 && buf[p.pos] == '\r' && buf[p.pos+1] == '\n':
				p.pos += 2
			case len(buf)-p.pos == 0 || len(buf)-p.pos == 1 && buf[p.pos] == '\r':
				return 0, nil
			default:
				return 0, fail(400, "chunk data not followed by CRLF")
			}
			p.state, p.line, p.scanned = inChunkSize, p.pos, p.pos
		case inTrailers:
			i := bytes.IndexByte(buf[p.scanned:], '\n')
			if i < 0 {
				p.scanned = len(buf)
				if len(buf)-p.trailer > p.lim.MaxHeaderBytes {
					return 0, fail(431, "trailer section too large")
				}
				return 0, nil
			}
			next := p.scanned + i + 1
			if next-p.trailer > p.lim.MaxHeaderBytes {
				return 0, fail(431, "trailer section too large")
			}
			if next-p.line <= 2 && (next-p.line == 1 || buf[p.line] == '\r') {
				return next, nil
			}
			if p.fields++; p.fields > p.lim.MaxHeaders {
				return 0, fail(431, "too many trailer fields")
			}
			p.line, p.scanned = next, next
		}
	}
}

// chunkSize parses "HEX[;ext...]", spaces allowed before the ';'.
func chunkSize(line []byte) (int64, error) {
	var n int64
	i := 0
	for ; i < len(line); i++ {
		d := unhex(line[i])
		if d < 0 {
			break
		}
		if n > (1<<62)>>4 {
			return 0, fail(413, "chunk too large")
		}
		n = n<<4 | int64(d)
	}
	if i == 0 {
		return 0, fail(400, "malformed chunk size")
	}
	rest := trimSpace(line[i:])
	if len(rest) > 0 && rest[0] != ';' {
		return 0, fail(400, "malformed chunk size")
	}
	for _, c := range rest {
		if c < ' ' && c != '\t' || c == 0x7f {
			return 0, fail(400, "bad byte in chunk extension")
		}
	}
	return n, nil
}

// parseLength parses a Content-Length: digits only, no sign, no list.
func parseLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// forTokens calls fn with each element of a comma-separated list.
func forTokens(b []byte, fn func([]byte)) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, ',')
		if i < 0 {
			i = len(b)
		}
		if t := trimSpace(b[:i]); len(t) > 0 {
			fn(t)
		}
		b = b[min(i+1, len(b)):]
	}
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// isToken reports whether b is an RFC 9110 token (a method, a field name).
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenChar[c] {
			return false
		}
	}
	return true
}

// tokenChar holds the bytes a token may contain; it is never written after
// it is built.
var tokenChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// Package http1 serves HTTP/1.1 (and 1.0) on proactor: a request parser
// that works on bytes as they arrive, a response writer that allocates
// nothing per response once warm, and a proactor.Handler that joins them,
// so that an HTTP service runs on proactor's loops with curl, wrk, browsers
// and Go's net/http client as its clients.
//
// # Parsing
//
// A Parser reads one connection's requests: the request line, the header
// fields, and a body framed by Content-Length or chunked (with its
// trailer fields). It is incremental: OnData's reads are fed to Next as
// they come, and Next keeps its place between calls, so a request that
// arrives a byte at a time is looked at once, never searched again from
// its start; a chunked body is decoded in place as its chunks arrive.
// Every slice of a Request (method, target, fields, body) points into the
// input; nothing is copied.
//
// What could let two parties read one stream two ways is refused: a
// Content-Length with Transfer-Encoding, two different lengths, a coding
// other than chunked alone, a space before a field's colon, a folded line,
// an HTTP/1.1 request without exactly one Host. The limits (Limits) are on
// the request-target (414), the head's bytes and its field count (431),
// and the body (413): a request is refused as soon as its bytes prove it
// over one, so a client can make a server hold no more than the limits
// plus one read. A refused request is an *Error carrying the status to
// answer; the stream is unusable after it.
//
// # Serving
//
// Handler (NewHandler) is a proactor.Handler that runs a HandlerFunc for
// each request, on the connection's loop. Each read's whole requests are
// answered in order into one buffer and written with one Write, so a
// pipelining client (wrk with a pipeline script, h2load) costs one write
// per read. A connection is kept alive as the request says: HTTP/1.1
// unless "Connection: close", HTTP/1.0 only with "Connection: keep-alive".
// For "Expect: 100-continue" the handler sends "100 Continue" once the
// head is read and the body is not all there; a body over the limit is
// refused with 413 before the client sends it. A refused request gets its
// status with "Connection: close", after the responses to the requests
// before it, and the connection closes once they are sent. A write the
// connection refuses (it is closing, or its queue is full) aborts it.
//
// The header read timeout is proactor's read timeout (Options): without a
// framer it runs from a request's first unanswered byte until the server
// writes, so a head or a body that trickles in is cut off, and a
// kept-alive connection between requests is bounded by the idle timeout
// instead.
//
// # Responses
//
// A ResponseWriter builds one response: status, fields, and a body
// written to it or sent from a file by the kernel (SendFile, zero copy).
// It adds Date (formatted once a second for all connections),
// Content-Length and Connection itself, and leaves the body out for HEAD
// while keeping its length.
package http1

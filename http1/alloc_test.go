//go:build !race

package http1

import (
	"testing"
	"time"
)

// TestServeAllocs asserts that parsing a pipelined read of requests and
// building their responses allocates nothing once the buffers have grown:
// the per-request hot path. The race detector allocates on its own, hence
// the build tag.
func TestServeAllocs(t *testing.T) {
	in := []byte("GET /plaintext HTTP/1.1\r\nHost: a\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n" +
		"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	buf := make([]byte, len(in))
	var p Parser
	var r Request
	var w ResponseWriter
	var dates dateCache
	out := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(200, func() {
		copy(buf, in) // the chunked body is decoded in place
		date := dates.get(time.Unix(1700000000, 0))
		out = out[:0]
		for b := buf; len(b) > 0; {
			n, err := p.Next(b, &r)
			if err != nil || n == 0 {
				t.Fatalf("n %d err %v", n, err)
			}
			w.reset(&r)
			w.AddHeader("Content-Type", "text/plain")
			w.Write(r.Body)
			out = w.appendTo(out, date)
			b = b[n:]
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per read of two requests, want 0", allocs)
	}
}

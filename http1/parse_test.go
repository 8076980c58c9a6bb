package http1

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// got is a parsed request, copied out of the input.
type got struct {
	method, target, body string
	minor                int
	headers, trailers    string // "name=value;" each
	length               int64
	keepAlive, expect    bool
}

func copyOut(r *Request) got {
	g := got{method: string(r.Method), target: string(r.Target), body: string(r.Body), minor: r.Minor,
		length: r.ContentLength, keepAlive: r.KeepAlive, expect: r.Expect100}
	for _, h := range r.Headers {
		g.headers += string(h.Name) + "=" + string(h.Value) + ";"
	}
	for _, h := range r.Trailers {
		g.trailers += string(h.Name) + "=" + string(h.Value) + ";"
	}
	return g
}

// feed gives input to a Parser in pieces cut at cuts (increasing
// offsets), keeping the unconsumed input between pieces as a server does,
// and returns the requests and the first error.
func feed(lim Limits, input string, cuts ...int) ([]got, error) {
	p := Parser{Limits: lim}
	var r Request
	var reqs []got
	var tail []byte
	prev := 0
	for _, end := range append(cuts, len(input)) {
		tail = append(tail, input[prev:end]...)
		prev = end
		for {
			n, err := p.Next(tail, &r)
			if err != nil {
				return reqs, err
			}
			if n == 0 {
				break
			}
			reqs = append(reqs, copyOut(&r))
			tail = tail[n:]
		}
		tail = append([]byte(nil), tail...) // a fresh buffer, as a tail that moved
	}
	return reqs, nil
}

func status(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func TestParseRequests(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []got
	}{
		{
			name:  "get",
			input: "GET /plaintext HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n",
			want:  []got{{method: "GET", target: "/plaintext", minor: 1, headers: "Host=a;Accept=*/*;", keepAlive: true}},
		},
		{
			name:  "bare LF and spaces around the value",
			input: "GET / HTTP/1.1\nHost:   a \t\n\n",
			want:  []got{{method: "GET", target: "/", minor: 1, headers: "Host=a;", keepAlive: true}},
		},
		{
			name:  "http/1.0 closes unless asked",
			input: "GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
			want: []got{{method: "GET", target: "/"},
				{method: "GET", target: "/", headers: "Connection=Keep-Alive;", keepAlive: true}},
		},
		{
			name:  "connection close in a list",
			input: "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n",
			want:  []got{{method: "GET", target: "/", minor: 1, headers: "Host=a;Connection=foo, close;"}},
		},
		{
			name:  "content-length body then pipelined get",
			input: "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /x?q=1 HTTP/1.1\r\nHost: a\r\n\r\n",
			want: []got{
				{method: "POST", target: "/echo", minor: 1, headers: "Host=a;Content-Length=5;", body: "hello", length: 5, keepAlive: true},
				{method: "GET", target: "/x?q=1", minor: 1, headers: "Host=a;", keepAlive: true},
			},
		},
		{
			name: "chunked with extension and trailers",
			input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
				"5;name=v\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Sum: 1\r\nY: 2\r\n\r\n",
			want: []got{{method: "POST", target: "/", minor: 1, headers: "Host=a;Transfer-Encoding=chunked;",
				body: "hello, world!!!", length: -1, keepAlive: true, trailers: "X-Sum=1;Y=2;"}},
		},
		{
			name:  "expect 100-continue",
			input: "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
			want: []got{{method: "PUT", target: "/f", minor: 1, headers: "Host=a;Expect=100-continue;Content-Length=2;",
				body: "ok", length: 2, keepAlive: true, expect: true}},
		},
		{
			name:  "empty lines before a request are skipped",
			input: "\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
			want:  []got{{method: "GET", target: "/", minor: 1, headers: "Host=a;", keepAlive: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Whole, then cut at every byte, then one byte at a time.
			check := func(how string, reqs []got, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", how, err)
				}
				if fmt.Sprint(reqs) != fmt.Sprint(tt.want) {
					t.Fatalf("%s:\n got %+v\nwant %+v", how, reqs, tt.want)
				}
			}
			reqs, err := feed(Limits{}, tt.input)
			check("whole", reqs, err)
			for i := 1; i < len(tt.input); i++ {
				reqs, err := feed(Limits{}, tt.input, i)
				check(fmt.Sprintf("cut at %d", i), reqs, err)
			}
			cuts := make([]int, 0, len(tt.input))
			for i := 1; i < len(tt.input); i++ {
				cuts = append(cuts, i)
			}
			reqs, err = feed(Limits{}, tt.input, cuts...)
			check("byte by byte", reqs, err)
		})
	}
}

func TestParseRefusals(t *testing.T) {
	small := Limits{MaxURI: 16, MaxHeaderBytes: 128, MaxHeaders: 3, MaxBody: 10}
	long := strings.Repeat("a", 200)
	tests := []struct {
		name   string
		lim    Limits
		input  string
		status int
	}{
		{"no host in 1.1", Limits{}, "GET / HTTP/1.1\r\n\r\n", 400},
		{"two hosts", Limits{}, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"bad method", Limits{}, "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"no target", Limits{}, "GET HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"control byte in target", Limits{}, "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"version 2", Limits{}, "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
		{"garbage version", Limits{}, "GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400},
		{"space before colon", Limits{}, "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
		{"folded line", Limits{}, "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", 400},
		{"no colon", Limits{}, "GET / HTTP/1.1\r\nHost a\r\n\r\n", 400},
		{"NUL in value", Limits{}, "GET / HTTP/1.1\r\nHost: a\x00\r\n\r\n", 400},
		{"signed length", Limits{}, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", 400},
		{"two lengths", Limits{}, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
		{"length and chunked", Limits{}, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"gzip coding", Limits{}, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
		{"chunked in 1.0", Limits{}, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"bad chunk size", Limits{}, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
		{"chunk without CRLF", Limits{}, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n", 400},
		{"unknown expectation", Limits{}, "GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 417},
		{"uri too long", small, "GET /" + long + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
		{"uri too long, unfinished", small, "GET /" + long, 414},
		{"method too long, unfinished", small, long, 400},
		{"too many headers", small, "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431},
		{"head too large", small, "GET / HTTP/1.1\r\nHost: a\r\nA: " + long + "\r\n\r\n", 431},
		{"head too large, unfinished", small, "GET / HTTP/1.1\r\nHost: a\r\nA: " + long, 431},
		{"body too large", small, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", 413},
		{"chunked too large", small, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\n", 413},
		{"chunk size overflow", Limits{}, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n", 413},
		{"too many trailers", small, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431},
		{"trailers too large", small, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: " + long, 431},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i < len(tt.input); i++ {
				cuts := []int{i}
				if i == 0 {
					cuts = nil
				}
				_, err := feed(tt.lim, tt.input, cuts...)
				if status(err) != tt.status {
					t.Fatalf("cut at %d: err %v, want status %d", i, err, tt.status)
				}
			}
		})
	}
}

// TestParseResumes checks that a head arriving a byte at a time is
// searched once: the parser's search position only moves forward.
func TestParseResumes(t *testing.T) {
	input := "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X-Pad: 0123456789\r\n", 50) + "\r\n"
	var p Parser
	var r Request
	last := 0
	for i := 1; i <= len(input); i++ {
		n, err := p.Next([]byte(input[:i]), &r)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			if i != len(input) {
				t.Fatalf("request complete at %d of %d bytes", i, len(input))
			}
			return
		}
		if p.scanned != i || p.scanned < last {
			t.Fatalf("after %d bytes the search stands at %d (was %d)", i, p.scanned, last)
		}
		last = p.scanned
	}
	t.Fatal("request never complete")
}

// TestParseErrorSticks checks that a parser refuses everything after an
// error, so that no caller reads past a refused request.
func TestParseErrorSticks(t *testing.T) {
	var p Parser
	var r Request
	if _, err := p.Next([]byte("BAD\x00 / HTTP/1.1\r\n\r\n"), &r); status(err) != 400 {
		t.Fatalf("err %v, want 400", err)
	}
	if n, err := p.Next([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), &r); n != 0 || status(err) != 400 {
		t.Fatalf("after an error: n %d err %v", n, err)
	}
}

package http1_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/http1"

	"github.com/seed487d475b/proactor/internal/servertest"
)

// waitLimit bounds every wait on the server, so that a bug fails the test
// instead of hanging it; nothing waits for it to pass.
const waitLimit = 20 * time.Second

// forEachEngine runs fn in a parallel subtest per engine.
func forEachEngine(t *testing.T, fn func(t *testing.T, engine string)) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			fn(t, engine)
		})
	}
}

// echo answers with the method, the target and the body, so that a test
// sees which request a response belongs to.
func echo(w *http1.ResponseWriter, r *http1.Request) {
	w.AddHeader("Content-Type", "text/plain")
	fmt.Fprintf(w, "%s %s %s", r.Method, r.Target, r.Body)
	if string(r.Target) == "/close" {
		w.CloseConnection()
	}
}

// start serves echo with two loops on a free port until the test ends.
func start(t *testing.T, engine string, lim http1.Limits, opts ...proactor.Option) string {
	t.Helper()
	srv, err := proactor.NewServer(http1.NewHandler(echo, http1.WithLimits(lim)),
		proactor.WithEngineName(engine), proactor.WithLoops(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	addr, err := srv.Listen("127.0.0.1:0", append(http1.Options(), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return addr.String()
}

type client struct{ *servertest.Client }

func dial(t *testing.T, addr string) *client {
	return &client{servertest.Dial(t, addr, waitLimit)}
}

// expect reads one response (to a request of method) with net/http's
// reader and checks its status and body.
func (cl *client) expect(method string, status int, body string) *http.Response {
	cl.T.Helper()
	resp, err := http.ReadResponse(cl.R, &http.Request{Method: method})
	if err != nil {
		cl.T.Fatalf("reading the response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		cl.T.Fatalf("reading the body: %v", err)
	}
	if resp.StatusCode != status || body != "" && string(b) != body {
		cl.T.Fatalf("got %d %q, want %d %q", resp.StatusCode, b, status, body)
	}
	return resp
}

// expectEOF checks that the server closes the connection.
func (cl *client) expectEOF() {
	cl.T.Helper()
	if b, err := cl.R.ReadByte(); err == nil {
		cl.T.Fatalf("read %q, want the connection closed", b)
	}
}

func TestPipelining(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		cl := dial(t, start(t, engine, http1.Limits{}))
		cl.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n" +
			"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
			"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n" +
			"HEAD /d HTTP/1.1\r\nHost: x\r\n\r\n" +
			"GET /e HTTP/1.1\r\nHost: x\r\n\r\n")
		cl.expect("GET", 200, "GET /a ")
		cl.expect("POST", 200, "POST /b abc")
		cl.expect("POST", 200, "POST /c def")
		if resp := cl.expect("HEAD", 200, ""); resp.ContentLength != int64(len("HEAD /d ")) {
			t.Fatalf("HEAD: Content-Length %d", resp.ContentLength)
		}
		resp := cl.expect("GET", 200, "GET /e ")
		if resp.Header.Get("Date") == "" || resp.Close {
			t.Fatalf("header %v, close %v", resp.Header, resp.Close)
		}
	})
}

// TestByteByByte sends requests one byte per write: the server parses
// them from whatever reads the bytes arrive in.
func TestByteByByte(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		cl := dial(t, start(t, engine, http1.Limits{}))
		req := "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n" +
			"GET /y HTTP/1.1\r\nHost: x\r\n\r\n"
		for i := range len(req) {
			cl.Send(req[i : i+1])
		}
		cl.expect("POST", 200, "POST /x abc")
		cl.expect("GET", 200, "GET /y ")
	})
}

func TestExpectContinue(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		addr := start(t, engine, http1.Limits{MaxBody: 100})
		cl := dial(t, addr)
		cl.Send("PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		cl.expect("PUT", 100, "")
		cl.Send("hello")
		cl.expect("PUT", 200, "PUT /f hello")

		// Too large: refused before the body is sent.
		cl = dial(t, addr)
		cl.Send("PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 101\r\n\r\n")
		if resp := cl.expect("PUT", 413, ""); !resp.Close {
			t.Fatal("413 without Connection: close")
		}
		cl.expectEOF()
	})
}

func TestKeepAlive(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		addr := start(t, engine, http1.Limits{})
		cl := dial(t, addr)
		cl.Send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		if resp := cl.expect("GET", 200, "GET /a "); resp.Header.Get("Connection") != "keep-alive" {
			t.Fatalf("HTTP/1.0 keep-alive answered with Connection %q", resp.Header.Get("Connection"))
		}
		cl.Send("GET /b HTTP/1.0\r\n\r\nGET /ignored HTTP/1.0\r\n\r\n")
		if resp := cl.expect("GET", 200, "GET /b "); !resp.Close {
			t.Fatal("HTTP/1.0 without keep-alive not closed")
		}
		cl.expectEOF()

		for _, req := range []string{
			"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			"GET /close HTTP/1.1\r\nHost: x\r\n\r\n", // the handler closes
		} {
			cl = dial(t, addr)
			cl.Send(req + "GET /ignored HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp := cl.expect("GET", 200, ""); !resp.Close {
				t.Fatalf("%q: no Connection: close", req)
			}
			cl.expectEOF()
		}
	})
}

// TestRefusals checks that a bad request gets its status and
// "Connection: close" after the responses to the requests before it, and
// that the connection closes.
func TestRefusals(t *testing.T) {
	lim := http1.Limits{MaxURI: 64, MaxHeaderBytes: 512, MaxHeaders: 4, MaxBody: 16}
	long := strings.Repeat("a", 600)
	tests := []struct {
		name   string
		req    string
		status int
	}{
		{"malformed", "GET / HTTP/1.1\r\nHost x\r\n\r\n", 400},
		{"no host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"body too large", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n", 413},
		{"chunked too large", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n11\r\n", 413},
		{"uri too long", "GET /" + long + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
		{"uri too long, unfinished", "GET /" + long, 414},
		{"headers too large", "GET / HTTP/1.1\r\nHost: x\r\nA: " + long + "\r\n\r\n", 431},
		{"too many headers", "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431},
		{"gzip", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"http/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		addr := start(t, engine, lim)
		for _, tt := range tests {
			cl := dial(t, addr)
			cl.Send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n" + tt.req)
			cl.expect("GET", 200, "GET /first ")
			resp := cl.expect("GET", tt.status, "")
			if !resp.Close {
				t.Fatalf("%s: %d without Connection: close", tt.name, tt.status)
			}
			cl.expectEOF()
		}
	})
}

// TestReadTimeout checks that a head left unfinished is cut off by the
// read timeout, and that a kept-alive connection between requests is not.
func TestReadTimeout(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		addr := start(t, engine, http1.Limits{}, proactor.WithReadTimeout(300*time.Millisecond))
		idle := dial(t, addr)
		idle.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
		idle.expect("GET", 200, "GET /a ")

		slow := dial(t, addr)
		begun := time.Now()
		slow.Send("GET /slow HTTP/1.1\r\nHost: x\r\n")
		slow.expectEOF()
		if d := time.Since(begun); d < 300*time.Millisecond {
			t.Fatalf("closed after %v, before the read timeout", d)
		}
		// The idle one has outlived the timeout and still works.
		idle.Send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
		idle.expect("GET", 200, "GET /b ")
	})
}

// TestNetHTTPClient drives the server with Go's client: keep-alive reuse,
// a chunked upload (a body of unknown length) and a large body.
func TestNetHTTPClient(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		addr := start(t, engine, http1.Limits{})
		tr := &http.Transport{MaxIdleConnsPerHost: 1}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr, Timeout: waitLimit}
		big := strings.Repeat("0123456789", 100_000)
		for i, body := range []string{"", "small", big} {
			var r io.Reader = strings.NewReader(body)
			if i == 1 {
				r = io.MultiReader(r) // unknown length: sent chunked
			}
			resp, err := client.Post("http://"+addr+"/p", "text/plain", r)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(b) != "POST /p "+body {
				t.Fatalf("body %d: %d bytes back, err %v", i, len(b), err)
			}
		}
	})
}

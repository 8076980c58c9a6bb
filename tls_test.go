package proactor_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/codec"
	"github.com/seed487d475b/proactor/internal/selfcert"
)

// TLS on every engine: the handshake in a goroutine, then the record layer
// on the loop. Peers here are crypto/tls clients and raw sockets that speak
// bad TLS; openssl's client is in the CLI's tests.

type tlsHandler struct {
	proactor.BaseHandler
	opened chan *proactor.Conn
	closed chan error
	onData func(c *proactor.Conn, p []byte)
	onPeer func(c *proactor.Conn)
}

func newTLSHandler() *tlsHandler {
	return &tlsHandler{opened: make(chan *proactor.Conn, 64), closed: make(chan error, 64)}
}

func (h *tlsHandler) OnOpen(c *proactor.Conn) { h.opened <- c }

func (h *tlsHandler) OnData(c *proactor.Conn, p []byte) {
	if h.onData != nil {
		h.onData(c, p)
		return
	}
	if _, err := c.Write(p); err != nil {
		c.Abort()
	}
}

func (h *tlsHandler) OnPeerClosed(c *proactor.Conn) {
	if h.onPeer != nil {
		h.onPeer(c)
		return
	}
	c.Close()
}

func (h *tlsHandler) OnClose(c *proactor.Conn, err error) { h.closed <- err }

type tlsFixture struct {
	srv    *proactor.Server
	addr   string
	client *tls.Config // trusts the server's certificate
	server *tls.Config
}

var (
	certOnce sync.Once
	testCert tls.Certificate
)

func tlsServe(t *testing.T, engine string, h proactor.Handler, opts ...proactor.Option) tlsFixture {
	t.Helper()
	certOnce.Do(func() {
		var err error
		if testCert, _, err = selfcert.New(time.Hour); err != nil {
			panic(err)
		}
	})
	server := &tls.Config{Certificates: []tls.Certificate{testCert}, NextProtos: []string{"echo/1"}}
	all := append([]proactor.Option{proactor.WithEngineName(engine), proactor.WithLoops(2), proactor.WithTLS(server)}, opts...)
	srv, err := proactor.NewServer(h, all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	a, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	client := &tls.Config{RootCAs: selfcert.Pool(testCert.Leaf), ServerName: "127.0.0.1", NextProtos: []string{"echo/1"}}
	return tlsFixture{srv: srv, addr: a.String(), client: client, server: server}
}

func (f tlsFixture) dial(t *testing.T) *tls.Conn {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", f.addr, f.client)
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

func rawDial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func eachEngine(t *testing.T, fn func(t *testing.T, engine string)) {
	for _, e := range proactor.Engines() {
		t.Run(e, func(t *testing.T) { fn(t, e) })
	}
}

func payload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i/251)
	}
	return p
}

// A megabyte each way, the negotiated state on both sides, and the close
// that follows the client's close_notify and FIN.
func TestTLSEcho(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		h := newTLSHandler()
		f := tlsServe(t, engine, h)
		c := f.dial(t)
		sc := await(t, h.opened, "OnOpen")
		st, ok := sc.TLS()
		if !ok || st.Version != tls.VersionTLS13 || st.NegotiatedProtocol != "echo/1" {
			t.Fatalf("server's TLS state: %v %x %q", ok, st.Version, st.NegotiatedProtocol)
		}
		msg := payload(1 << 20)
		go c.Write(msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo: %v", err)
		}
		c.Close() // close_notify, then FIN
		if err := await(t, h.closed, "OnClose"); err != nil {
			t.Fatalf("OnClose(%v); want a clean close", err)
		}
		if st := f.srv.Stats(); st.TLSHandshakes != 1 || st.Accepted != 1 {
			t.Fatalf("stats: %+v", st)
		}
	})
}

// TLS 1.2 too, and frames (1-byte length header) arriving one byte per
// record are reassembled from the plaintext.
func TestTLS12Framed(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		h := newTLSHandler()
		frames := make(chan string, 16)
		h.onData = func(c *proactor.Conn, p []byte) { frames <- string(p) }
		f := tlsServe(t, engine, h, proactor.WithFramer(codec.LengthPrefixed{HeaderSize: 1, MaxFrame: 255}))
		f.client.MaxVersion = tls.VersionTLS12
		c := f.dial(t)
		for _, b := range []byte("\x05hello\x03abc") {
			if _, err := c.Write([]byte{b}); err != nil {
				t.Fatal(err)
			}
		}
		if a, b := await(t, frames, "frame 1"), await(t, frames, "frame 2"); a != "\x05hello" || b != "\x03abc" {
			t.Fatalf("frames %q %q", a, b)
		}
		sc := await(t, h.opened, "OnOpen")
		if st, _ := sc.TLS(); st.Version != tls.VersionTLS12 {
			t.Fatalf("version %x; want TLS 1.2", st.Version)
		}
	})
}

// Half-close: the client's close_notify and FIN make OnPeerClosed, after
// which the server still writes; its Close sends close_notify, then FIN.
func TestTLSHalfClose(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		h := newTLSHandler()
		h.onPeer = func(c *proactor.Conn) {
			c.Write([]byte("bye"))
			c.Close()
		}
		f := tlsServe(t, engine, h)
		c := f.dial(t)
		c.Write([]byte("ping"))
		if err := c.CloseWrite(); err != nil { // close_notify
			t.Fatal(err)
		}
		c.NetConn().(*net.TCPConn).CloseWrite() // FIN
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "pingbye" {
			t.Fatalf("read %q, %v; want pingbye and a clean end (close_notify)", got, err)
		}
		if err := await(t, h.closed, "OnClose"); err != nil {
			t.Fatalf("OnClose(%v)", err)
		}
	})
}

// The three close modes, as the peer sees them.
func TestTLSCloseModes(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		h := newTLSHandler()
		f := tlsServe(t, engine, h)

		c := f.dial(t)
		sc := await(t, h.opened, "OnOpen")
		sc.Write([]byte("last"))
		sc.Close()
		if got, err := io.ReadAll(c); err != nil || string(got) != "last" {
			t.Fatalf("after Close: %q, %v; want the data and close_notify", got, err)
		}
		c.Close()
		await(t, h.closed, "OnClose after Close")

		c = f.dial(t)
		sc = await(t, h.opened, "OnOpen")
		sc.Abort()
		if _, err := io.ReadAll(c); !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("after Abort: %v; want a reset", err)
		}
		if err := await(t, h.closed, "OnClose after Abort"); !errors.Is(err, proactor.ErrAborted) {
			t.Fatalf("OnClose(%v)", err)
		}

		c = f.dial(t)
		sc = await(t, h.opened, "OnOpen")
		sc.Write([]byte("half"))
		sc.CloseWrite()
		if got, err := io.ReadAll(c); err != nil || string(got) != "half" {
			t.Fatalf("after CloseWrite: %q, %v", got, err)
		}
		if _, err := sc.Write([]byte("more")); !errors.Is(err, proactor.ErrClosed) {
			t.Fatalf("Write after CloseWrite: %v", err)
		}
		c.Write([]byte("still")) // the server still reads, and echo fails: it aborts
		c.Close()
		await(t, h.closed, "OnClose after CloseWrite")
	})
}

// Backpressure holds over TLS: a peer that sends without reading stops
// being read; when it reads, every byte comes back.
func TestTLSBackpressure(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		h := newTLSHandler()
		f := tlsServe(t, engine, h, proactor.WithWriteWatermarks(256<<10, 64<<10))
		c := f.dial(t)
		msg := payload(8 << 20)
		sent := make(chan error, 1)
		go func() { _, err := c.Write(msg); sent <- err }()
		for f.srv.Stats().ReadPauses == 0 {
			time.Sleep(5 * time.Millisecond) // counters have no event
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo: %v", err)
		}
		if err := await(t, sent, "the writer"); err != nil {
			t.Fatal(err)
		}
	})
}

// Clients that never finish a handshake: silent, half a ClientHello, or
// holding the only handshake slot.
func TestTLSHandshakeBounds(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		h := newTLSHandler()
		f := tlsServe(t, engine, h, proactor.WithTLSHandshakeTimeout(300*time.Millisecond), proactor.WithTLSHandshakeLimit(2))
		silent := rawDial(t, f.addr)
		half := rawDial(t, f.addr)
		half.Write([]byte{0x16, 0x03, 0x01, 0x00, 0xc0, 0x01, 0x00, 0x00}) // a ClientHello's first bytes
		// The third is reset at once: connect itself may report it.
		busy, err := net.DialTimeout("tcp", f.addr, 10*time.Second)
		if err == nil {
			defer busy.Close()
			if _, err = io.ReadAll(busy); !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("a handshake past the limit: %v; want a reset", err)
			}
		} else if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("a handshake past the limit: %v; want a reset", err)
		}
		start := time.Now()
		for _, c := range []*net.TCPConn{silent, half} {
			if _, err := io.ReadAll(c); !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("stalled handshake: %v; want a reset", err)
			}
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("stalled handshakes lived %v; the timeout is 300ms", d)
		}
		st := f.srv.Stats()
		if st.TLSFailures.Timeout != 2 || st.TLSHandshakeTimeouts != 2 || st.TLSFailures.Busy != 1 || st.Accepted != 0 || st.Closed != 0 {
			t.Fatalf("stats: %+v", st)
		}
		select {
		case <-h.opened:
			t.Fatal("OnOpen for a connection whose handshake failed")
		case err := <-h.closed:
			t.Fatalf("OnClose(%v) for a connection that never opened", err)
		default:
		}
		f.dial(t) // the server goes on
		await(t, h.opened, "OnOpen")
	})
}

// Bad input ends in a clear, counted error: garbage instead of a
// ClientHello, an oversize record, a certificate the client refuses, an
// expired certificate, and an oversize record on an established connection.
func TestTLSBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		h := newTLSHandler()
		f := tlsServe(t, engine, h)
		garbage := rawDial(t, f.addr)
		garbage.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		io.ReadAll(garbage)
		oversize := rawDial(t, f.addr)
		oversize.Write([]byte{0x16, 0x03, 0x01, 0xff, 0xff})
		io.ReadAll(oversize)

		untrusting := &tls.Config{ServerName: "127.0.0.1"} // the system's roots: our certificate is unknown
		if c, err := tls.Dial("tcp", f.addr, untrusting); err == nil {
			c.Close()
			t.Fatal("a client that does not trust the certificate completed the handshake")
		}
		waitStats(t, f.srv, func(st proactor.Stats) bool {
			return st.TLSFailures.NotTLS == 2 && st.TLSFailures.Certificate == 1
		})

		// An established connection sent a record over the size limit.
		c := f.dial(t)
		sc := await(t, h.opened, "OnOpen")
		_ = sc
		c.NetConn().Write([]byte{0x17, 0x03, 0x03, 0xff, 0xff})
		err := await(t, h.closed, "OnClose")
		var te *proactor.TLSError
		if !errors.As(err, &te) || te.Handshake {
			t.Fatalf("OnClose(%v); want a record-layer *TLSError", err)
		}
		if st := f.srv.Stats(); st.TLSRecordErrors != 1 {
			t.Fatalf("stats: %+v", st)
		}
	})
}

func TestTLSExpiredCertificate(t *testing.T) {
	expired, _, err := selfcert.New(-time.Minute) // valid until a minute ago
	if err != nil {
		t.Fatal(err)
	}
	eachEngine(t, func(t *testing.T, engine string) {
		h := newTLSHandler()
		srv, err := proactor.NewServer(h, proactor.WithEngineName(engine),
			proactor.WithTLS(&tls.Config{Certificates: []tls.Certificate{expired}}))
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		a, _ := srv.Listen("127.0.0.1:0")
		_, err = tls.Dial("tcp", a.String(), &tls.Config{RootCAs: selfcert.Pool(expired.Leaf), ServerName: "127.0.0.1"})
		var cv *tls.CertificateVerificationError
		if !errors.As(err, &cv) {
			t.Fatalf("dial: %v; want a certificate verification error", err)
		}
		waitStats(t, srv, func(st proactor.Stats) bool { return st.TLSFailures.Certificate == 1 })
	})
}

// A peer that closes without close_notify, at a record boundary, ends the
// stream as a FIN would (as crypto/tls and most TLS stacks accept).
func TestTLSNoCloseNotify(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		h := newTLSHandler()
		peer := make(chan struct{}, 1)
		h.onPeer = func(c *proactor.Conn) { peer <- struct{}{}; c.Close() }
		f := tlsServe(t, engine, h)
		c := f.dial(t)
		c.Write([]byte("x"))
		got := make([]byte, 1)
		io.ReadFull(c, got)
		c.NetConn().Close() // no close_notify
		await(t, peer, "OnPeerClosed")
		if err := await(t, h.closed, "OnClose"); err != nil {
			t.Fatalf("OnClose(%v)", err)
		}
	})
}

// A proactor Client over TLS, against a proactor server, verifying the
// dialed host; and against a server whose certificate it does not trust.
func TestTLSClient(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		h := newTLSHandler()
		f := tlsServe(t, engine, h)
		ch := newTLSHandler()
		cl, err := proactor.NewClient(ch, proactor.WithEngineName(engine), proactor.WithTLS(&tls.Config{RootCAs: f.client.RootCAs}))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := cl.Dial(ctx, "tcp", f.addr)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		got := make(chan string, 1)
		ch.onData = func(c *proactor.Conn, p []byte) { got <- string(p) }
		if st, ok := c.TLS(); !ok || len(st.VerifiedChains) == 0 || !st.HandshakeComplete {
			t.Fatalf("client state: %v %+v", ok, st)
		}
		c.Write([]byte("over tls"))
		if s := await(t, got, "the echo"); s != "over tls" {
			t.Fatalf("echo %q", s)
		}
		c.Close()
		await(t, ch.closed, "client OnClose")

		bad, err := proactor.NewClient(newTLSHandler(), proactor.WithEngineName(engine), proactor.WithTLS(&tls.Config{}))
		if err != nil {
			t.Fatal(err)
		}
		defer bad.Close()
		_, err = bad.Dial(ctx, "tcp", f.addr)
		var te *proactor.TLSError
		var cv *tls.CertificateVerificationError
		if !errors.As(err, &te) || !errors.As(err, &cv) {
			t.Fatalf("Dial to an untrusted server: %v; want a TLSError wrapping a certificate error", err)
		}
	})
}

// Shutdown with traffic in flight over TLS: every echo arrives, then
// close_notify and FIN, and Shutdown returns nil.
func TestTLSShutdownInFlight(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		h := newTLSHandler()
		f := tlsServe(t, engine, h)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 4 {
			c := f.dial(t)
			c.Write(payload(4096))
			buf := make([]byte, 4096)
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				rest, err := io.ReadAll(c)
				if err != nil {
					errs <- err
				}
				_ = rest
			}()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := f.srv.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("client: %v; want close_notify and a clean end", err)
		}
	})
}

func waitStats(t *testing.T, srv *proactor.Server, ok func(proactor.Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok(srv.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("stats never got there: %+v", srv.Stats())
		}
		time.Sleep(5 * time.Millisecond) // counters have no event
	}
}

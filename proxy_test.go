package proactor_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/proxyproto"
)

// The PROXY protocol on every engine: the header's client becomes the
// connection's address and what every admission rule judges; a bad or
// missing header closes the connection, counted, and nothing else.

var (
	proxySrc = netip.MustParseAddrPort("192.0.2.10:51234")
	proxyDst = netip.MustParseAddrPort("198.51.100.1:443")
)

// proxyHandler echoes and records what OnAccept and OnOpen saw.
type proxyHandler struct {
	*tlsHandler
	mu       sync.Mutex
	accepted []netip.AddrPort
}

func (h *proxyHandler) OnAccept(peer netip.AddrPort) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.accepted = append(h.accepted, peer)
	return true
}

func (h *proxyHandler) seen() []netip.AddrPort {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]netip.AddrPort(nil), h.accepted...)
}

func proxyServer(t *testing.T, engine string, opts ...proactor.Option) (*proactor.Server, *proxyHandler, string) {
	t.Helper()
	h := &proxyHandler{tlsHandler: newTLSHandler()}
	srv, err := proactor.NewServer(h, append([]proactor.Option{proactor.WithEngineName(engine), proactor.WithLoops(2)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	addr, err := srv.Listen("127.0.0.1:0", proactor.WithProxyProtocol(true))
	if err != nil {
		t.Fatal(err)
	}
	return srv, h, addr.String()
}

func dialTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// expectClosed reads until the server ends the connection, which must
// come without a byte.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	got, err := io.ReadAll(c)
	var ne net.Error
	if len(got) > 0 || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("read %q, %v; want the connection closed", got, err)
	}
}

func TestProxyProtocol(t *testing.T) {
	headers := map[string][]byte{
		"v1": proxyproto.AppendV1(nil, proxySrc, proxyDst),
		"v2": proxyproto.AppendV2(nil, proxyproto.Proxy, proxySrc, proxyDst),
	}
	for _, engine := range proactor.Engines() {
		for version, hdr := range headers {
			t.Run(engine+"/"+version, func(t *testing.T) {
				srv, h, addr := proxyServer(t, engine)
				c := dialTCP(t, addr)
				// The header and the first data in one write: one read
				// brings both, and the data must not be lost.
				c.Write(append(append([]byte{}, hdr...), "hello"...))
				got := make([]byte, 5)
				if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello" {
					t.Fatalf("echo %q, %v", got, err)
				}
				sc := await(t, h.opened, "OnOpen")
				if sc.RemoteAddrPort() != proxySrc || sc.LocalAddrPort() != proxyDst {
					t.Fatalf("addresses %v -> %v; want the header's %v -> %v", sc.RemoteAddrPort(), sc.LocalAddrPort(), proxySrc, proxyDst)
				}
				if ra, ok := sc.RemoteAddr().(*net.TCPAddr); !ok || ra.AddrPort() != proxySrc {
					t.Fatalf("RemoteAddr %v", sc.RemoteAddr())
				}
				if seen := h.seen(); len(seen) != 1 || seen[0] != proxySrc {
					t.Fatalf("OnAccept saw %v; want the header's client", seen)
				}
				if st := srv.Stats(); st.ProxyHeaders != 1 || st.Accepted != 1 || st.ProxyHeaderErrors != 0 {
					t.Fatalf("stats %+v", st)
				}
			})
		}
	}
}

// A header that arrives in pieces, each its own read, is put together.
func TestProxyHeaderSplit(t *testing.T) {
	hdr := proxyproto.AppendV2(nil, proxyproto.Proxy, proxySrc, proxyDst)
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			srv, h, addr := proxyServer(t, engine, proactor.WithLoops(1))
			c := dialTCP(t, addr)
			parts := [][]byte{hdr[:3], hdr[3:14], hdr[14:20], append(append([]byte{}, hdr[20:]...), "split"...)}
			for i, p := range parts {
				c.Write(p)
				// Sampling: a counter has no event. Each part is read
				// before the next is sent, so each is its own read.
				deadline := time.Now().Add(10 * time.Second)
				for srv.Stats().Reads < uint64(i+1) {
					if time.Now().After(deadline) {
						t.Fatalf("part %d never read: %+v", i, srv.Stats())
					}
					time.Sleep(time.Millisecond)
				}
			}
			got := make([]byte, 5)
			if _, err := io.ReadFull(c, got); err != nil || string(got) != "split" {
				t.Fatalf("echo %q, %v", got, err)
			}
			if sc := await(t, h.opened, "OnOpen"); sc.RemoteAddrPort() != proxySrc {
				t.Fatalf("remote %v", sc.RemoteAddrPort())
			}
		})
	}
}

// A LOCAL header (a health check) keeps the connection's own addresses.
func TestProxyLocal(t *testing.T) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			_, h, addr := proxyServer(t, engine)
			c := dialTCP(t, addr)
			c.Write(proxyproto.AppendV2(nil, proxyproto.Local, netip.AddrPort{}, netip.AddrPort{}))
			echoOnce(t, c, "check")
			sc := await(t, h.opened, "OnOpen")
			if sc.RemoteAddrPort() != c.LocalAddr().(*net.TCPAddr).AddrPort() {
				t.Fatalf("remote %v; want the real peer %v", sc.RemoteAddrPort(), c.LocalAddr())
			}
		})
	}
}

// A malformed header, a connection ended before one, and no header in
// time each close only their connection, counted; OnOpen never runs for
// them, and a good connection beside them is served.
func TestProxyBadHeader(t *testing.T) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			srv, h, addr := proxyServer(t, engine, proactor.WithProxyHeaderTimeout(150*time.Millisecond))
			// The clients that send do so while the server is paused:
			// their bytes are in their sockets when the server takes
			// them and their header timeouts start. (Written once each
			// dial had returned, a write 150 ms late on a loaded machine
			// counted as a timeout, not as the header's error.)
			srv.Pause()
			good := dialTCP(t, addr)
			good.Write(proxyproto.AppendV1(nil, proxySrc, proxyDst))
			bad := dialTCP(t, addr)
			bad.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			worse := dialTCP(t, addr)
			worse.Write([]byte("PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n"))
			half := dialTCP(t, addr)
			half.Write([]byte("PROXY TCP4 1.2"))
			half.(*net.TCPConn).CloseWrite()
			srv.Resume()
			echoOnce(t, good, "before")
			expectClosed(t, bad)
			expectClosed(t, worse)
			expectClosed(t, half)

			start := time.Now() // before the dial: its timeout cannot start earlier
			silent := dialTCP(t, addr)
			expectClosed(t, silent)
			if d := time.Since(start); d < 100*time.Millisecond {
				t.Fatalf("a silent client closed after %v; want the header timeout (150ms)", d)
			}
			echoOnce(t, good, "after")
			st := srv.Stats()
			if st.ProxyHeaderErrors != 3 || st.ProxyHeaderTimeouts != 1 || st.ProxyHeaders != 1 || st.Accepted != 1 || st.Closed != 0 {
				t.Fatalf("stats %+v; want 3 header errors, 1 timeout, 1 good connection", st)
			}
			select {
			case <-h.closed:
				t.Fatal("OnClose ran for a connection that never opened")
			default:
			}
		})
	}
}

// The rules judge the header's client: the deny list and the per-IP cap
// tell clients apart that all come from the balancer's one address.
func TestProxyAdmission(t *testing.T) {
	denied := netip.MustParseAddrPort("203.0.113.5:1000")
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			srv, h, addr := proxyServer(t, engine, proactor.WithMaxConnsPerIP(1),
				proactor.WithDeny(netip.MustParsePrefix("203.0.113.0/24")))
			send := func(src netip.AddrPort) net.Conn {
				c := dialTCP(t, addr)
				c.Write(proxyproto.AppendV2(nil, proxyproto.Proxy, src, proxyDst))
				return c
			}
			expectClosed(t, send(denied))
			first := send(proxySrc)
			echoOnce(t, first, "first")
			expectClosed(t, send(proxySrc)) // the same client again: over its cap
			other := send(netip.MustParseAddrPort("192.0.2.11:2000"))
			echoOnce(t, other, "another client")
			st := srv.Stats()
			if st.RejectedDenied != 1 || st.RejectedPerIP != 1 || st.Accepted != 2 || st.ProxyHeaders != 4 {
				t.Fatalf("stats %+v", st)
			}
			// Refused clients never reached OnAccept past the deny list.
			if seen := h.seen(); len(seen) != 3 {
				t.Fatalf("OnAccept saw %v", seen)
			}
			// The cap counts the header's client: once it leaves, it may
			// come back.
			first.Close()
			await(t, h.closed, "OnClose")
			echoOnce(t, send(proxySrc), "back")
		})
	}
}

// Behind a balancer on a unix socket, the header gives the connection an
// IP address after all.
func TestProxyOverUnix(t *testing.T) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			_, h, path := unixEcho(t, engine, proactor.WithProxyProtocol(true))
			c := dialPath(t, path)
			c.Write(proxyproto.AppendV2(nil, proxyproto.Proxy, proxySrc, proxyDst))
			echoOnce(t, c, "via unix")
			if sc := await(t, h.opened, "OnOpen"); sc.RemoteAddrPort() != proxySrc {
				t.Fatalf("remote %v (%v)", sc.RemoteAddrPort(), sc.RemoteAddr())
			}
		})
	}
}

// The header comes before TLS: the handshake follows it, on every engine.
func TestProxyTLS(t *testing.T) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			h := newTLSHandler()
			f := tlsServe(t, engine, h, proactor.WithProxyProtocol(true))
			raw := rawDial(t, f.addr)
			raw.Write(proxyproto.AppendV1(nil, proxySrc, proxyDst))
			tc := tls.Client(raw, f.client)
			echoOnce(t, tc, "over TLS behind a balancer")
			if sc := await(t, h.opened, "OnOpen"); sc.RemoteAddrPort() != proxySrc {
				t.Fatalf("remote %v", sc.RemoteAddrPort())
			}
			if st := f.srv.Stats(); st.TLSHandshakes != 1 || st.ProxyHeaders != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

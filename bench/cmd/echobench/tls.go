package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	ltls "github.com/lesismal/llib/std/crypto/tls"
	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/mempool"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/internal/selfcert"
)

// tlsKinds are the servers that run with --tls: proactor's engines, Go's
// net + crypto/tls with a goroutine per connection (the baseline) and
// nbio's TLS (its extension/tls over llib's non-blocking fork of
// crypto/tls). netpoll and the floor have no TLS.
var tlsKinds = []string{"proactor-epoll", "proactor-uring", "proactor-std", "gonet", "nbio"}

// defaultTLSServers are those of tlsKinds this machine runs.
func defaultTLSServers() []string {
	var kinds []string
	for _, k := range defaultServers() {
		if contains(tlsKinds, k) {
			kinds = append(kinds, k)
		}
	}
	return append(kinds, "nbio")
}

// tlsLoads are the loads of a --tls run: the two message loads,
// handshakes (churn: every connection makes a full handshake) and idle
// connections.
var (
	tlsLoads = []loadSpec{
		{streamLoad, 1000, 64, 1},
		{streamLoad, 10, 16 << 10, 4},
		{churnLoad, 16, 64, 1},
		{idleLoad, 10000, 64, 1},
	}
	quickTLSLoads = []loadSpec{
		{streamLoad, 100, 64, 1},
		{streamLoad, 4, 16 << 10, 4},
		{churnLoad, 8, 64, 1},
		{idleLoad, 500, 64, 1},
	}
)

// clientTLS is the load generator's configuration. It does not verify the
// server's throwaway certificate (verifying is the client's cost, not the
// server's), and it offers X25519 only: Go's default would add the
// post-quantum X25519MLKEM768, which crypto/tls's servers would take and
// llib's fork (older) cannot, and the handshakes would not be alike.
func clientTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, CurvePreferences: []tls.CurveID{tls.X25519}}
}

// serverCert is every TLS server's certificate: ECDSA P-256, made here.
func serverCert() (tls.Certificate, error) {
	cert, _, err := selfcert.New(24 * time.Hour)
	return cert, err
}

// startTLSEcho starts the named echo server with TLS on a free loopback
// port.
func startTLSEcho(kind string) (string, func(), error) {
	cert, err := serverCert()
	if err != nil {
		return "", nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	switch kind {
	case "proactor-epoll", "proactor-std", "proactor-uring":
		return startProactor(kind[len("proactor-"):], proactor.WithTLS(cfg))
	case "gonet":
		return startGoNetTLS(cfg)
	case "nbio":
		return startNbioTLS(cert)
	}
	return "", nil, fmt.Errorf("no TLS server %q (have %v)", kind, tlsKinds)
}

// startGoNetTLS is the baseline: net + crypto/tls, a goroutine per
// connection running the Read/Write loop of gonet on a 16 KiB buffer (the
// handshake runs in the first Read).
func startGoNetTLS(cfg *tls.Config) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go serveGoNet(tls.NewListener(ln, cfg))
	return ln.Addr().String(), func() { ln.Close() }, nil
}

// startNbioTLS serves an echo with nbio's TLS: llib's crypto/tls fork in
// non-blocking mode on nbio's pollers (as many as GOMAXPROCS, as proactor
// has loops). The data handler is extension/tls's WrapData with a pooled
// plaintext buffer in place of the 2 KiB it allocates per read.
func startNbioTLS(cert tls.Certificate) (string, func(), error) {
	cfg := &ltls.Config{Certificates: []ltls.Certificate{{Certificate: cert.Certificate, PrivateKey: cert.PrivateKey}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	// nbio logs to stdout, whose first line must be the address.
	logging.SetLevel(logging.LevelError)
	g := nbio.NewEngine(nbio.Config{
		Network: "tcp",
		Addrs:   []string{ln.Addr().String()},
		NPoller: runtime.GOMAXPROCS(0),
		// The listener made above, so that its port is known.
		Listen: func(string, string) (net.Listener, error) { return ln, nil },
	})
	g.OnOpen(func(c *nbio.Conn) {
		c.SetSession(ltls.NewConn(c, cfg, false, true, mempool.DefaultMemPool))
	})
	plain := sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}
	g.OnData(func(c *nbio.Conn, data []byte) {
		t, ok := c.Session().(*ltls.Conn)
		if !ok {
			return
		}
		t.Append(data)
		bp := plain.Get().(*[]byte)
		defer plain.Put(bp)
		for {
			n, err := t.Read(*bp)
			if err != nil {
				c.Close()
				return
			}
			if n == 0 {
				return
			}
			if _, err := t.Write((*bp)[:n]); err != nil {
				c.Close()
				return
			}
		}
	})
	if err := g.Start(); err != nil {
		ln.Close()
		return "", nil, err
	}
	return ln.Addr().String(), g.Stop, nil
}

// serveGoNet accepts on ln and echoes on each connection in a goroutine of
// its own, on a 16 KiB buffer, until ln is closed.
func serveGoNet(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(5 * time.Millisecond) // EMFILE and friends
			continue
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 16<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

package loadgen_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/echo"
	"github.com/seed487d475b/proactor/examples/line"
	"github.com/seed487d475b/proactor/internal/loadgen"
	"github.com/seed487d475b/proactor/internal/selfcert"
	"github.com/seed487d475b/proactor/internal/servertest"
)

// tlsServer starts h with TLS on a fresh self-signed certificate and
// returns its address and a client configuration that trusts it.
func tlsServer(t *testing.T, h proactor.Handler, opts ...proactor.Option) (string, *tls.Config) {
	t.Helper()
	cert, leaf, err := selfcert.New(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	_, addr := servertest.Start(t, h, append(opts, proactor.WithTLS(cfg))...)
	return addr, &tls.Config{RootCAs: selfcert.Pool(leaf)}
}

// TestTLS runs streams and churn over TLS against proactor's TLS server,
// the certificate verified: every reply checks, and a greeted scenario
// reads its greeting through TLS.
func TestTLS(t *testing.T) {
	tests := []struct {
		scenario string
		size     int
		server   func(t *testing.T) (string, *tls.Config)
	}{
		{scenario: "echo", size: 64, server: func(t *testing.T) (string, *tls.Config) { return tlsServer(t, echo.Handler{}) }},
		{scenario: "echo", size: 40000, server: func(t *testing.T) (string, *tls.Config) { return tlsServer(t, echo.Handler{}) }}, // records split a message
		{scenario: "line", size: 200, server: func(t *testing.T) (string, *tls.Config) {
			return tlsServer(t, line.Handler{}, line.Options()...)
		}},
	}
	for _, tt := range tests {
		addr, cfg := tt.server(t)
		sc, err := loadgen.NewScenario(tt.scenario, tt.size)
		if err != nil {
			t.Fatal(err)
		}
		for _, rate := range []float64{0, 5000} {
			t.Run(fmt.Sprintf("%s/stream/rate=%v", sc.Name(), rate), func(t *testing.T) {
				r := newRun(t, addr, sc, 4)
				r.UseTLS(cfg)
				r.SetRate(rate) // paced: reads time out mid-record between the requests due
				runStream(t, r)
			})
		}
		t.Run(sc.Name()+"/churn", func(t *testing.T) {
			r := newRun(t, addr, sc, 1)
			r.UseTLS(cfg)
			wait := r.Start(nil, 2)
			waitDone(t, r, 20)
			r.Stop()
			wait()
			if err := r.Err(); err != nil || r.Failed() > 0 {
				t.Fatalf("%d failed cycles, first: %v", r.Failed(), err)
			}
		})
	}
}

// TestTLSVerify: a certificate the client does not trust fails the dial
// with crypto/tls's verification error, unless verification is off.
func TestTLSVerify(t *testing.T) {
	addr, _ := tlsServer(t, echo.Handler{})
	r := newRun(t, addr, echo64(t), 1)
	r.UseTLS(&tls.Config{RootCAs: x509.NewCertPool()})
	_, err := r.DialAll(1, nil)
	var cv *tls.CertificateVerificationError
	if !errors.As(err, &cv) {
		t.Fatalf("dial with no trusted root: %v; want a CertificateVerificationError", err)
	}
	r = newRun(t, addr, echo64(t), 1)
	r.UseTLS(&tls.Config{InsecureSkipVerify: true})
	conns, err := r.DialAll(1, nil)
	if err != nil {
		t.Fatalf("insecure dial: %v", err)
	}
	loadgen.CloseAll(conns)
}

// TestTLSExtraReplies: a server that answers twice fails the check over
// TLS too, where the extra reply may wait decrypted in crypto/tls or still
// in the socket.
func TestTLSExtraReplies(t *testing.T) {
	addr, cfg := tlsServer(t, twice{})
	r := newRun(t, addr, echo64(t), 1)
	r.UseTLS(cfg)
	r.Start(nil, 1)() // churn: the run stops itself on the mismatch
	if err := r.Err(); !errors.Is(err, loadgen.ErrMismatch) {
		t.Fatalf("churn ended with %v; want ErrMismatch", err)
	}
	r = newRun(t, addr, echo64(t), 1)
	r.UseTLS(cfg)
	wait := streams(t, r, 1)
	r.Stop()
	wait()
	if err := r.Err(); !errors.Is(err, loadgen.ErrMismatch) {
		t.Fatalf("stream ended with %v; want ErrMismatch", err)
	}
}

package proactor_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/internal/selfcert"
)

// collect keeps a client connection's plaintext until it closes.
type collect struct {
	proactor.BaseHandler
	got  *bytes.Buffer
	done chan struct{}
}

func (h collect) OnData(_ *proactor.Conn, data []byte) { h.got.Write(data) } // data is plaintext
func (h collect) OnClose(*proactor.Conn, error)        { close(h.done) }

// ExampleWithTLS serves upper over TLS and talks to it with a TLS client
// of proactor's own. Both handlers see plaintext only. Dial returns once
// the handshake is done; CloseWrite sends close_notify, then the FIN.
func ExampleWithTLS() {
	// A throwaway certificate for 127.0.0.1; a real server loads its own
	// with tls.LoadX509KeyPair.
	cert, leaf, err := selfcert.New(time.Hour)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := proactor.NewServer(upper{}, proactor.WithLoops(1),
		proactor.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}

	h := collect{got: new(bytes.Buffer), done: make(chan struct{})}
	// The client verifies the certificate against the roots it is given,
	// for the host of the address it dials.
	conn, err := proactor.Dial(context.Background(), "tcp", addr.String(), h,
		proactor.WithTLS(&tls.Config{RootCAs: selfcert.Pool(leaf)}))
	if err != nil {
		fmt.Println(err)
		return
	}
	state, _ := conn.TLS()
	fmt.Println(tls.VersionName(state.Version))
	conn.Write([]byte("hello over tls"))
	conn.CloseWrite() // the server's BaseHandler closes on our close_notify and FIN
	<-h.done
	fmt.Println(h.got.String())
	// Output:
	// TLS 1.3
	// HELLO OVER TLS
}

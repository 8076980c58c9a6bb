package proactor_test

import (
	"fmt"
	"io"
	"net"

	"github.com/seed487d475b/proactor"
)

// ExampleServer_Conns lists a server's connections, as `proactor ctl conns`
// does, and closes one by its ID, as `proactor ctl close` does.
func ExampleServer_Conns() {
	srv, err := proactor.NewServer(upper{}, proactor.WithLoops(1))
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
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	conn.Write([]byte("hello"))
	io.ReadFull(conn, make([]byte, 5)) // HELLO

	for _, ci := range srv.Conns() {
		fmt.Printf("%s, input %s, %d bytes read, peer is us: %v\n",
			ci.State, ci.Input, ci.BytesRead, ci.Peer.String() == conn.LocalAddr().String())
		if c, ok := srv.Conn(ci.ID); ok { // held: Release when done
			c.Close()
			c.Release()
		}
	}
	_, err = conn.Read(make([]byte, 1))
	fmt.Println(err)
	// Output:
	// open, input reading, 5 bytes read, peer is us: true
	// EOF
}

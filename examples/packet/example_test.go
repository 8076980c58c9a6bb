package packet_test

import (
	"fmt"
	"io"
	"net"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/packet"
)

// Example sends two packets in one write and reads both echoes back, each
// as a header holding the total length and then the data.
func Example() {
	srv, err := proactor.NewServer(packet.Handler{}, proactor.WithLoops(1))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	addr, err := srv.Listen("127.0.0.1:0", packet.Options()...)
	if err != nil {
		panic(err)
	}
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		panic(err)
	}
	defer conn.Close()

	var out []byte
	for _, msg := range []string{"hello", "packets"} {
		if out, err = (packet.Framer{}).Append(out, []byte(msg)); err != nil {
			panic(err)
		}
	}
	conn.Write(out)
	for range 2 {
		header := make([]byte, 1)
		io.ReadFull(conn, header)
		data := make([]byte, header[0]-1)
		io.ReadFull(conn, data)
		fmt.Printf("%d %q\n", header[0], data)
	}
	// Output:
	// 6 "hello"
	// 8 "packets"
}

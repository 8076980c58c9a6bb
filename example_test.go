package proactor_test

import (
	"bytes"
	"fmt"
	"io"
	"net"

	"github.com/seed487d475b/proactor"
)

// upper answers every read with the same bytes in upper case.
type upper struct{ proactor.BaseHandler }

func (upper) OnData(c *proactor.Conn, data []byte) {
	c.Write(bytes.ToUpper(data)) // data is valid only until OnData returns; Write copies
}

func Example() {
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
	conn.Write([]byte("hello, proactor"))
	conn.(*net.TCPConn).CloseWrite() // the server's BaseHandler closes on our FIN
	reply, _ := io.ReadAll(conn)
	conn.Close()
	fmt.Println(string(reply))
	// Output: HELLO, PROACTOR
}

package echo_test

import (
	"fmt"
	"io"
	"net"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/echo"
)

func Example() {
	srv, err := proactor.NewServer(echo.Handler{}, proactor.WithLoops(1))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	conn.Write([]byte("hello"))
	buf := make([]byte, 5)
	io.ReadFull(conn, buf)
	fmt.Println(string(buf))
	// Output: hello
}

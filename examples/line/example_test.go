package line_test

import (
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/line"
)

// Example sends four commands in one write, ended by CRLF and by a bare
// LF alike, and reads the greeting and the answers until the server closes
// the connection after QUIT. The clock is fixed so that the
// output is too.
func Example() {
	h := line.Handler{Now: func() time.Time { return time.Date(2002, 6, 18, 12, 0, 0, 0, time.UTC) }}
	srv, err := proactor.NewServer(h, proactor.WithLoops(1))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	addr, err := srv.Listen("127.0.0.1:0", line.Options()...)
	if err != nil {
		panic(err)
	}
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		panic(err)
	}
	defer conn.Close()

	conn.Write([]byte("ECHO hello\r\ntime\nNOOP\r\nQUIT\n"))
	answers, err := io.ReadAll(conn) // until the server's FIN
	if err != nil {
		panic(err)
	}
	fmt.Print(strings.ReplaceAll(string(answers), "\r\n", "\n"))
	// Output:
	// +OK proactor line server ready
	// +OK hello
	// +OK 2002-06-18T12:00:00Z
	// -ERR unknown command
	// +OK bye
}

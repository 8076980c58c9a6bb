package pop3_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/pop3"
)

// Example serves an in-memory maildrop (the tests' memStore: alice, with
// two messages) and retrieves the first message as a client would.
func Example() {
	h := pop3.NewHandler(newMemStore(), pop3.Limits{})
	srv, err := proactor.NewServer(h, proactor.WithLoops(1))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	addr, err := srv.Listen("127.0.0.1:0", pop3.Options()...)
	if err != nil {
		panic(err)
	}
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "USER alice\r\nPASS secret word\r\nRETR 1\r\nQUIT\r\n")
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break // the server closed after QUIT
		}
		fmt.Println(strings.TrimSuffix(line, "\r\n"))
	}
	// Output:
	// +OK POP3 server ready
	// +OK send PASS
	// +OK maildrop has 2 messages (56 octets)
	// +OK 34 octets
	// Subject: one
	//
	// ..hidden dot
	// end
	// .
	// +OK bye (0 messages deleted)
}

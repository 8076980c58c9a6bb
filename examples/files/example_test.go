package files_test

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/files"
)

// Example uploads a file over a plain TCP connection, then lists the root
// and downloads the file with pipelined commands, whose replies come in
// order.
func Example() {
	dir, err := os.MkdirTemp("", "files-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	h, err := files.New(dir)
	if err != nil {
		panic(err)
	}
	defer h.Close() // after the server's Close, which is deferred below
	srv, err := proactor.NewServer(h, proactor.WithLoops(1))
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
	r := bufio.NewReader(conn)
	reply := func() {
		line, _ := r.ReadString('\n')
		fmt.Print(strings.TrimSuffix(line, "\r\n"), "\n")
	}

	data := []byte("hello, world\n")
	fmt.Fprintf(conn, "PUT hello.txt %d %x\r\n", len(data), sha256.Sum256(data))
	reply() // the bytes may follow only once "+OK" has come
	conn.Write(data)
	reply()

	fmt.Fprintf(conn, "LIST\r\nGET hello.txt\r\nGET ../etc/passwd\r\nQUIT\r\n")
	rest, err := io.ReadAll(r) // until the server's FIN
	if err != nil {
		panic(err)
	}
	fmt.Print(strings.ReplaceAll(string(rest), "\r\n", "\n"))
	// Output:
	// +OK
	// +OK stored
	// +OK 1
	// hello.txt 13
	// .
	// +OK 13 853ff93762a06ddbf722c4ebe9ddd66d8f63ddaea97f521c3ecc20da7c976020
	// hello, world
	// -ERR bad name "../etc/passwd": a path; only flat file names in the root are served
	// +OK bye
}

//go:build unix

package proactor_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/seed487d475b/proactor"
)

// A server that shuts down gracefully on SIGINT or SIGTERM, as `proactor
// serve` does: Shutdown stops accepting, lets every connection finish what
// it owes (an idle one closes at once with a FIN), and bounds the wait.
func ExampleServer_Shutdown() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv, err := proactor.NewServer(upper{}, proactor.WithLoops(1))
	if err != nil {
		fmt.Println(err)
		return
	}
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
	reply := make([]byte, 5)
	io.ReadFull(conn, reply) // the server has the connection: not one in the backlog, reset at shutdown
	fmt.Println(string(reply))

	// The example sends the signal itself; a server waits for Ctrl-C or
	// its supervisor's SIGTERM.
	syscall.Kill(os.Getpid(), syscall.SIGINT)

	<-ctx.Done()
	fmt.Println("signal received, shutting down")
	stop() // a second Ctrl-C now kills the process, as users expect
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println("shutdown:", srv.Shutdown(sctx))
	_, err = io.ReadAll(conn)
	fmt.Println("the client read to the end:", err == nil)
	// Output:
	// HELLO
	// signal received, shutting down
	// shutdown: <nil>
	// the client read to the end: true
}

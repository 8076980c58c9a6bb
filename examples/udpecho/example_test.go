package udpecho_test

import (
	"fmt"
	"net"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/udpecho"
)

// Example sends a datagram to the echo and reads it back.
func Example() {
	srv, err := proactor.NewPacketServer(udpecho.Handler{}, proactor.WithLoops(1))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	pc, err := srv.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	conn, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("ping")); err != nil {
		panic(err)
	}
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\n", buf[:n])
	// Output: ping
}

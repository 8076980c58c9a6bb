package proactor_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/seed487d475b/proactor"
)

// replies hands each reply a client connection reads to the example's
// goroutine: callbacks run on a loop, so results leave through a channel.
type replies struct {
	proactor.BaseHandler
	got chan string
}

func (h replies) OnData(c *proactor.Conn, data []byte) { h.got <- string(data) }

// One connection with its own private engine, released when it closes.
func ExampleDial() {
	srv, addr := startUpper()
	defer srv.Close()

	h := replies{got: make(chan string, 1)}
	conn, err := proactor.Dial(context.Background(), "tcp", addr, h)
	if err != nil {
		fmt.Println(err)
		return
	}
	conn.Write([]byte("ping"))
	fmt.Println(<-h.got)
	conn.Close()
	// Output: PING
}

// Many connections on one engine, here the server's own: outgoing and
// incoming connections share its loops.
func ExampleClient() {
	srv, addr := startUpper()
	defer srv.Close()

	h := replies{got: make(chan string, 3)}
	cl, err := proactor.NewClient(h, proactor.WithEngine(srv.Engine()), proactor.WithConnectTimeout(5*time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cl.Close()
	for _, word := range []string{"one", "two", "three"} {
		conn, err := cl.Dial(context.Background(), "tcp", addr)
		if err != nil {
			fmt.Println(err)
			return
		}
		conn.Write([]byte(word))
	}
	var got []string
	for range 3 {
		got = append(got, <-h.got)
	}
	slices.Sort(got) // the three connections answer in any order
	fmt.Println(got, cl.ConnCount(), "connections")
	// Output: [ONE THREE TWO] 3 connections
}

// opens reports each connection's OnOpen.
type opens struct {
	proactor.BaseHandler
	opened chan *proactor.Conn
}

func (h opens) OnOpen(c *proactor.Conn) { h.opened <- c }

// A Reconnector keeps a connection open: when the server drops it, it
// dials again after the backoff.
func ExampleClient_Reconnect() {
	// The server reports its side's opens too: CloseAll below must not run
	// before the server has accepted what the client dialed.
	server := opens{opened: make(chan *proactor.Conn, 1)}
	srv, err := proactor.NewServer(server, proactor.WithLoops(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	ln, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	addr := ln.String()

	h := opens{opened: make(chan *proactor.Conn, 1)}
	cl, err := proactor.NewClient(h)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cl.Close()
	r := cl.Reconnect("tcp", addr, proactor.Backoff{Initial: 10 * time.Millisecond, Max: time.Second})
	defer r.Stop()

	first := <-h.opened
	<-server.opened
	fmt.Println("connected")
	srv.CloseAll() // the server drops the connection; the client dials again
	second := <-h.opened
	<-server.opened
	fmt.Println("connected again:", second != first)
	// Output:
	// connected
	// connected again: true
}

// startUpper serves upper (example_test.go) on a free port.
func startUpper() (*proactor.Server, string) {
	srv, err := proactor.NewServer(upper{}, proactor.WithLoops(1))
	if err != nil {
		panic(err)
	}
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	return srv, addr.String()
}

// Broadcast writes one message to every open connection, copied once into
// a buffer they all share.
func ExampleServer_Broadcast() {
	h := opens{opened: make(chan *proactor.Conn, 3)}
	srv, err := proactor.NewServer(h, proactor.WithLoops(2))
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
	var readers []*bufio.Reader
	for range 3 {
		conn, err := net.Dial("tcp", addr.String())
		if err != nil {
			fmt.Println(err)
			return
		}
		defer conn.Close()
		readers = append(readers, bufio.NewReader(conn))
		<-h.opened // Broadcast reaches the connections open when it runs
	}

	fmt.Println(srv.Broadcast([]byte("the news\n")), "connections took it")
	for _, r := range readers {
		line, _ := r.ReadString('\n')
		fmt.Print(line)
	}
	// Output:
	// 3 connections took it
	// the news
	// the news
	// the news
}

// count numbers each connection's messages, in a typed per-connection
// value.
type count struct{ proactor.BaseHandler }

// messages is the key of the count; a package-level key is how a layer
// keeps its own slot on every connection.
var messages = proactor.NewKey[int]("messages")

func (count) OnData(c *proactor.Conn, data []byte) {
	n, _ := messages.Get(c) // 0 on the first message
	n++
	messages.Set(c, n)
	fmt.Fprintf(c, "message %d: %s\n", n, data)
}

func ExampleNewKey() {
	srv, err := proactor.NewServer(count{}, proactor.WithLoops(1))
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
	r := bufio.NewReader(conn)
	for _, word := range []string{"a", "b", "c"} {
		conn.Write([]byte(word)) // one at a time: TCP could join unanswered writes
		line, _ := r.ReadString('\n')
		fmt.Print(line)
	}
	// Output:
	// message 1: a
	// message 2: b
	// message 3: c
}

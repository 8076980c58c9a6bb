//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"time"

	"github.com/panjf2000/gnet/v2"
	glog "github.com/panjf2000/gnet/v2/pkg/logging"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/udpecho"
)

// runServer serves one kind of UDP echo on 127.0.0.1, prints its address
// on stdout, and exits when stdin closes.
func runServer(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: udpbench server KIND")
		return 2
	}
	var addr string
	var stop func()
	var err error
	switch kind := args[0]; kind {
	case "proactor-epoll", "proactor-uring", "proactor-std":
		addr, stop, err = startProactor(kind[len("proactor-"):])
	case "gonet":
		addr, stop, err = startGonet()
	case "gnet":
		addr, stop, err = startGnet()
	default:
		err = fmt.Errorf("unknown server %q", kind)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "udpbench server:", err)
		return 1
	}
	fmt.Println(addr)
	io.Copy(io.Discard, os.Stdin)
	stop()
	return 0
}

// startProactor is examples/udpecho on a PacketServer: one loop per
// GOMAXPROCS, options default.
func startProactor(engine string) (string, func(), error) {
	srv, err := proactor.NewPacketServer(udpecho.Handler{}, proactor.WithEngineName(engine))
	if err != nil {
		return "", nil, err
	}
	pc, err := srv.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return "", nil, err
	}
	return pc.LocalAddr().String(), func() { srv.Close() }, nil
}

// startGonet is the plain Go echo: one goroutine per GOMAXPROCS reading
// and writing the one socket (ReadFromUDPAddrPort and WriteToUDPAddrPort,
// which allocate nothing).
func startGonet() (string, func(), error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return "", nil, err
	}
	for range runtime.GOMAXPROCS(0) {
		go func() {
			buf := make([]byte, 64<<10)
			for {
				n, from, err := c.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				c.WriteToUDPAddrPort(buf[:n], from)
			}
		}()
	}
	return c.LocalAddr().String(), func() { c.Close() }, nil
}

// gnetEcho is gnet v2's UDP echo: OnTraffic takes the datagram and writes
// it back to its sender.
type gnetEcho struct {
	gnet.BuiltinEventEngine
	booted chan gnet.Engine
}

func (e *gnetEcho) OnBoot(eng gnet.Engine) gnet.Action {
	e.booted <- eng
	return gnet.None
}

func (e *gnetEcho) OnTraffic(c gnet.Conn) gnet.Action {
	b, err := c.Next(-1)
	if err == nil {
		c.Write(b)
	}
	return gnet.None
}

// startGnet runs gnetEcho on as many event loops as GOMAXPROCS. gnet binds
// the address itself, so the port is found by binding :0 first and handing
// that port over.
func startGnet() (string, func(), error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return "", nil, err
	}
	addr := c.LocalAddr().String()
	c.Close()
	glog.SetDefaultLoggerAndFlusher(stderrLogger{}, nil)
	e := &gnetEcho{booted: make(chan gnet.Engine, 1)}
	failed := make(chan error, 1)
	go func() {
		failed <- gnet.Run(e, "udp://"+addr,
			gnet.WithMulticore(true), gnet.WithNumEventLoop(runtime.GOMAXPROCS(0)), gnet.WithReusePort(false))
	}()
	select {
	case eng := <-e.booted:
		return addr, func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			eng.Stop(ctx)
		}, nil
	case err := <-failed:
		return "", nil, fmt.Errorf("gnet: %w", err)
	}
}

// stderrLogger keeps gnet's log off stdout, whose first line is the address.
type stderrLogger struct{}

func (stderrLogger) Debugf(string, ...any)     {}
func (stderrLogger) Infof(string, ...any)      {}
func (stderrLogger) Warnf(f string, a ...any)  { fmt.Fprintf(os.Stderr, "gnet: "+f+"\n", a...) }
func (stderrLogger) Errorf(f string, a ...any) { fmt.Fprintf(os.Stderr, "gnet: "+f+"\n", a...) }
func (stderrLogger) Fatalf(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "gnet: "+f+"\n", a...)
	os.Exit(1)
}

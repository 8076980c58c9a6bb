package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/echo"
)

// serverKinds are the echo servers, in the order they run in each round.
// gonet is the baseline every ratio refers to unless --baseline names
// another; gnet v2 and nbio are the event-loop peers (peers.go).
var serverKinds = []string{"proactor-epoll", "proactor-std", "gonet", "netpoll", "gnet", "nbio"}

// extraKinds run by default only where the machine has them (see
// defaultServers): proactor on its io_uring engine; and floor, which is not
// a framework but the least a server can do per message with epoll and
// read/write (floor_linux.go), to show how close to the kernel's cost the
// others come; and cfloor, the same floor in C (csrc/cfloor.c), built with the
// system's compiler, where there is one.
var extraKinds = []string{"proactor-uring", "floor", "cfloor"}

// defaultBaseline is the server the ratios refer to without --baseline.
const defaultBaseline = "gonet"

// defaultServers are the servers a run without --servers measures: all of
// them, but proactor-uring only where this machine runs io_uring and the
// floor only on Linux.
func defaultServers() []string {
	kinds := append([]string(nil), serverKinds[:1]...)
	if slices.Contains(proactor.Engines(), "uring") {
		kinds = append(kinds, "proactor-uring")
	}
	kinds = append(kinds, serverKinds[1:]...)
	if runtime.GOOS == "linux" {
		kinds = append(kinds, "floor")
		if cCompiler() != "" {
			kinds = append(kinds, "cfloor")
		}
	}
	return kinds
}

// serverMain is the `echobench server KIND` subcommand: it serves an echo on
// 127.0.0.1:0, prints the address as its first line on stdout, and runs until
// SIGTERM/SIGINT or until its stdin reaches EOF (the benchmark process died).
// SIGUSR1 starts a CPU profile into --cpuprofile, SIGUSR2 stops it, so the
// profile covers the measured window only.
func serverMain(args []string) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	cpu := fs.Int("cpu", -1, "pin every thread of this process to this CPU (when taskset is absent)")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the window between SIGUSR1 and SIGUSR2 here")
	withTLS := fs.Bool("tls", false, "serve the echo over TLS with a throwaway certificate")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(os.Stderr, "usage: echobench server [--cpu N] [--cpuprofile FILE] %v\n", serverKinds)
		return 2
	}
	if err := raiseNofile(); err != nil {
		fmt.Fprintln(os.Stderr, "echobench server: RLIMIT_NOFILE:", err)
	}
	if *cpu >= 0 {
		if err := pinProcess(*cpu); err != nil {
			fmt.Fprintln(os.Stderr, "echobench server: pin:", err)
			return 1
		}
	}
	start := startEcho
	if *withTLS {
		start = startTLSEcho
	}
	addr, stop, err := start(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "echobench server:", err)
		return 1
	}
	defer stop()
	fmt.Println(addr)

	parentGone := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(parentGone)
	}()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGUSR2)
	var prof *os.File
	stopProfile := func() {
		if prof != nil {
			pprof.StopCPUProfile()
			prof.Close()
			prof = nil
		}
	}
	defer stopProfile()
	for {
		select {
		case <-parentGone:
			return 0
		case s := <-sigs:
			switch s {
			case syscall.SIGUSR1:
				if *profile == "" || prof != nil {
					continue
				}
				f, err := os.Create(*profile)
				if err == nil {
					err = pprof.StartCPUProfile(f)
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "echobench server: profile:", err)
					continue
				}
				prof = f
			case syscall.SIGUSR2:
				stopProfile()
			default:
				return 0
			}
		}
	}
}

// startEcho starts the named echo server on a free loopback port.
func startEcho(kind string) (addr string, stop func(), err error) {
	switch kind {
	case "proactor-epoll":
		return startProactor("epoll")
	case "proactor-std":
		return startProactor("std")
	case "proactor-uring":
		return startProactor("uring")
	case "gonet":
		return startGoNet()
	case "netpoll":
		return startNetpoll()
	case "gnet":
		return startGnet()
	case "nbio":
		return startNbio()
	case "floor":
		return startFloor()
	}
	return "", nil, fmt.Errorf("unknown server %q (have %v and %v)", kind, serverKinds, extraKinds)
}

// startProactor serves examples/echo.Handler with the default options except
// the engine: one loop per GOMAXPROCS.
func startProactor(engine string, opts ...proactor.Option) (string, func(), error) {
	srv, err := proactor.NewServer(echo.Handler{}, append(opts, proactor.WithEngineName(engine))...)
	if err != nil {
		return "", nil, err
	}
	a, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		srv.Close()
		return "", nil, err
	}
	return a.String(), func() { srv.Close() }, nil
}

// startGoNet is the baseline: a goroutine per connection running a plain
// Read/Write loop on a 16 KiB buffer.
func startGoNet() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go serveGoNet(ln)
	return ln.Addr().String(), func() { ln.Close() }, nil
}

// startNetpoll is a minimal cloudwego/netpoll echo: OnRequest takes what has
// arrived, hands it to the writer without a copy, flushes, and releases it
// (Flush returns once the bytes are in the socket).
func startNetpoll() (string, func(), error) {
	ln, err := netpoll.CreateListener("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	onRequest := func(_ context.Context, c netpoll.Connection) error {
		r, w := c.Reader(), c.Writer()
		n := r.Len()
		if n == 0 {
			return nil
		}
		p, err := r.Next(n)
		if err != nil {
			return err
		}
		if _, err := w.WriteBinary(p); err != nil {
			return err
		}
		err = w.Flush()
		r.Release()
		return err
	}
	evl, err := netpoll.NewEventLoop(onRequest)
	if err != nil {
		ln.Close()
		return "", nil, err
	}
	addr := ln.Addr().String()
	go evl.Serve(ln)
	return addr, func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		evl.Shutdown(ctx)
	}, nil
}

// readAddr reads the server's first stdout line.
func readAddr(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return line[:len(line)-1], nil
}

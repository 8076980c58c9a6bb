package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"time"

	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/logging"
	"github.com/panjf2000/gnet/v2"
	glog "github.com/panjf2000/gnet/v2/pkg/logging"
)

// gnetEcho is the smallest gnet v2 echo: OnTraffic takes what has arrived
// and writes it back (gnet copies it into its outbound buffer when the
// socket does not take it all at once).
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
	if err != nil {
		return gnet.Close
	}
	if _, err := c.Write(b); err != nil {
		return gnet.Close
	}
	return gnet.None
}

// startGnet serves gnetEcho with as many event loops as GOMAXPROCS, as
// proactor has loops. gnet binds the address itself, so the port is found
// by binding :0 first and handing that port over (a race with another
// process taking it is possible, and reported).
func startGnet() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	// gnet logs to stdout, whose first line must be the address: its
	// package-level logger (the one Run's first line uses) goes to stderr.
	glog.SetDefaultLoggerAndFlusher(stderrLogger{}, nil)
	e := &gnetEcho{booted: make(chan gnet.Engine, 1)}
	failed := make(chan error, 1)
	go func() {
		failed <- gnet.Run(e, "tcp://"+addr,
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

// startNbio is nbio's plain echo: OnData writes the bytes back (nbio
// copies what the socket does not take), on as many pollers as GOMAXPROCS.
func startNbio() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	// nbio logs to stdout, whose first line must be the address.
	logging.SetLevel(logging.LevelError)
	g := nbio.NewEngine(nbio.Config{
		Network: "tcp",
		Addrs:   []string{ln.Addr().String()},
		NPoller: runtime.GOMAXPROCS(0),
		Listen:  func(string, string) (net.Listener, error) { return ln, nil },
	})
	g.OnData(func(c *nbio.Conn, data []byte) {
		if _, err := c.Write(data); err != nil {
			c.Close()
		}
	})
	if err := g.Start(); err != nil {
		ln.Close()
		return "", nil, err
	}
	return ln.Addr().String(), g.Stop, nil
}

// stderrLogger is a gnet logger that writes to stderr.
type stderrLogger struct{}

func (stderrLogger) Debugf(string, ...any)     {}
func (stderrLogger) Infof(string, ...any)      {}
func (stderrLogger) Warnf(f string, a ...any)  { fmt.Fprintf(os.Stderr, "gnet: "+f+"\n", a...) }
func (stderrLogger) Errorf(f string, a ...any) { fmt.Fprintf(os.Stderr, "gnet: "+f+"\n", a...) }
func (stderrLogger) Fatalf(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "gnet: "+f+"\n", a...)
	os.Exit(1)
}

package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/seed487d475b/proactor"
)

// dialHandler copies what the server sends to stdout and reports the end.
type dialHandler struct {
	proactor.BaseHandler // OnPeerClosed: the server is done, so are we
	out                  io.Writer
	done                 chan error
}

// OnData writes on the loop: with one connection there is nothing else for
// the loop to do, and a slow stdout then slows the server down through TCP,
// as a pipe should.
func (h *dialHandler) OnData(_ *proactor.Conn, p []byte) { h.out.Write(p) }

func (h *dialHandler) OnClose(_ *proactor.Conn, err error) { h.done <- err }

// runDial is `proactor dial ADDR`: netcat on proactor. Standard input goes to
// the connection, the connection to standard output; the end of standard
// input sends a FIN (a half-close), and the command exits when the server
// closes.
func runDial(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("proactor dial", flag.ContinueOnError)
	engine := fs.String("engine", "auto", "I/O `engine`: auto, or one of: "+strings.Join(proactor.Engines(), ", "))
	timeout := fs.Duration("timeout", 10*time.Second, "connect timeout")
	useTLS := fs.Bool("tls", false, "speak TLS, verifying the server's certificate against the system's roots")
	insecure := fs.Bool("insecure", false, "with --tls, accept any certificate (a self-signed one, say)")
	fs.SetOutput(io.Discard)
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: proactor dial [flags] ADDR\n\nTalk to a TCP server: stdin to the connection, the connection to stdout.\n\nFlags:\n")
		printFlags(w, fs)
	}
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return exitOK
	}
	if err == nil && fs.NArg() != 1 {
		err = errors.New("want exactly one address")
	}
	if err != nil {
		return usageError(stderr, "dial", fs, err)
	}
	h := &dialHandler{out: stdout, done: make(chan error, 1)}
	opts := []proactor.Option{proactor.WithEngineName(*engine), proactor.WithLoops(1), proactor.WithConnectTimeout(*timeout)}
	if *useTLS {
		opts = append(opts, proactor.WithTLS(&tls.Config{InsecureSkipVerify: *insecure}))
	}
	c, err := proactor.Dial(context.Background(), "tcp", fs.Arg(0), h, opts...)
	if err != nil {
		errorf(stderr, "%v", err)
		return exitError
	}
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := os.Stdin.Read(buf)
			if n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				c.CloseWrite()
				return
			}
		}
	}()
	if err := <-h.done; err != nil {
		errorf(stderr, "%v", err)
		return exitError
	}
	return exitOK
}

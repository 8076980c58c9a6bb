package proactor_test

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// tagged greets each connection with its server's tag, then echoes.
type tagged struct {
	proactor.BaseHandler
	tag string
}

func (h tagged) OnOpen(c *proactor.Conn)            { c.Write([]byte(h.tag)) }
func (tagged) OnData(c *proactor.Conn, data []byte) { c.Write(data) }

// greeting dials addr and returns the connection and the server's tag.
func greeting(t *testing.T, addr string) (net.Conn, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tag := make([]byte, 1)
	if _, err := io.ReadFull(c, tag); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	return c, string(tag)
}

func echoOn(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
		t.Fatalf("echo: %q, %v", got, err)
	}
}

// TestHandover does on every engine what a zero-downtime upgrade does
// across processes: server A serves a listener, server B takes a
// duplicate of the same socket (AddListener), A stops accepting
// (StopAccepting) and drains. Connections queued in the shared backlog
// meanwhile, with B paused and A's descriptor closed by its shutdown, are
// not reset: B accepts them.
func TestHandover(t *testing.T) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			f, err := ln.(*net.TCPListener).File()
			if err != nil {
				t.Fatal(err)
			}
			dup, err := net.FileListener(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			newServer := func(tag string) *proactor.Server {
				srv, err := proactor.NewServer(tagged{tag: tag}, proactor.WithEngineName(engine), proactor.WithLoops(2))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { srv.Close() })
				return srv
			}
			a, b := newServer("A"), newServer("B")
			if err := a.AddListener(ln); err != nil {
				t.Fatal(err)
			}
			old, tag := greeting(t, addr)
			if tag != "A" {
				t.Fatalf("first connection served by %s", tag)
			}
			b.Pause() // connections now queue for B
			if err := b.AddListener(dup); err != nil {
				t.Fatal(err)
			}
			a.StopAccepting()
			if !a.AcceptStopped() || a.Paused() {
				t.Fatalf("AcceptStopped %v, Paused %v", a.AcceptStopped(), a.Paused())
			}
			a.Resume() // does not undo StopAccepting
			echoOn(t, old, "still served")

			var queued []net.Conn
			for range 5 {
				c, err := net.Dial("tcp", addr) // the kernel completes it: it waits in the backlog
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				queued = append(queued, c)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			shut := make(chan error, 1)
			go func() { shut <- a.Shutdown(ctx) }()
			old.SetDeadline(time.Now().Add(10 * time.Second))
			if n, err := old.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("drained connection: Read = %d, %v; want EOF", n, err)
			}
			old.Close()
			if err := <-shut; err != nil {
				t.Fatal(err)
			}
			if st := a.Stats(); st.Accepted != 1 {
				t.Fatalf("A accepted %d, want 1", st.Accepted)
			}
			b.Resume()
			for i, c := range queued {
				c.SetDeadline(time.Now().Add(10 * time.Second))
				tag := make([]byte, 1)
				if _, err := io.ReadFull(c, tag); err != nil || tag[0] != 'B' {
					t.Fatalf("queued connection %d: %q, %v", i, tag, err)
				}
				echoOn(t, c, "after the handover")
			}
			if _, tag := greeting(t, addr); tag != "B" {
				t.Fatalf("new connection served by %s", tag)
			}
		})
	}
}

// TestListenerFiles: the files are duplicates of the listening sockets,
// in order; a listener made from one accepts for the same address.
func TestListenerFiles(t *testing.T) {
	srv, err := proactor.NewServer(tagged{tag: "A"}, proactor.WithLoops(2))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a1, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a2, err := srv.Listen("127.0.0.1:0", proactor.WithReusePort(true))
	if err != nil {
		t.Fatal(err)
	}
	files, err := srv.ListenerFiles()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{a1.String(), a2.String(), a2.String()} // a reuse-port group: one socket per loop
	if len(files) != len(want) {
		t.Fatalf("%d files, want %d", len(files), len(want))
	}
	for i, f := range files {
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := ln.Addr().String(); got != want[i] {
			t.Errorf("file %d is %s, want %s", i, got, want[i])
		}
		ln.Close()
	}
}

// TestHandoverUnix: a unix socket handed over keeps its file when the old
// server stops, so clients still find the new one by path.
func TestHandoverUnix(t *testing.T) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s")
			ln, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := ln.(*net.UnixListener).File()
			if err != nil {
				t.Fatal(err)
			}
			dup, err := net.FileListener(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			a, err := proactor.NewServer(tagged{tag: "A"}, proactor.WithEngineName(engine), proactor.WithLoops(1))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := proactor.NewServer(tagged{tag: "B"}, proactor.WithEngineName(engine), proactor.WithLoops(1))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if err := a.AddListener(ln); err != nil {
				t.Fatal(err)
			}
			a.StopAccepting()
			if err := a.Shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := b.AddListener(dup); err != nil {
				t.Fatal(err)
			}
			c, err := net.Dial("unix", path)
			if err != nil {
				t.Fatalf("the socket file is gone with the old server: %v", err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			tag := make([]byte, 1)
			if _, err := io.ReadFull(c, tag); err != nil || tag[0] != 'B' {
				t.Fatalf("greeting %q, %v", tag, err)
			}
		})
	}
}

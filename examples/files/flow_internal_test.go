package files

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// TestUploadPauses shows that an upload the disk cannot keep up with stops
// being read: with the only worker held, the client cannot push the whole
// file, however long it tries; once the worker is free, reading resumes
// and the file is stored whole.
func TestUploadPauses(t *testing.T) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			h, err := New(dir, WithWorkers(1))
			if err != nil {
				t.Fatal(err)
			}
			srv, err := proactor.NewServer(h, proactor.WithLoops(1), proactor.WithEngineName(engine))
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			defer srv.Close()
			addr, err := srv.Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			c, err := net.Dial("tcp", addr.String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			r := bufio.NewReader(c)
			data := make([]byte, 32<<20)
			rand.Read(data)
			fmt.Fprintf(c, "PUT big %d %x\r\n", len(data), sha256.Sum256(data))
			if line, err := r.ReadString('\n'); line != "+OK\r\n" {
				t.Fatalf("PUT: %q, %v", line, err)
			}

			// Hold the only worker: no byte reaches the disk meanwhile.
			held, release := make(chan struct{}), make(chan struct{})
			if err := h.pool.Submit(0, func() { close(held); <-release }); err != nil {
				t.Fatal(err)
			}
			<-held
			// Without the pause the server would take all 32 MiB into
			// memory in a fraction of this time; with it, the high
			// watermark and the socket buffers are all it takes, ever.
			c.SetWriteDeadline(time.Now().Add(time.Second))
			n, err := c.Write(data)
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				close(release)
				t.Fatalf("with the disk held, Write = %d, %v; want a timeout", n, err)
			}
			if n > 24<<20 {
				t.Errorf("the server took %d MiB with the disk held", n>>20)
			}
			close(release)
			c.SetDeadline(time.Now().Add(30 * time.Second))
			if _, err := c.Write(data[n:]); err != nil {
				t.Fatal(err)
			}
			if line, err := r.ReadString('\n'); line != "+OK stored\r\n" {
				t.Fatalf("after the upload: %q, %v", line, err)
			}
			got, err := os.ReadFile(filepath.Join(dir, "big"))
			if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
				t.Fatalf("stored file: %d bytes, %v; want the data", len(got), err)
			}
			t.Logf("%s: the client got %d MiB out before the server paused", engine, n>>20)
		})
	}
}

// spy is a Handler that hands each session to the test from OnOpen, where
// reading the connection's context is allowed.
type spy struct {
	*Handler
	sessions chan *session
}

func (h spy) OnOpen(c *proactor.Conn) {
	h.Handler.OnOpen(c)
	h.sessions <- c.Context().(*session)
}

// TestPipelinedGetsBounded floods the server with GETs and reads nothing:
// the job stops at maxSending queued files, and goes on once the client
// reads.
func TestPipelinedGetsBounded(t *testing.T) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			data := make([]byte, 1<<20)
			rand.Read(data)
			if err := os.WriteFile(filepath.Join(dir, "a"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			h, err := New(dir, WithWorkers(2))
			if err != nil {
				t.Fatal(err)
			}
			sp := spy{Handler: h, sessions: make(chan *session, 1)}
			srv, err := proactor.NewServer(sp, proactor.WithLoops(1), proactor.WithEngineName(engine))
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			defer srv.Close()
			addr, err := srv.Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			c, err := net.Dial("tcp", addr.String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			s := <-sp.sessions
			const gets = 60
			for range gets {
				fmt.Fprintf(c, "GET a\r\n")
			}

			// The job blocks once maxSending files are queued, as the
			// client reads none of them.
			deadline := time.Now().Add(10 * time.Second)
			for {
				s.mu.Lock()
				blocked, sending := s.blocked, s.sending
				s.mu.Unlock()
				if sending > maxSending {
					t.Fatalf("%d files queued, want at most %d", sending, maxSending)
				}
				if blocked == blockSending {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the job never blocked: blocked %b, %d files queued", blocked, sending)
				}
				time.Sleep(time.Millisecond)
			}

			r := bufio.NewReader(c)
			want := fmt.Sprintf("+OK %d %x\r\n", len(data), sha256.Sum256(data))
			got := make([]byte, len(data))
			for i := range gets {
				if line, err := r.ReadString('\n'); line != want {
					t.Fatalf("reply %d: %q, %v", i, line, err)
				}
				if _, err := io.ReadFull(r, got); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

package files_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/seed487d475b/proactor/examples/files"
)

func TestRoundTrip(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := start(t, engine)
		cl := dial(t, s.addr)
		if got := cl.list(); len(got) != 0 {
			t.Fatalf("LIST of an empty root = %q", got)
		}
		big := randomBytes(t, 9<<20+123) // past the high watermark, in odd pieces
		small := []byte("hello\n")
		for name, data := range map[string][]byte{"big.bin": big, "small.txt": small, "empty": nil} {
			if got := cl.put(name, data); got != "+OK stored" {
				t.Fatalf("PUT %s: %q", name, got)
			}
		}
		want := []string{fmt.Sprintf("big.bin %d", len(big)), "empty 0", "small.txt 6"}
		if got := cl.list(); !slices.Equal(got, want) {
			t.Fatalf("LIST = %q, want %q", got, want)
		}
		if got := cl.get("big.bin"); !bytes.Equal(got, big) {
			t.Fatal("GET big.bin returned other bytes")
		}
		if got := cl.get("empty"); len(got) != 0 {
			t.Fatalf("GET empty returned %d bytes", len(got))
		}
		onDisk, err := os.ReadFile(filepath.Join(s.dir, "small.txt"))
		if err != nil || !bytes.Equal(onDisk, small) {
			t.Fatalf("small.txt on disk = %q, %v", onDisk, err)
		}
		// A PUT replaces; the old content is gone at once.
		if got := cl.put("small.txt", []byte("bye")); got != "+OK stored" {
			t.Fatalf("PUT over small.txt: %q", got)
		}
		if got := cl.get("small.txt"); string(got) != "bye" {
			t.Fatalf("GET small.txt after a new PUT = %q", got)
		}
		cl.Send("QUIT\r\n")
		cl.want("+OK bye")
		cl.wantEOF()
		waitDir(t, s.dir, "big.bin", "empty", "small.txt") // no temporary file left
	})
}

// TestPipelined sends many commands in one write: the replies come in
// order, each job after the one before although they run on a pool, and
// past the bound on outstanding jobs reading pauses and resumes.
func TestPipelined(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := start(t, engine, files.WithWorkers(8))
		if err := os.WriteFile(filepath.Join(s.dir, "a"), []byte("AAA"), 0o644); err != nil {
			t.Fatal(err)
		}
		cl := dial(t, s.addr)
		const rounds = 50
		cl.Send(strings.Repeat("GET a\r\nget nope\r\nLIST\r\n", rounds) + "NOSUCH\r\nQUIT\r\n")
		for range rounds {
			if got := cl.readGet("a"); string(got) != "AAA" {
				t.Fatalf("GET a = %q", got)
			}
			cl.want(`-ERR "nope": no such file`)
			if got := cl.readList(); !slices.Equal(got, []string{"a 3"}) {
				t.Fatalf("LIST = %q", got)
			}
		}
		cl.want("-ERR unknown command")
		cl.want("+OK bye")
		cl.wantEOF()
	})
}

// TestPipelinedEmptyPut checks that an empty upload, which no bytes
// follow, may be pipelined like any other command.
func TestPipelinedEmptyPut(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := start(t, engine)
		cl := dial(t, s.addr)
		cl.Send(fmt.Sprintf("PUT e 0 %x\r\nLIST\r\n", sha256.Sum256(nil)))
		cl.want("+OK")
		cl.want("+OK stored")
		if got := cl.readList(); !slices.Equal(got, []string{"e 0"}) {
			t.Fatalf("LIST = %q", got)
		}
	})
}

// TestRefused checks the names that must not reach the file system, the
// malformed commands, and a symbolic link that leads out of the root.
func TestRefused(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	hash := fmt.Sprintf("%x", sha256.Sum256([]byte("x")))
	tests := []struct {
		name string
		send string
		want string // the reply line's start
	}{
		{name: "GetDotDot", send: "GET ..", want: `-ERR bad name "..": a directory`},
		{name: "GetParent", send: "GET ../x", want: `-ERR bad name "../x": a path`},
		{name: "GetAbsolute", send: "GET /etc/passwd", want: `-ERR bad name "/etc/passwd": a path`},
		{name: "GetSubdir", send: "GET a/b", want: `-ERR bad name "a/b": a path`},
		{name: "GetBackslash", send: `GET a\b`, want: `-ERR bad name "a\\b": a path`},
		{name: "GetDot", send: "GET .", want: `-ERR bad name ".": a directory`},
		{name: "GetHidden", send: "GET .proactor-upload-x", want: `-ERR bad name ".proactor-upload-x": hidden`},
		{name: "GetDash", send: "GET -rf", want: `-ERR bad name "-rf"`},
		{name: "GetLong", send: "GET " + strings.Repeat("a", files.MaxName+1), want: `-ERR bad name`},
		{name: "GetControl", send: "GET a\x01b", want: `-ERR bad name "a\x01b": only A-Z`},
		{name: "GetMissing", send: "GET nope", want: `-ERR "nope": no such file`},
		{name: "GetDirectory", send: "GET sub", want: `-ERR "sub": not a regular file`},
		{name: "GetLinkOut", send: "GET link", want: `-ERR "link": outside the root`},
		{name: "GetAbsoluteLink", send: "GET abslink", want: `-ERR "abslink": outside the root`},
		{name: "GetNoName", send: "GET", want: "-ERR usage: GET name"},
		{name: "GetTwoNames", send: "GET a b", want: "-ERR usage: GET name"},
		{name: "PutDotDot", send: "PUT .. 1 " + hash, want: `-ERR bad name ".."`},
		{name: "PutParent", send: "PUT ../x 1 " + hash, want: `-ERR bad name "../x"`},
		{name: "PutAbsolute", send: "PUT /tmp/x 1 " + hash, want: `-ERR bad name "/tmp/x"`},
		{name: "PutSubdir", send: "PUT a/b 1 " + hash, want: `-ERR bad name "a/b": a path`},
		{name: "PutBadSize", send: "PUT a -1 " + hash, want: `-ERR bad size "-1"`},
		{name: "PutHugeSize", send: "PUT a 99999999999999999999 " + hash, want: `-ERR bad size`},
		{name: "PutOverLimit", send: "PUT a 1025 " + hash, want: "-ERR 1025 bytes is over the limit of 1024"},
		{name: "PutBadHash", send: "PUT a 1 abc", want: "-ERR bad sha256"},
		{name: "PutUsage", send: "PUT a 1", want: "-ERR usage: PUT name size sha256hex"},
		{name: "ListArgs", send: "LIST x", want: "-ERR usage: LIST"},
		{name: "Unknown", send: "DELETE a", want: "-ERR unknown command"},
		{name: "Empty", send: "", want: "-ERR unknown command"},
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		s := start(t, engine, files.WithMaxSize(1024))
		for _, err := range []error{
			os.Symlink(secret, filepath.Join(s.dir, "abslink")),
			os.Symlink(relative(t, s.dir, secret), filepath.Join(s.dir, "link")),
			os.Symlink("a", filepath.Join(s.dir, "inlink")), // inside the root: served
			os.Mkdir(filepath.Join(s.dir, "sub"), 0o755),
			os.WriteFile(filepath.Join(s.dir, "a"), []byte("a"), 0o644),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		cl := dial(t, s.addr)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				cl.T = t
				cl.Send(tt.send + "\r\n")
				cl.wantPrefix(tt.want)
			})
		}
		cl.T = t
		// The connection survived every refusal; the links leading out are
		// not listed, the one inside is.
		if got, want := cl.list(), []string{"a 1", "inlink 1"}; !slices.Equal(got, want) {
			t.Fatalf("LIST = %q, want %q", got, want)
		}
		if got := cl.get("inlink"); string(got) != "a" {
			t.Fatalf("GET inlink = %q", got)
		}
		// A PUT over a link replaces the link, not what it points to.
		if got := cl.put("link", []byte("new")); got != "+OK stored" {
			t.Fatalf("PUT link: %q", got)
		}
		if b, err := os.ReadFile(secret); err != nil || string(b) != "secret" {
			t.Fatalf("the file outside the root now holds %q, %v", b, err)
		}
	})
}

// relative returns the path of target relative to dir, such as
// "../../TestRefused1/001/secret".
func relative(t *testing.T, dir, target string) string {
	t.Helper()
	rel, err := filepath.Rel(dir, target)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// TestMismatch uploads bytes that do not match the announced SHA-256:
// nothing is stored, the file it would have replaced is intact, and the
// connection goes on.
func TestMismatch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := start(t, engine)
		if err := os.WriteFile(filepath.Join(s.dir, "a"), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		cl := dial(t, s.addr)
		data := randomBytes(t, 3<<20)
		cl.Send(fmt.Sprintf("PUT a %d %x\r\n", len(data), sha256.Sum256([]byte("other"))))
		cl.want("+OK")
		cl.C.Write(data)
		cl.wantPrefix(fmt.Sprintf("-ERR sha256 mismatch: received %x, announced %x", sha256.Sum256(data), sha256.Sum256([]byte("other"))))
		// The temporary file is gone before the reply leaves.
		if got := dirNames(t, s.dir); !slices.Equal(got, []string{"a"}) {
			t.Fatalf("directory holds %q after a mismatch", got)
		}
		if got := cl.get("a"); string(got) != "old" {
			t.Fatalf("a = %q after a failed PUT", got)
		}
	})
}

// TestInterrupted cuts uploads short in every way a connection can end:
// the temporary file, there once "+OK" is read, is removed and nothing is
// stored.
func TestInterrupted(t *testing.T) {
	tests := []struct {
		name string
		cut  func(t *testing.T, s *server, c *net.TCPConn)
	}{
		{name: "Close", cut: func(t *testing.T, _ *server, c *net.TCPConn) { c.Close() }},
		{name: "HalfClose", cut: func(t *testing.T, _ *server, c *net.TCPConn) {
			c.CloseWrite()
			// The server closes in turn, after any reply due: none is.
			if n, err := c.Read(make([]byte, 64)); !errors.Is(err, io.EOF) {
				t.Errorf("after a half-close mid-upload, Read = %d, %v; want EOF", n, err)
			}
		}},
		{name: "Reset", cut: func(t *testing.T, _ *server, c *net.TCPConn) {
			c.SetLinger(0)
			c.Close()
		}},
		{name: "ServerShutdown", cut: func(t *testing.T, s *server, c *net.TCPConn) {
			ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- s.srv.Shutdown(ctx) }()
			// Answering the server's FIN with ours ends its lingering close.
			if n, err := c.Read(make([]byte, 64)); !errors.Is(err, io.EOF) {
				t.Errorf("during Shutdown, Read = %d, %v; want EOF", n, err)
			}
			c.Close()
			if err := <-done; err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachEngine(t, func(t *testing.T, engine string) {
				s := start(t, engine)
				cl := dial(t, s.addr)
				data := randomBytes(t, 8<<20)
				cl.Send(fmt.Sprintf("PUT big %d %x\r\n", len(data), sha256.Sum256(data)))
				cl.want("+OK")
				got := dirNames(t, s.dir)
				if len(got) != 1 || !strings.HasPrefix(got[0], ".proactor-upload-") {
					t.Fatalf("directory holds %q during an upload, want one temporary file", got)
				}
				if _, err := cl.C.Write(data[:len(data)/2]); err != nil {
					t.Fatal(err)
				}
				tt.cut(t, s, cl.TCP())
				waitDir(t, s.dir)
			})
		})
	}
}

// TestProtocolErrors checks the errors that end a connection: bytes sent
// with the PUT line, before its reply, accepted or not, and over-long
// lines.
func TestProtocolErrors(t *testing.T) {
	tests := []struct {
		name string
		send string
		want []string // every reply line, up to the server's close
	}{
		{name: "BytesBeforeReply", send: fmt.Sprintf("PUT a 5 %x\r\nhello", sha256.Sum256([]byte("hello"))),
			want: []string{"-ERR bytes sent before the reply to PUT"}},
		{name: "CommandBeforeReply", send: fmt.Sprintf("PUT a 5 %x\r\nLIST\r\n", sha256.Sum256([]byte("hello"))),
			want: []string{"-ERR bytes sent before the reply to PUT"}},
		// A refused PUT followed by bytes closes too: they may be the
		// file's, which would otherwise be run as commands.
		{name: "RefusedPutWithBytes", send: fmt.Sprintf("PUT a %d %x\r\nLIST\r\n", files.DefaultMaxSize+1, sha256.Sum256(nil)),
			want: []string{fmt.Sprintf("-ERR %d bytes is over the limit of %d", files.DefaultMaxSize+1, files.DefaultMaxSize)}},
		{name: "BadPutWithBytes", send: "PUT ../a 5\r\nhello\r\n", want: []string{"-ERR usage: PUT name size sha256hex"}},
		{name: "LineTooLong", send: strings.Repeat("x", files.MaxLine+1) + "\r\nLIST\r\n",
			want: []string{"-ERR line too long"}},
		{name: "UnendedLineTooLong", send: "LIST\r\n" + strings.Repeat("x", files.MaxLine+2),
			want: []string{"+OK 0", ".", "-ERR line too long"}},
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := start(t, engine)
				cl := dial(t, s.addr)
				cl.Send(tt.send)
				for _, want := range tt.want {
					cl.want(want)
				}
				cl.wantEOF()
				waitDir(t, s.dir)
			})
		}
		t.Run("LongestLine", func(t *testing.T) {
			s := start(t, engine)
			cl := dial(t, s.addr)
			cl.Send(strings.Repeat("x", files.MaxLine) + "\r\n")
			cl.want("-ERR unknown command")
			cl.list()
		})
	})
}

// TestConcurrentUploads puts and gets files over many connections at once,
// on more connections than workers.
func TestConcurrentUploads(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := start(t, engine, files.WithWorkers(3))
		const clients = 8
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				cl := dial(t, s.addr)
				name := fmt.Sprintf("f%d", i)
				data := randomBytes(t, 1<<20+i*4099)
				for range 2 {
					if got := cl.put(name, data); got != "+OK stored" {
						t.Errorf("PUT %s: %q", name, got)
						return
					}
					if got := cl.get(name); !bytes.Equal(got, data) {
						t.Errorf("GET %s returned other bytes", name)
						return
					}
				}
			})
		}
		wg.Wait()
		if got := dial(t, s.addr).list(); len(got) != clients {
			t.Fatalf("LIST = %q, want %d files", got, clients)
		}
	})
}

// TestStaleTemporaryFiles checks that New removes what a crashed server
// left, and nothing else.
func TestStaleTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{".proactor-upload-OLD", "keep", ".other"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := files.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dirNames(t, dir), []string{".other", "keep"}; !slices.Equal(got, want) {
		t.Fatalf("after New the directory holds %q, want %q", got, want)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := files.New(filepath.Join(dir, "nosuch")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("New on a missing directory: %v", err)
	}
}

func TestCheckName(t *testing.T) {
	for _, name := range []string{"a", "A.b-c_d", "0", "x..y", strings.Repeat("n", files.MaxName)} {
		if err := files.CheckName(name); err != nil {
			t.Errorf("CheckName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{"", ".", "..", "../x", "/etc/passwd", "a/b", `a\b`, ".hidden", "-x", "a b", "a\x00", "é", strings.Repeat("n", files.MaxName+1)} {
		if err := files.CheckName(name); err == nil {
			t.Errorf("CheckName(%q) = nil, want an error", name)
		}
	}
}

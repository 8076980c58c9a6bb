package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/files"
)

// fileUsage is the synopsis of `proactor file`.
const fileUsage = `Usage:
  proactor file [flags] put ADDR LOCALPATH NAME   upload a file as NAME
  proactor file [flags] get ADDR NAME LOCALPATH   download NAME (into LOCALPATH/NAME if LOCALPATH is a directory)
  proactor file [flags] ls ADDR                   list the files: size and name

The client of "proactor serve files --root DIR" (examples/files). Uploads and
downloads are checked with SHA-256; a download lands in a temporary file next
to LOCALPATH, renamed into place only once verified. Progress is shown on
stderr for files of 8 MiB or more.
`

// fileArgs is how many operands each subcommand takes.
var fileArgs = map[string]int{"put": 3, "get": 3, "ls": 1}

// runFile is `proactor file put|get|ls`, built on proactor.Dial.
func runFile(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("proactor file", flag.ContinueOnError)
	engine := fs.String("engine", "auto", "I/O `engine`: auto, or one of: "+strings.Join(proactor.Engines(), ", "))
	timeout := fs.Duration("timeout", 10*time.Second, "connect timeout")
	quiet := fs.Bool("q", false, "show no progress")
	fs.SetOutput(io.Discard)
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "%s\nFlags:\n", fileUsage)
		printFlags(w, fs)
	}
	sub, ops, err := parseFileArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return exitOK
	}
	if err != nil {
		return usageError(stderr, "file", fs, err)
	}

	// SIGINT and SIGTERM abort the transfer, so that a download removes
	// its temporary file; the server discards an unfinished upload itself.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := fileConfig{
		addr: ops[0],
		opts: []proactor.Option{proactor.WithEngineName(*engine), proactor.WithLoops(1), proactor.WithConnectTimeout(*timeout)},
		out:  stdout,
		log:  stderr,
		show: !*quiet,
	}
	switch sub {
	case "put":
		err = cfg.put(ctx, ops[1], ops[2])
	case "get":
		err = cfg.get(ctx, ops[1], ops[2])
	case "ls":
		err = cfg.ls(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			// The error is the aborted connection's, which says less.
			err = errors.New("interrupted")
		}
		errorf(stderr, "file %s: %v", sub, err)
		return exitError
	}
	return exitOK
}

// parseFileArgs returns the subcommand and its operands; flags may come
// before or after the subcommand's name.
func parseFileArgs(fs *flag.FlagSet, args []string) (string, []string, error) {
	if err := fs.Parse(args); err != nil {
		return "", nil, err
	}
	if fs.NArg() == 0 {
		return "", nil, errors.New("missing subcommand: put, get or ls")
	}
	sub := fs.Arg(0)
	want, ok := fileArgs[sub]
	if !ok {
		return "", nil, fmt.Errorf("unknown subcommand %q", sub)
	}
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return "", nil, err
	}
	if fs.NArg() != want {
		return "", nil, fmt.Errorf("%s takes %d arguments, got %d", sub, want, fs.NArg())
	}
	return sub, fs.Args(), nil
}

// fileConfig is a parsed `proactor file` command line.
type fileConfig struct {
	addr string
	opts []proactor.Option
	out  io.Writer // listings
	log  io.Writer // progress
	show bool      // progress for large files
}

// fileConn is a connection to a files server, read with blocking calls
// through a pipe that its handler fills.
type fileConn struct {
	c    *proactor.Conn
	pr   *io.PipeReader
	r    *bufio.Reader
	done chan error // the OnClose reason
}

// pipeHandler hands what the server sends to the command's goroutine.
type pipeHandler struct {
	proactor.BaseHandler
	pw   *io.PipeWriter
	done chan error
}

// OnData waits on the loop until the command has taken p: the loop serves
// only this connection, and a slow disk then slows the server down through
// TCP rather than filling memory.
func (h *pipeHandler) OnData(_ *proactor.Conn, p []byte) { h.pw.Write(p) }

// OnPeerClosed ends the pipe: the server has nothing more to say.
func (h *pipeHandler) OnPeerClosed(c *proactor.Conn) {
	h.pw.Close()
	c.Close()
}

// OnClose ends the pipe with the reason, unless OnPeerClosed ended it
// first, and reports the end.
func (h *pipeHandler) OnClose(_ *proactor.Conn, err error) {
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	h.pw.CloseWithError(err)
	h.done <- err
}

// dial connects; ctx's end aborts the connection, which fails any read in
// progress.
func (cfg *fileConfig) dial(ctx context.Context) (*fileConn, error) {
	pr, pw := io.Pipe()
	h := &pipeHandler{pw: pw, done: make(chan error, 1)}
	c, err := proactor.Dial(ctx, "tcp", cfg.addr, h, cfg.opts...)
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() { c.Abort() })
	return &fileConn{c: c, pr: pr, r: bufio.NewReaderSize(pr, 256<<10), done: h.done}, nil
}

// close ends the connection and waits for it: gracefully, or with a reset
// when the exchange failed.
func (fc *fileConn) close(failed bool) {
	// Whatever still comes is not wanted; failing the pipe frees the loop
	// if it is waiting in OnData.
	fc.pr.CloseWithError(errors.New("done"))
	if failed {
		fc.c.Abort()
	} else {
		fc.c.Close()
	}
	<-fc.done
}

func (fc *fileConn) send(format string, args ...any) error {
	_, err := fc.c.Write(fmt.Appendf(nil, format, args...))
	return err
}

// reply reads one reply line and turns "-ERR ..." into an error.
func (fc *fileConn) reply() (string, error) {
	line, err := fc.r.ReadString('\n')
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "", errors.New("the server closed the connection without a reply")
	}
	if err != nil {
		return "", fmt.Errorf("reading the reply: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if msg, ok := strings.CutPrefix(line, "-ERR "); ok {
		return "", fmt.Errorf("server: %s", msg)
	}
	if line != "+OK" && !strings.HasPrefix(line, "+OK ") {
		return "", fmt.Errorf("unexpected reply %q", line)
	}
	return line, nil
}

// put uploads local as name: the file is hashed first, then sent by the
// kernel with SendFile once the server has said "+OK".
func (cfg *fileConfig) put(ctx context.Context, local, name string) (err error) {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", local)
	}
	size := info.Size()
	if size > math.MaxInt {
		return fmt.Errorf("%s: too large for this platform", local)
	}
	h := sha256.New()
	hashing := newProgress(cfg.log, cfg.show, "sha256 "+local, size)
	if _, err := io.CopyBuffer(io.MultiWriter(h, hashing), io.NewSectionReader(f, 0, size), make([]byte, 1<<20)); err != nil {
		return err
	}
	hashing.finish(size, "hashed")
	fc, err := cfg.dial(ctx)
	if err != nil {
		return err
	}
	defer func() { fc.close(err != nil) }()
	if err := fc.send("PUT %s %d %x\r\n", name, size, h.Sum(nil)); err != nil {
		return err
	}
	if _, err := fc.reply(); err != nil {
		return err
	}
	prog := newProgress(cfg.log, cfg.show, "put "+name, size)
	sendErr := sendFile(fc.c, f, local, size, prog.on)
	f = nil // SendFile owns it now
	if sendErr != nil {
		return sendErr
	}
	stop := prog.watch(func() int64 { return size - int64(fc.c.Buffered()) })
	line, err := fc.reply()
	stop()
	if err != nil {
		return err
	}
	if line != "+OK stored" {
		return fmt.Errorf("unexpected reply %q", line)
	}
	prog.finish(size, "stored")
	return nil
}

// segmentMin is the smallest piece of a large upload handed to SendFile.
const segmentMin = 16 << 20

// sendFile queues size bytes of f, the file at path, with SendFile, which
// takes f over (and closes it, even on error). With segments set, a large
// file goes in pieces of at least segmentMin and at most 64 pieces, each
// on a descriptor of its own: proactor counts a SendFile as sent only once
// all of it is, so the pieces are what makes Buffered, and the progress,
// move during the upload.
func sendFile(c *proactor.Conn, f *os.File, path string, size int64, segments bool) error {
	seg := size
	if segments {
		seg = max(segmentMin, (size+63)/64)
	}
	info, err := f.Stat()
	for off := int64(0); err == nil && off < size; off += seg {
		g := f // the last piece
		if off+seg < size {
			g, err = openSame(path, info)
			if err != nil {
				break
			}
		}
		err = c.SendFile(g, off, int(min(seg, size-off)))
		if g == f {
			return err
		}
	}
	f.Close()
	return err
}

// openSame opens path again, making sure that it is still the file
// described by info (the one hashed), not a file renamed over it since.
func openSame(path string, info os.FileInfo) (*os.File, error) {
	g, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if gi, err := g.Stat(); err != nil || !os.SameFile(gi, info) {
		g.Close()
		return nil, fmt.Errorf("%s was replaced during the upload", path)
	}
	return g, nil
}

// get downloads name into local, through a temporary file in the same
// directory that is renamed into place only once its SHA-256 matches.
func (cfg *fileConfig) get(ctx context.Context, name, local string) (err error) {
	if info, err := os.Stat(local); err == nil && info.IsDir() {
		local = filepath.Join(local, filepath.Base(name))
	}
	fc, err := cfg.dial(ctx)
	if err != nil {
		return err
	}
	defer func() { fc.close(err != nil) }()
	if err := fc.send("GET %s\r\n", name); err != nil {
		return err
	}
	line, err := fc.reply()
	if err != nil {
		return err
	}
	size, want, err := parseGetReply(line)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(local), "."+filepath.Base(local)+".part-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	prog := newProgress(cfg.log, cfg.show, "get "+name, size)
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(tmp, h, prog), io.LimitReader(fc.r, size), make([]byte, 256<<10))
	if err == nil && n < size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return fmt.Errorf("after %d of %d bytes: %w", n, size, err)
	}
	if got := h.Sum(nil); string(got) != string(want) {
		return fmt.Errorf("sha256 mismatch: received %x, server announced %x", got, want)
	}
	// CreateTemp makes the file private; a download is an ordinary file.
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), local); err != nil {
		return err
	}
	prog.finish(size, "verified")
	return nil
}

// parseGetReply reads "+OK size sha256hex".
func parseGetReply(line string) (int64, []byte, error) {
	f := strings.Fields(line)
	if len(f) != 3 {
		return 0, nil, fmt.Errorf("unexpected reply %q", line)
	}
	size, err := strconv.ParseInt(f[1], 10, 64)
	sum, herr := hex.DecodeString(f[2])
	if err != nil || size < 0 || herr != nil || len(sum) != sha256.Size {
		return 0, nil, fmt.Errorf("unexpected reply %q", line)
	}
	return size, sum, nil
}

// ls prints the server's files, one "size  name" line each.
func (cfg *fileConfig) ls(ctx context.Context) (err error) {
	fc, err := cfg.dial(ctx)
	if err != nil {
		return err
	}
	defer func() { fc.close(err != nil) }()
	if err := fc.send("LIST\r\n"); err != nil {
		return err
	}
	line, err := fc.reply()
	if err != nil {
		return err
	}
	count, err := strconv.Atoi(strings.TrimPrefix(line, "+OK "))
	if err != nil || count < 0 {
		return fmt.Errorf("unexpected reply %q", line)
	}
	out := bufio.NewWriter(cfg.out)
	for range count + 1 {
		entry, err := fc.r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("reading the list: %w", err)
		}
		entry = strings.TrimSuffix(strings.TrimSuffix(entry, "\n"), "\r")
		name, size, ok := strings.Cut(entry, " ")
		switch {
		case entry == ".":
			return out.Flush()
		case !ok:
			return fmt.Errorf("unexpected list entry %q", entry)
		}
		fmt.Fprintf(out, "%14s  %s\n", size, name)
	}
	return errors.New("the list does not end with \".\"")
}

// filesFlags are the flags of `proactor serve` that only the files server
// takes.
type filesFlags struct {
	root      string
	maxUpload sizeFlag
	minFree   sizeFlag
	readOnly  bool
}

func (f *filesFlags) register(fs *flag.FlagSet) {
	// The sizes start at the library's defaults, which the usage shows.
	f.maxUpload = files.DefaultMaxSize
	f.minFree = files.DefaultMinFree
	fs.StringVar(&f.root, "root", "", "files: serve the directory `DIR` (required for files; optional for http, its static files; refused for the others)")
	fs.Var(&f.maxUpload, "max-upload", "files: refuse uploads over `SIZE`")
	fs.Var(&f.minFree, "min-free", "files: keep `SIZE` free on DIR's file system, refusing uploads that would leave less (0: refuse only what does not fit)")
	fs.BoolVar(&f.readOnly, "read-only", false, "files: refuse every upload and write nothing to DIR")
}

// check checks the files flags against the server chosen: the files
// server needs --root, as serving the current directory by default could
// publish (and let clients overwrite) files by accident; http takes
// --root alone, for its static files, and only when given; the others take
// none of them. fs is the parsed flag set, which tells what was given.
func (f *filesFlags) check(server string, fs *flag.FlagSet) error {
	if server == "files" {
		switch {
		case f.root == "":
			return errors.New("files needs --root DIR, the directory to serve")
		case f.maxUpload == 0:
			// WithMaxSize would read 0 as its default, the opposite.
			return errors.New("invalid --max-upload 0: must be positive (--read-only refuses every upload)")
		}
		return nil
	}
	var err error
	fs.Visit(func(fl *flag.Flag) {
		switch {
		case fl.Name == "root" && server == "http":
		case fl.Name == "root", fl.Name == "max-upload", fl.Name == "min-free", fl.Name == "read-only":
			if err == nil {
				err = fmt.Errorf("--%s is for the files server, not %s", fl.Name, server)
			}
		}
	})
	return err
}

// newHandler opens the files server's root.
func (f *filesFlags) newHandler() (proactor.Handler, error) {
	h, err := files.New(f.root,
		files.WithMaxSize(int64(f.maxUpload)),
		files.WithMinFree(int64(f.minFree)),
		files.WithReadOnly(f.readOnly))
	if err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	return h, nil
}

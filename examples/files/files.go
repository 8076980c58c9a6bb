// Package files is a file server: clients list, download and upload the
// regular files of one directory, the root, over a small text protocol
// that mixes command lines with raw bytes. Downloads leave through
// Conn.SendFile (sendfile(2) on Linux: the bytes go from the page cache to
// the socket without passing through user space); uploads stream to a
// temporary file, are checked against the SHA-256 the client announced,
// fsync'd and renamed into place.
//
// # Protocol
//
// The client sends command lines of at most MaxLine bytes ended by CRLF (a
// bare LF is accepted too); the command word is case-insensitive and the
// arguments are separated by spaces. Every reply starts with a line that
// begins "+OK" or "-ERR message":
//
//	LIST                       +OK count
//	                           then count lines "name size", then "."
//	GET name                   +OK size sha256hex
//	                           then exactly size raw bytes
//	PUT name size sha256hex    +OK
//	                           the client then sends exactly size raw bytes;
//	                           the server answers "+OK stored" once the file
//	                           is safely in place, or "-ERR why"
//	QUIT                       +OK bye, then the server closes
//
// size is a decimal byte count and sha256hex the SHA-256 of the file's
// bytes, 64 hex digits. Commands may be pipelined and are answered in
// order, with one exception: after PUT the client waits for the reply, as
// its bytes follow only a "+OK" (after "-ERR" it sends nothing). Bytes
// that arrive before the reply to a PUT, accepted or refused, or a line
// over MaxLine, break the protocol: the server answers "-ERR" (after the
// PUT's "+OK" if that was already on its way) and closes the connection,
// as the bytes may be a file's, which must not be run as commands. Only a
// PUT of size 0, which no bytes follow, may be pipelined.
//
// # Limits
//
// A PUT is refused with "-ERR why", before any byte of the file is sent,
// when the server is read-only (WithReadOnly), when the size is over its
// limit (WithMaxSize; DefaultMaxSize is 1 GiB), or when the file would not
// fit in the free space of the root's file system less a margin
// (WithMinFree; DefaultMinFree is 256 MiB). The free space is taken less
// the bytes still to come of the uploads in progress, so that uploads
// started together cannot each count on the same space. After such a
// refusal the connection goes on.
//
// The check is made when the upload starts; the disk may still fill
// (another program, a quota that the free space does not show). A disk
// error in the middle of an upload removes the temporary file at once; the
// rest of the announced bytes are read and dropped, and after the last one
// the reply is "-ERR storing ...". The connection goes on, in step:
// closing it instead, with the client's bytes still arriving, would reset
// it, and the reset could destroy the reply before the client read it.
// Reading what is left costs at most the size limit in bandwidth, and no
// disk.
//
// A reply that cannot be queued, because the connection is closing, or was
// aborted as the client left its replies unread past
// proactor.WithMaxWriteQueue, ends the connection's work: the rest of its
// input is dropped, as nobody would see the result.
//
// # Names
//
// A name is a flat file name: 1 to MaxName bytes of A-Z, a-z, 0-9, '.',
// '_' and '-', not starting with '.' or '-' (CheckName). Anything else,
// such as "..", "../x", "/etc/passwd" or "a/b", is refused with "-ERR bad
// name". Every access to the root goes through an os.Root, so a symbolic
// link that leads out of the root is refused as well ("-ERR ... outside
// the root") and LIST leaves it out. GET serves regular files only; PUT
// replaces an existing file atomically. Files whose names do not pass
// CheckName, hidden ones included, are invisible to the protocol.
//
// # Uploads
//
// An upload's bytes go to a hidden temporary file in the root
// (".proactor-upload-" and random letters), hashed as they arrive. After
// the last byte the SHA-256 is compared, the file fsync'd and renamed over
// the name, and the directory fsync'd. A mismatch, a disk error, or a
// connection that closes before the last byte removes the temporary file:
// an interrupted or corrupt upload leaves nothing behind; so does a server
// shutdown, which closes the connections. New and Close also remove the
// temporary files of a server that crashed, so a root must be served by
// one server at a time (read-only servers aside: they write nothing).
//
// # Work off the loops, in order, in bounded memory
//
// Disk and directory work blocks, so none of it runs on proactor's event
// loops. OnData only appends a copy of the bytes to the connection's input
// queue; one job at a time per connection, on a workers.Pool keyed by the
// connection's ID, takes what has arrived, parses the commands, runs them
// and writes the uploaded bytes to disk. The replies therefore leave in
// command order, and an upload needs no buffer of its own. When more than
// 4 MiB wait in a connection's queue (a slow disk, or a flood of commands)
// the connection stops reading (PauseRead) until the queue drains to
// 1 MiB, so that TCP pushes back on the client.
//
// The job also stops, leaving the rest of the queue for later, before a
// command that would add to output the client is not reading: while the
// write queue is over proactor's high watermark (until OnWritable), and
// while 16 GETs still have their file queued (until proactor's completion
// notice, Conn.Mark and OnWritten, reports it handed to the kernel). A
// client that pipelines commands without reading the replies therefore
// costs little memory and at most 16 open files.
//
// # Timeouts
//
// Uploads write nothing back for as long as the bytes flow, so
// proactor.WithReadTimeout (which closes a connection that was read from
// and not answered for its duration) would end long uploads. And proactor
// counts a SendFile as progress only once all of it is sent, so
// proactor.WithWriteTimeout must exceed the longest download. Use
// proactor.WithIdleTimeout to drop silent clients.
package files

import (
	"context"
	"errors"
	"os"
	"sync"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/workers"
)

// DefaultAddr is where `proactor serve files` listens unless told
// otherwise.
const DefaultAddr = "127.0.0.1:5006"

// MaxLine is the longest command line, CRLF excluded.
const MaxLine = 4096

// DefaultMaxSize is the largest upload accepted unless WithMaxSize says
// otherwise: 1 GiB, room for a disk image or a video, while a client that
// announces more is refused before it sends a byte.
const DefaultMaxSize = 1 << 30

// DefaultMinFree is the free space an upload must leave on the root's file
// system unless WithMinFree says otherwise: 256 MiB, so that uploads do not
// take the last of a disk that the system's logs and other programs share.
const DefaultMinFree = 256 << 20

// Option configures a Handler.
type Option func(*config)

type config struct {
	workers    int
	maxSize    int64
	minFree    int64
	minFreeSet bool // minFree was given, 0 included
	readOnly   bool
}

// WithWorkers sets the number of goroutines that do the work of all
// connections. The default, used when n <= 0, is GOMAXPROCS.
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

// WithMaxSize sets the largest upload, in bytes; a PUT announcing more is
// refused. The default, used when n <= 0, is DefaultMaxSize.
func WithMaxSize(n int64) Option { return func(c *config) { c.maxSize = n } }

// WithMinFree sets the bytes an upload must leave free on the root's file
// system; a PUT that would leave less, counting the bytes still to come
// of the uploads in progress, is refused. 0 only asks that the upload
// fits; a negative n turns the check off. The default is DefaultMinFree.
// The check needs statfs (Linux, macOS, FreeBSD, DragonFly) or
// GetDiskFreeSpaceEx (Windows); elsewhere it is off.
func WithMinFree(n int64) Option {
	return func(c *config) { c.minFree, c.minFreeSet = n, true }
}

// WithReadOnly, when on is true, refuses every PUT and leaves the root
// untouched: not even the temporary files of a crashed server are removed,
// so a read-only directory or file system may be served. The default is
// off.
func WithReadOnly(on bool) Option { return func(c *config) { c.readOnly = on } }

// Handler serves the files of one directory. Its callbacks are called by
// proactor; one Handler may serve the connections of several servers, as
// long as they all stop before Close.
type Handler struct {
	root     *os.Root
	pool     *workers.Pool
	maxSize  int64
	readOnly bool
	room     room           // the free space uploads may take
	chunks   sync.Pool      // *[]byte of chunkSize capacity, for the input queues
	waiting  sync.WaitGroup // jobs waiting for room in the pool
}

// Handler is a WritableHandler: OnWritable resumes a connection's job; and
// a WrittenHandler: OnWritten counts a GET's file out.
var (
	_ proactor.WritableHandler = (*Handler)(nil)
	_ proactor.WrittenHandler  = (*Handler)(nil)
)

// New returns a Handler serving dir, which must exist. Unless read-only, it
// removes the temporary files of uploads that a previous server left
// behind.
func New(dir string, opts ...Option) (*Handler, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.maxSize <= 0 {
		cfg.maxSize = DefaultMaxSize
	}
	if !cfg.minFreeSet {
		cfg.minFree = DefaultMinFree
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	h := &Handler{root: root, maxSize: cfg.maxSize, readOnly: cfg.readOnly}
	h.room.minFree = cfg.minFree
	h.room.avail = func() (int64, error) { return freeSpace(root, dir) }
	if err := h.sweep(); err != nil {
		root.Close()
		return nil, err
	}
	// A connection has at most one job queued, so the queue bounds the
	// connections with work waiting; past it, schedule waits for room.
	h.pool = workers.New(cfg.workers, workers.WithQueueSize(1<<16))
	return h, nil
}

// Close waits for the work still queued, removes what interrupted uploads
// left (unless read-only), and closes the root. Call it after the servers using h have
// stopped (Shutdown or Close), never from a callback.
func (h *Handler) Close() error {
	h.pool.Close(context.Background())
	h.waiting.Wait()
	err := h.sweep()
	return errors.Join(err, h.root.Close())
}

// Workers returns the pool that runs the handler's disk work, for
// proactor.WithWorkerPool: its jobs then show in the server's Stats.
func (h *Handler) Workers() *workers.Pool { return h.pool }

// OnOpen gives the connection its state.
func (h *Handler) OnOpen(c *proactor.Conn) { c.SetContext(&session{h: h, c: c}) }

// OnData queues a copy of data for the connection's job; data itself is
// valid only until OnData returns.
func (h *Handler) OnData(c *proactor.Conn, data []byte) { c.Context().(*session).input(data) }

// OnPeerClosed lets the job finish the commands already read, then close.
// An upload cut short by the FIN is discarded.
func (h *Handler) OnPeerClosed(c *proactor.Conn) { c.Context().(*session).end(false) }

// OnClose drops the input not yet processed and has the job discard an
// upload in progress.
func (h *Handler) OnClose(c *proactor.Conn, _ error) {
	if s, ok := c.Context().(*session); ok {
		s.end(true)
	}
}

// OnWritable resumes a job that waits for the client to read its replies.
func (h *Handler) OnWritable(c *proactor.Conn) { c.Context().(*session).unblock(blockWritable) }

// OnWritten counts a GET's file out, sent or not (err: the connection
// ended first), which resumes a job that waits for one.
func (h *Handler) OnWritten(c *proactor.Conn, _ uint64, _ error) { c.Context().(*session).sent() }

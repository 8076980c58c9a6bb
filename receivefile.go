package proactor

import (
	"errors"
	"fmt"
	"os"
)

var (
	// ErrReceiving is returned by ReceiveFile while another receive of
	// the connection is in progress.
	ErrReceiving = errors.New("proactor: a ReceiveFile is in progress")
	// ErrReceiveCanceled is the error done gets when CancelReceive ends a
	// ReceiveFile.
	ErrReceiveCanceled = errors.New("proactor: ReceiveFile canceled")
)

// ReceiveOption configures one ReceiveFile.
type ReceiveOption func(*recvFile)

// ReceiveSync makes ReceiveFile fsync the file (f.Sync) after its last
// byte, on a goroutine of its own so that the loop never waits for the
// disk, and call done with the sync's error. Input that follows the file
// may then reach OnData before done runs. Default: no sync.
func ReceiveSync() ReceiveOption { return func(r *recvFile) { r.sync = true } }

// recvFile is a ReceiveFile in progress. Loop-owned; it hangs off the
// connection's tail so that a Conn pays nothing for the feature.
type recvFile struct {
	f    *os.File
	left int64 // bytes still to come
	n    int64 // bytes written to f
	err  error // the first write error: the rest is read and dropped
	sync bool
	done func(n int64, err error)
}

// ReceiveFile streams the next size bytes of the connection's input into
// f, at f's offset, instead of handing them to OnData: each read is
// written from the engine's read buffer as it arrives (plaintext over
// TLS), so the bytes are never held in memory, whatever size is. The bytes
// after the size go on to the framer and OnData as before. done runs once,
// on the loop in turn with the callbacks, with the bytes written:
//
//   - nil once all size bytes are in f (and synced, with ReceiveSync);
//   - the first write error, once the rest of the size bytes have been read
//     and dropped, so that the stream stays in step and done may answer;
//   - ErrReceiveCanceled after CancelReceive (the bytes that follow go to
//     OnData again);
//   - io.ErrUnexpectedEOF when the peer's FIN comes first (before
//     OnPeerClosed), or the close's reason (ErrClosed for a clean one)
//     when the connection closes first (before OnClose).
//
// Call it on the loop: from a callback of c, or a function given to Do.
// With a framer the bytes following the frame being handled go to the
// file; without one, the receive starts with the next read, and the rest
// of the data in hand is the caller's. f stays the caller's to close; the
// writes run on the loop, where the page cache takes them at memory speed
// (a device that blocks for long stalls the loop's other connections:
// hand such writes to a worker and pace the input with PauseRead). It
// returns ErrReceiving while another receive is in progress and ErrClosed
// once the connection is closing; done is not called then.
func (c *Conn) ReceiveFile(f *os.File, size int64, done func(n int64, err error), opts ...ReceiveOption) error {
	switch {
	case c.closed || c.req.Load() >= reqClose:
		return ErrClosed
	case c.receiving():
		return ErrReceiving
	case size < 0:
		return fmt.Errorf("%w: ReceiveFile size %d", ErrBadOptions, size)
	}
	r := &recvFile{f: f, left: size, done: done}
	for _, o := range opts {
		o(r)
	}
	c.tails().rx = r
	if size == 0 {
		c.endReceive(r, nil)
	}
	return nil
}

// CancelReceive ends the ReceiveFile in progress: its done gets
// ErrReceiveCanceled, and the input that follows goes to OnData again. It
// reports whether a receive was in progress. Call it on the loop, as
// ReceiveFile.
func (c *Conn) CancelReceive() bool {
	if !c.receiving() {
		return false
	}
	c.endReceive(c.tail.rx, ErrReceiveCanceled)
	return true
}

func (c *Conn) receiving() bool { return c.tail != nil && c.tail.rx != nil }

// receive writes what p holds of the file in progress and returns how many
// bytes of p it took.
func (c *Conn) receive(p []byte) int {
	r := c.tail.rx
	k := int(min(int64(len(p)), r.left))
	if r.err == nil && k > 0 {
		w, err := r.f.Write(p[:k])
		r.n += int64(w)
		r.err = err
	}
	r.left -= int64(k)
	if r.left == 0 {
		c.endReceive(r, r.err)
	}
	return k
}

// endReceive ends r with err: done now, or after a sync.
func (c *Conn) endReceive(r *recvFile, err error) {
	c.tail.rx = nil
	if err != nil || !r.sync {
		c.callReceived(r, err)
		return
	}
	c.pin() // c's end, which may come meanwhile, must not let it be reused
	go func() {
		err := r.f.Sync()
		if !c.loop.push(task{kind: taskFunc, fn: func() { c.callReceived(r, err); c.Release() }}) {
			r.done(r.n, err) // the engine is gone: no loop left to run it on
		}
	}()
}

func (c *Conn) callReceived(r *recvFile, err error) {
	defer c.recover("ReceiveFile done")
	r.done(r.n, err)
}

// abortReceive ends a receive in progress because the input ends.
func (c *Conn) abortReceive(err error) {
	if c.receiving() {
		c.endReceive(c.tail.rx, err)
	}
}

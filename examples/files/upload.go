package files

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"strings"
)

// tempPrefix starts the name of every temporary file. CheckName refuses a
// leading '.', so no command can name, list or overwrite one.
const tempPrefix = ".proactor-upload-"

// upload is one PUT, from its "+OK" to "+OK stored" or the removal of its
// temporary file. It is used by the connection's job alone.
type upload struct {
	h        *Handler
	name     string
	size     int64
	want     []byte // the SHA-256 announced
	left     int64  // bytes still to come
	reserved int64  // bytes of h.room still held
	err      error  // the disk's error, after which the bytes are dropped
	tmp      string
	f        *os.File
	hash     hash.Hash
}

// create starts an upload in a new temporary file, holding reserved bytes
// of h.room, which it gives back as the bytes are written.
func (h *Handler) create(name string, size, reserved int64, want []byte) (*upload, error) {
	tmp := tempPrefix + rand.Text()
	f, err := h.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		h.room.release(reserved)
		return nil, err
	}
	return &upload{h: h, name: name, size: size, want: want, left: size, reserved: reserved, tmp: tmp, f: f, hash: sha256.New()}, nil
}

// write stores and hashes the next bytes of the file. After a disk error
// it only counts them: the client sends them anyway, and dropping them
// keeps the stream in step, so that finish can answer "-ERR" and the
// connection go on. The temporary file goes at once, to give the space
// back.
func (up *upload) write(b []byte) {
	up.left -= int64(len(b))
	if up.err != nil {
		return
	}
	up.hash.Write(b)
	if _, err := up.f.Write(b); err != nil {
		up.err = err
		up.remove()
		return
	}
	n := min(int64(len(b)), up.reserved)
	up.reserved -= n
	up.h.room.release(n)
}

// finish checks the SHA-256 once every byte has come, then stores the
// file or removes it. It returns the reply.
func (up *upload) finish() []byte {
	if up.err != nil {
		return fmt.Appendf(nil, "-ERR storing %q: %s\r\n", up.name, describe(up.err))
	}
	if sum := up.hash.Sum(nil); !bytes.Equal(sum, up.want) {
		up.remove()
		return fmt.Appendf(nil, "-ERR sha256 mismatch: received %x, announced %x\r\n", sum, up.want)
	}
	if err := up.store(); err != nil {
		up.remove()
		return fmt.Appendf(nil, "-ERR storing %q: %s\r\n", up.name, describe(err))
	}
	return []byte("+OK stored\r\n")
}

// store makes the temporary file durable and gives it its name.
func (up *upload) store() error {
	if err := up.f.Sync(); err != nil {
		return err
	}
	f := up.f
	up.f = nil
	if err := f.Close(); err != nil {
		return err
	}
	if err := up.h.root.Rename(up.tmp, up.name); err != nil {
		return err
	}
	up.tmp = ""
	// The rename is durable once the directory is; some systems (Windows)
	// cannot sync a directory, and the file is in place either way.
	if d, err := up.h.root.Open("."); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// remove closes and deletes the temporary file, and gives back the room
// it still held.
func (up *upload) remove() {
	up.h.room.release(up.reserved)
	up.reserved = 0
	if up.f != nil {
		up.f.Close()
		up.f = nil
	}
	if up.tmp != "" {
		up.h.root.Remove(up.tmp)
		up.tmp = ""
	}
}

// sweep removes the temporary files in the root. A read-only handler
// writes nothing, and has no uploads of its own to clean up.
func (h *Handler) sweep() error {
	if h.readOnly {
		return nil
	}
	entries, err := fs.ReadDir(h.root.FS(), ".")
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			if err := h.root.Remove(e.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

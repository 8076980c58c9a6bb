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
	h    *Handler
	name string
	size int64
	want []byte // the SHA-256 announced
	left int64  // bytes still to come
	tmp  string
	f    *os.File
	hash hash.Hash
}

// create starts an upload in a new temporary file.
func (h *Handler) create(name string, size int64, want []byte) (*upload, error) {
	tmp := tempPrefix + rand.Text()
	f, err := h.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return &upload{h: h, name: name, size: size, want: want, left: size, tmp: tmp, f: f, hash: sha256.New()}, nil
}

// write stores and hashes the next bytes of the file.
func (up *upload) write(b []byte) error {
	up.left -= int64(len(b))
	up.hash.Write(b)
	_, err := up.f.Write(b)
	return err
}

// finish checks the SHA-256 once every byte is written, then stores the
// file or removes it. It returns the reply.
func (up *upload) finish() []byte {
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

// remove closes and deletes the temporary file.
func (up *upload) remove() {
	if up.f != nil {
		up.f.Close()
		up.f = nil
	}
	if up.tmp != "" {
		up.h.root.Remove(up.tmp)
		up.tmp = ""
	}
}

// sweep removes the temporary files in the root.
func (h *Handler) sweep() error {
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

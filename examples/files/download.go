package files

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// get runs GET: it hashes the file, answers "+OK size sha256hex" and
// queues the file itself with SendFile, which takes the descriptor over.
// The file counts in sending until proactor reports it handed to the
// kernel: a Mark behind it, and the Handler's OnWritten.
func (s *session) get(name string) {
	// O_NONBLOCK: opening a FIFO that a local user put in the root would
	// otherwise wait for a writer and hold the worker. It changes nothing
	// for a regular file, the only kind served.
	f, err := s.h.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		s.reply("-ERR %q: %s\r\n", name, describe(err))
		return
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	var sum []byte
	if err == nil {
		sum, err = hashFile(f, info.Size())
	}
	if err != nil {
		f.Close()
		s.reply("-ERR %q: %s\r\n", name, describe(err))
		return
	}
	if !s.write(fmt.Appendf(nil, "+OK %d %x\r\n", info.Size(), sum)) {
		f.Close()
		return
	}
	if err := s.c.SendFile(f, 0, int(info.Size())); err != nil {
		// Closing or aborted, as for a refused write; SendFile closed f.
		s.stop()
		return
	}
	s.mu.Lock()
	s.sending++ // before the mark: its notice may come at once
	s.mu.Unlock()
	if _, err := s.c.Mark(); err != nil {
		// Aborted meanwhile: no notice will come.
		s.sent()
		s.stop()
	}
}

// sent counts a GET's file out: OnWritten reported its mark, because the
// file has been handed to the kernel or the connection has ended. Only
// GETs mark, so each notice is one file, the oldest still counted.
func (s *session) sent() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sending--
	if s.blocked&blockSending != 0 && s.sending < maxSending {
		s.blocked &^= blockSending
		s.wake()
	}
}

// hashFile returns the SHA-256 of f's first size bytes, read with ReadAt
// so that f's offset stays at 0. A file that shrank meanwhile is an error.
func hashFile(f *os.File, size int64) ([]byte, error) {
	h := sha256.New()
	n, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, size), make([]byte, 1<<20))
	if err != nil {
		return nil, err
	}
	if n != size {
		return nil, errors.New("the file changed while it was read")
	}
	return h.Sum(nil), nil
}

// list runs LIST: the regular files with valid names, sorted, with
// symbolic links followed inside the root and those leading out left out.
func (s *session) list() {
	entries, err := fs.ReadDir(s.h.root.FS(), ".")
	if err != nil {
		s.reply("-ERR listing the root: %s\r\n", describe(err))
		return
	}
	var body []byte
	count := 0
	for _, e := range entries {
		name := e.Name()
		if CheckName(name) != nil {
			continue
		}
		var info fs.FileInfo
		switch {
		case e.Type().IsRegular():
			info, err = e.Info()
		case e.Type()&fs.ModeSymlink != 0:
			info, err = s.h.root.Stat(name)
		default:
			continue
		}
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		body = fmt.Appendf(body, "%s %d\r\n", name, info.Size())
		count++
	}
	if _, err := s.c.Writev([][]byte{fmt.Appendf(nil, "+OK %d\r\n", count), body, []byte(".\r\n")}); err != nil {
		s.stop()
	}
}

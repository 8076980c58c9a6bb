package sock

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestRawErrors checks that raw decodes the kernel's error return: the
// message path's read, write and writev report errno values as
// unix.RawSyscall did, and their results on success.
func TestRawErrors(t *testing.T) {
	buf := make([]byte, 8)
	if _, err := Read(-1, buf); err != unix.EBADF {
		t.Fatalf("Read(-1): %v, want EBADF", err)
	}
	var w Writer
	if n, rest, err := w.Writev(-1, [][]byte{buf}); err != unix.EBADF || n != 0 || len(rest) != 1 {
		t.Fatalf("Writev(-1) of one slice: %d, %d left, %v; want 0, 1 left, EBADF", n, len(rest), err)
	}
	if _, _, err := w.Writev(-1, [][]byte{buf, buf}); err != unix.EBADF {
		t.Fatalf("Writev(-1) of two slices: %v, want EBADF", err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	if _, err := Read(fds[0], buf); err != unix.EAGAIN {
		t.Fatalf("Read of an empty socket: %v, want EAGAIN", err)
	}
	if n, rest, err := w.Writev(fds[1], [][]byte{[]byte("hello")}); n != 5 || rest != nil || err != nil {
		t.Fatalf("Writev of one slice: %d, %v, %v; want 5, nil, nil", n, rest, err)
	}
	if n, rest, err := w.Writev(fds[1], [][]byte{[]byte("ab"), []byte("cd")}); n != 4 || rest != nil || err != nil {
		t.Fatalf("Writev of two slices: %d, %v, %v; want 4, nil, nil", n, rest, err)
	}
	if n, err := Read(fds[0], buf); n != 8 || err != nil || string(buf) != "helloabc" {
		t.Fatalf("Read: %d %q %v; want 8 \"helloabc\" nil", n, buf[:n], err)
	}
	// More than the socket takes: what is left, and EAGAIN.
	big := make([]byte, 16<<20)
	n, rest, err := w.Writev(fds[1], [][]byte{big})
	if err != unix.EAGAIN || n <= 0 || n >= len(big) || len(rest) != 1 || len(rest[0]) != len(big)-n {
		t.Fatalf("Writev of a slice larger than the socket takes: %d, %d left, %v", n, len(rest), err)
	}
}

//go:build linux || darwin || freebsd || dragonfly

package files

import (
	"os"

	"golang.org/x/sys/unix"
)

// freeSpace returns the bytes free for unprivileged users on the file
// system holding the root (statfs's f_bavail: what root alone may use is
// left out). It asks through a descriptor of the root, which follows the
// directory wherever it is renamed or mounted.
func freeSpace(root *os.Root, _ string) (int64, error) {
	d, err := root.Open(".")
	if err != nil {
		return 0, err
	}
	defer d.Close()
	rc, err := d.SyscallConn()
	if err != nil {
		return 0, err
	}
	var st unix.Statfs_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fstatfs(int(fd), &st) }); err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, os.NewSyscallError("fstatfs", serr)
	}
	// Bavail is signed on the BSDs, where it goes below 0 once users have
	// eaten into root's reserve.
	return max(int64(st.Bavail), 0) * int64(st.Bsize), nil
}

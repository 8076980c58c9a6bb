package files

import (
	"os"

	"golang.org/x/sys/windows"
)

// freeSpace returns the bytes free for the server's user (quotas applied)
// on the volume holding dir, the root's path.
func freeSpace(_ *os.Root, dir string) (int64, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, err
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &free); err != nil {
		return 0, os.NewSyscallError("GetDiskFreeSpaceEx", err)
	}
	return int64(min(avail, 1<<63-1)), nil
}

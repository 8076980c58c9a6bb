//go:build unix

package activation

import (
	"os"
	"syscall"
)

// Files returns the descriptors handed to this process, named as
// LISTEN_FDNAMES says, or none when nothing was handed over. It sets
// close-on-exec on each and unsets the LISTEN_ variables, so a second call
// returns none. The caller owns the files.
func Files() ([]*os.File, error) {
	defer unsetListenEnv()
	n, names, err := parse(os.Getpid(), os.LookupEnv)
	if err != nil {
		return nil, err
	}
	files := make([]*os.File, n)
	for i := range n {
		fd := firstFD + i
		syscall.CloseOnExec(fd)
		files[i] = os.NewFile(uintptr(fd), names[i])
	}
	return files, nil
}

//go:build !unix

package activation

import "os"

// Files returns the descriptors handed to this process: none on this
// platform, where descriptors are not inherited by number.
func Files() ([]*os.File, error) {
	unsetListenEnv()
	return nil, nil
}

//go:build !(linux || darwin || freebsd || dragonfly || windows)

package files

import (
	"errors"
	"os"
)

// freeSpace cannot tell the free space here: uploads are limited by
// WithMaxSize alone.
func freeSpace(*os.Root, string) (int64, error) { return 0, errors.ErrUnsupported }

//go:build !unix

package activation

import (
	"context"
	"errors"
	"os"
)

// Child is a program to start with descriptors handed over.
type Child struct {
	Path  string
	Args  []string
	Files []*os.File
	Names []string
	Env   []string
}

// Start is not supported on this platform: descriptors are not inherited
// by number.
func Start(ctx context.Context, c Child) (int, error) { return 0, errors.ErrUnsupported }

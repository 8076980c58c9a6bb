//go:build !linux

package sockopt

import "time"

func deferAccept(uintptr, time.Duration) (bool, error) { return false, nil }

//go:build !linux

package sockopt

import "time"

func deferAccept(uintptr, time.Duration) (time.Duration, bool, error) { return 0, false, nil }

package sockopt

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Linux counts TCP_DEFER_ACCEPT's wait in SYN-ACK retransmissions: it
// turns the seconds asked for into the fewest retransmissions whose timer
// (1s, doubling, at most TCP_RTO_MAX) adds up to them, and hands a client
// that has acknowledged the SYN-ACK but sent nothing over when the last of
// those retransmissions is answered. So it holds such a client for one of
// 1, 3, 7, 15, 31, 63, 127... seconds after its SYN, whatever is asked.
const (
	synAckTimeout = time.Second       // TCP_TIMEOUT_INIT
	rtoMax        = 120 * time.Second // TCP_RTO_MAX
)

// deferWait is the longest wait the kernel honours that is no longer than
// max, or 0 when even the shortest is longer.
func deferWait(max time.Duration) time.Duration {
	var wait time.Duration
	for step := synAckTimeout; wait+step <= max; step = min(2*step, rtoMax) {
		wait += step
	}
	return wait
}

func deferAccept(fd uintptr, max time.Duration) (time.Duration, bool, error) {
	wait := deferWait(max)
	// Zero turns deferring off: a listener that had it from its maker
	// must not hold clients longer than max.
	err := unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, int(wait/time.Second))
	if err != nil {
		return 0, true, os.NewSyscallError("setsockopt", err)
	}
	return wait, true, nil
}

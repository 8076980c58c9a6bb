package proactor

import (
	"runtime/debug"
	"time"
)

// An engine gives back memory that a burst left behind. The write queue's
// chunks and the buffer pool (which holds the input held back) are free
// lists that keep what they are given; every trimEvery the engine drops
// what sat unused in them for a whole period, so a steady load keeps its
// working set and a burst's memory is let go within two periods. The
// runtime would return it to the OS only after a collection, and when a
// burst ends nothing allocates, so none comes for minutes (the forced one
// every two), and then its scavenger returns pages slowly: 20 peers that
// never read left over a gigabyte resident for more than four minutes. So
// a trim that let go of much asks the runtime to collect and return freed
// memory at once (debug.FreeOSMemory), at most once a period.
const (
	trimEvery = 10 * time.Second
	freeOSAt  = 16 << 20
)

// startTrim starts the goroutine that trims every period until stopTrim;
// a period of 0 or less trims never.
func (e *Engine) startTrim(period time.Duration) {
	if period <= 0 {
		return
	}
	e.trimStop, e.trimDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(e.trimDone)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-e.trimStop:
				return
			case <-t.C:
				if e.trim() >= freeOSAt {
					debug.FreeOSMemory()
				}
			}
		}
	}()
}

// stopTrim stops the trimming and waits for a trim under way.
func (e *Engine) stopTrim() {
	if e.trimStop != nil {
		close(e.trimStop)
		<-e.trimDone
	}
}

// trim drops the engine's free memory unused since the last trim and
// returns its bytes. (No engine keeps spare memory of its own any more:
// input held back is in the buffer pool's buffers, inbox.go.)
func (e *Engine) trim() int {
	return e.chunks.trim() + int(e.bufs.Trim())
}

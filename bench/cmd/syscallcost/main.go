// Command syscallcost measures what entering and leaving the kernel costs
// on this machine, apart from any work done inside: a getppid(2) loop, made
// raw (RawSyscall) and as Go makes a blocking call (Syscall, which tells
// the scheduler). It bounds what saving system calls can win: an engine
// that makes k fewer calls per message saves about k times this, whatever
// the calls were.
//
//	cd bench && go run ./cmd/syscallcost
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"time"
)

func main() {
	n := flag.Int("n", 2_000_000, "calls per measurement")
	rounds := flag.Int("rounds", 5, "measurements; the median is printed")
	flag.Parse()
	if len(calls) == 0 {
		fmt.Fprintln(os.Stderr, "syscallcost: not supported on this platform")
		os.Exit(1)
	}
	for _, m := range calls {
		var per []time.Duration
		for range *rounds {
			start := time.Now()
			for range *n {
				m.call()
			}
			per = append(per, time.Since(start)/time.Duration(*n))
		}
		slices.Sort(per)
		fmt.Printf("%-20s %v per call (median of %d × %d; range %v–%v)\n", m.name, per[len(per)/2], *rounds, *n, per[0], per[len(per)-1])
	}
}

type measured struct {
	name string
	call func()
}

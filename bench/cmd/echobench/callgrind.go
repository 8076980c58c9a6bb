package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/seed487d475b/proactor/internal/loadgen"
)

// Callgrind mode (--callgrind DIR) runs each server under valgrind's
// callgrind and counts the server's user-space instructions in the measured
// window: counters are zeroed when the window opens (callgrind_control -z)
// and dumped when it closes (-d). Unlike CPU time, the count does not move
// with the load on the rest of the machine, so small differences between
// servers (or between two builds of one) can be trusted; it leaves out the
// kernel's share, which the system-call counts stand for. The server runs
// some 20-50 times slower under valgrind, so it, not the load generator, is
// the bottleneck: every server sees the most batching it can get, and the
// throughput, latency and CPU figures of such a run mean nothing.

// callgrindWrap returns the command that runs argv under callgrind, its
// dumps going to dir with prefix.
func callgrindWrap(dir, prefix string, argv []string) []string {
	return append([]string{"valgrind", "--tool=callgrind", "--quiet",
		"--callgrind-out-file=" + filepath.Join(dir, prefix+".%p")}, argv...)
}

// callgrindControl runs callgrind_control with op (-z: zero, -d: dump) on
// the server, waiting for valgrind to answer.
func callgrindControl(op string, pid int) error {
	out, err := exec.Command("callgrind_control", op, strconv.Itoa(pid)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("callgrind_control %s %d: %v: %s", op, pid, err, out)
	}
	return nil
}

// callgrindAt runs callgrind_control op on the server and returns the
// load's operation count at that moment: the midpoint of the counts before
// and after the call, so that operations during it count half.
func callgrindAt(op string, pid int, run *loadgen.Run) (int64, error) {
	before := run.Done()
	if err := callgrindControl(op, pid); err != nil {
		return 0, err
	}
	return (before + run.Done()) / 2, nil
}

// callgrindTotal reads the instruction total of the server's newest dump.
func callgrindTotal(dir, prefix string, pid int) (int64, error) {
	dumps, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf("%s.%d.*", prefix, pid)))
	if len(dumps) == 0 {
		return 0, fmt.Errorf("callgrind: no dump of pid %d in %s", pid, dir)
	}
	newest, when := "", int64(0)
	for _, d := range dumps {
		if st, err := os.Stat(d); err == nil && st.ModTime().UnixNano() >= when {
			newest, when = d, st.ModTime().UnixNano()
		}
	}
	f, err := os.Open(newest)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "totals:"); ok {
			return strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("callgrind: no totals line in %s", newest)
}

// callgrindCheck says whether valgrind and callgrind_control are here.
func callgrindCheck() error {
	for _, c := range []string{"valgrind", "callgrind_control"} {
		if _, err := exec.LookPath(c); err != nil {
			return fmt.Errorf("--callgrind needs %s (Debian: apt-get install valgrind)", c)
		}
	}
	return nil
}

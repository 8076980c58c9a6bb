package files_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDiskErrorMidUpload has the disk fail in the middle of an upload
// (RLIMIT_FSIZE, in a child process so that no other test meets the
// limit): the temporary file goes at once, the rest of the upload is read
// and dropped, "-ERR" comes after its last byte, and the connection goes
// on, in step.
func TestDiskErrorMidUpload(t *testing.T) {
	if os.Getenv(fsizeChild) == "" {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDiskErrorMidUpload$", "-test.v")
		cmd.Env = append(os.Environ(), fsizeChild+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestDiskErrorMidUpload") {
			t.Fatalf("the child: %v\n%s", err, out)
		}
		return
	}
	limitFileSize(t, 1<<20)
	forEachEngine(t, func(t *testing.T, engine string) {
		s := start(t, engine)
		cl := dial(t, s.addr)
		data := randomBytes(t, 6<<20) // past the limit, and past the input queue's high watermark
		cl.Send(fmt.Sprintf("PUT big %d %x\r\n", len(data), sha256.Sum256(data)))
		cl.want("+OK")
		if _, err := cl.C.Write(data); err != nil {
			t.Fatal(err)
		}
		cl.want(`-ERR storing "big": file too large`)
		waitDir(t, s.dir)
		// In step: the next command is read as one, and small files still
		// fit under the limit.
		if got := cl.put("small", []byte("fits")); got != "+OK stored" {
			t.Fatalf("PUT after the failed one: %q", got)
		}
		if got := cl.list(); !slices.Equal(got, []string{"small 4"}) {
			t.Fatalf("LIST = %q", got)
		}
	})
}

// fsizeChild is set in the environment of TestDiskErrorMidUpload's child.
const fsizeChild = "FILES_TEST_FSIZE_CHILD"

// limitFileSize makes writes past n bytes of a file fail with EFBIG, in
// the whole process: call it only in a child that runs one test.
func limitFileSize(t *testing.T, n uint64) {
	// The kernel also sends SIGXFSZ, whose default action ends the process.
	signal.Ignore(syscall.SIGXFSZ)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
		t.Fatal(err)
	}
}

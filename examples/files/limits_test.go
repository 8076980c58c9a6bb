package files_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/seed487d475b/proactor/examples/files"
)

// TestUploadLimits checks the refusals of a PUT before any byte of it is
// sent: the "-ERR" says why, nothing is created, and the connection goes
// on.
func TestUploadLimits(t *testing.T) {
	hash := fmt.Sprintf("%x", sha256.Sum256([]byte("x")))
	tests := []struct {
		name string
		opts []files.Option
		send string
		want string // the reply line's start
	}{
		// A client may announce any size; without an option it is held
		// to the default, far below the disk's size.
		{name: "DefaultMaxSize", send: fmt.Sprintf("PUT a %d %s", files.DefaultMaxSize+1, hash),
			want: fmt.Sprintf("-ERR %d bytes is over the limit of %d", files.DefaultMaxSize+1, files.DefaultMaxSize)},
		{name: "MaxSize", opts: []files.Option{files.WithMaxSize(10)}, send: "PUT a 11 " + hash,
			want: "-ERR 11 bytes is over the limit of 10"},
		{name: "ReadOnly", opts: []files.Option{files.WithReadOnly(true)}, send: "PUT a 1 " + hash,
			want: "-ERR read-only server: uploads are refused"},
		{name: "ReadOnlyEmpty", opts: []files.Option{files.WithReadOnly(true)}, send: fmt.Sprintf("PUT e 0 %x", sha256.Sum256(nil)),
			want: "-ERR read-only server: uploads are refused"},
		{name: "ReadOnlyUsage", opts: []files.Option{files.WithReadOnly(true)}, send: "PUT",
			want: "-ERR read-only server: uploads are refused"},
	}
	if hasFreeSpace() {
		// No disk has 4 EiB free: the real free space is asked.
		tests = append(tests, struct {
			name string
			opts []files.Option
			send string
			want string
		}{name: "MinFree", opts: []files.Option{files.WithMinFree(1 << 62)}, send: "PUT a 1 " + hash,
			want: fmt.Sprintf("-ERR not enough space for 1 bytes (the server keeps %d bytes free)", int64(1<<62))})
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := start(t, engine, tt.opts...)
				if err := os.WriteFile(filepath.Join(s.dir, "keep"), []byte("kept"), 0o644); err != nil {
					t.Fatal(err)
				}
				cl := dial(t, s.addr)
				cl.Send(tt.send + "\r\n")
				cl.wantPrefix(tt.want)
				// The connection goes on, and reads still work.
				if got := cl.list(); !slices.Equal(got, []string{"keep 4"}) {
					t.Fatalf("LIST after the refusal = %q", got)
				}
				if got := cl.get("keep"); string(got) != "kept" {
					t.Fatalf("GET keep = %q", got)
				}
				if got := dirNames(t, s.dir); !slices.Equal(got, []string{"keep"}) {
					t.Fatalf("the root holds %q after a refused PUT", got)
				}
			})
		}
	})
}

// TestLimitsAdmit checks that the limits refuse only what they must: an
// upload of exactly the largest size is stored, and so is any with the
// space check off.
func TestLimitsAdmit(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := start(t, engine, files.WithMaxSize(5), files.WithMinFree(0))
		cl := dial(t, s.addr)
		if got := cl.put("a", []byte("12345")); got != "+OK stored" {
			t.Fatalf("PUT of exactly the limit: %q", got)
		}
		s = start(t, engine, files.WithMinFree(-1<<62)) // off, however little is free
		cl = dial(t, s.addr)
		if got := cl.put("a", []byte("x")); got != "+OK stored" {
			t.Fatalf("PUT with the space check off: %q", got)
		}
	})
}

// TestReadOnlyLeavesRoot checks that a read-only handler writes nothing:
// not even the temporary file a crashed server left is removed, by New or
// by Close.
func TestReadOnlyLeavesRoot(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".proactor-upload-OLD")
	if err := os.WriteFile(stale, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := files.New(dir, files.WithReadOnly(true))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("a read-only handler removed a file of the root: %v", err)
	}
}

// hasFreeSpace says whether the system tells the free space, and so
// whether WithMinFree has an effect.
func hasFreeSpace() bool {
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd", "dragonfly", "windows":
		return true
	}
	return false
}

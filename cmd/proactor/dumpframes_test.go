package main

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestServeDumpBadFrames: `serve packet --dump-bad-frames 8` logs the first
// 8 bytes of a malformed packet (a length byte of 0), in hex; without the
// flag nothing is.
func TestServeDumpBadFrames(t *testing.T) {
	bin := buildBinary(t)
	for _, tc := range []struct {
		name  string
		flags []string
		want  bool
	}{
		{"On", []string{"--dump-bad-frames", "8"}, true},
		{"Off", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "packet", "--listen", "127.0.0.1:0", "--loops", "1"}, tc.flags...)
			cmd, lines := startServe(t, bin, args...)
			addr := waitListening(t, t.Context(), lines)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(testTimeout))
			c.Write([]byte("\x00ABCDEFGHIJ"))
			io.Copy(io.Discard, c) // the server closes the connection
			_, stderr := stopServe(t, cmd, lines)
			dumped := strings.Contains(stderr, "bad frame") && strings.Contains(stderr, "00 41 42 43 44 45 46 47") &&
				!strings.Contains(stderr, "00 41 42 43 44 45 46 47 48")
			if dumped != tc.want {
				t.Fatalf("dumped %v, want %v; stderr:\n%s", dumped, tc.want, stderr)
			}
		})
	}
}

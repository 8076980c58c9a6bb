package conformance

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/codec"
)

// testDumpBadFrames: with WithDumpBadFrames the close reason of a framing
// error carries the first bytes of the refused frame (not those of the good
// frame before it), still matches the sentinel, and the log shows them in
// hex; without it the reason is the bare sentinel.
func testDumpBadFrames(t *testing.T, b Backend) {
	f := codec.LengthPrefixed{HeaderSize: 2, MaxFrame: 100}
	ok, _ := f.Append(nil, []byte("ok"))
	bad := []byte{0, 200, 'G', 'E', 'T', ' ', '/', 'x', 'y', 'z'}
	for _, tc := range []struct {
		name string
		dump int
		want []byte // nil: no dump
	}{
		{"Off", 0, nil},
		{"Short", 4, bad[:4]},
		{"Long", 64, bad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			r := newRecorder(t)
			_, addr := serve(t, b, r, proactor.WithFramer(f), proactor.WithDumpBadFrames(tc.dump),
				proactor.WithLogger(logs.logger()))
			c := dial(t, b, addr)
			// One write: the good frame and the bad one arrive together.
			c.Write(append(append([]byte{}, ok...), bad...))
			ev := r.waitClose(t)
			if !errors.Is(ev.err, proactor.ErrFrameTooLarge) {
				t.Fatalf("%v; want ErrFrameTooLarge", ev)
			}
			var be *proactor.BadFrameError
			if !errors.As(ev.err, &be) {
				if tc.want != nil {
					t.Fatalf("%v: not a *BadFrameError", ev)
				}
				if strings.Contains(logs.String(), "bad frame") {
					t.Fatalf("logged without the option:\n%s", logs.String())
				}
				return
			}
			if tc.want == nil {
				t.Fatalf("%v: a dump without the option", ev)
			}
			if !bytes.Equal(be.Input, tc.want) {
				t.Fatalf("dumped % x, want % x", be.Input, tc.want)
			}
			if !strings.Contains(ev.err.Error(), "00c84745") {
				t.Fatalf("the message shows no hex: %v", ev.err)
			}
			if !strings.Contains(logs.String(), "00 c8 47 45") {
				t.Fatalf("the log shows no hex dump:\n%s", logs.String())
			}
		})
	}
}

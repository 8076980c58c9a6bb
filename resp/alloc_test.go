//go:build !race

package resp_test

import (
	"testing"

	"github.com/seed487d475b/proactor/resp"
)

// TestParseAllocs asserts that parsing a command, and framing one, allocates
// nothing once the argument slice has grown, the per-command hot path. The
// race detector allocates on its own, hence the build tag.
func TestParseAllocs(t *testing.T) {
	bufs := map[string][]byte{
		"array":   []byte("*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000042\r\n$3\r\nxxx\r\n"),
		"inline":  []byte("SET key:42 xxx\r\n"),
		"partial": []byte("*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000042\r\n$3\r\nx"),
	}
	args := make([][]byte, 0, 8)
	for name, buf := range bufs {
		allocs := testing.AllocsPerRun(100, func() {
			var err error
			if args, _, _, err = (resp.Limits{}).Parse(buf, args[:0]); err != nil {
				t.Fatal(err)
			}
			if _, _, _, err = (resp.PipelineFramer{}).Next(buf); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per command, want 0", name, allocs)
		}
	}
}

// TestAppendAllocs asserts that replies are appended without allocating
// once the buffer has room.
func TestAppendAllocs(t *testing.T) {
	out := make([]byte, 0, 256)
	val := []byte("value")
	allocs := testing.AllocsPerRun(100, func() {
		out = resp.AppendSimple(out[:0], "OK")
		out = resp.AppendError(out, "ERR no")
		out = resp.AppendInt(out, 12345)
		out = resp.AppendBulk(out, val)
		out = resp.AppendNull(out)
		out = resp.AppendArray(out, 2)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per round of replies, want 0", allocs)
	}
}

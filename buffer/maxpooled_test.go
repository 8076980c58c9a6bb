package buffer_test

import (
	"testing"

	"github.com/seed487d475b/proactor/buffer"
)

// TestMaxPooled: above WithMaxPooled's size a buffer is not kept for
// reuse; at it, it is.
func TestMaxPooled(t *testing.T) {
	for _, tc := range []struct {
		name           string
		max, size      int
		kept           bool
		wantRetained   int64
		wantCapAtLeast int
	}{
		{"AtBound", 1 << 20, 1 << 20, true, 1 << 20, 1 << 20},
		{"AboveBound", 1 << 20, 1<<20 + 1, false, 0, 1<<20 + 1},
		{"RoundedUp", 1000, 1024, true, 1024, 1024},
		{"AboveRounded", 1000, 1025, false, 0, 1025},
		{"Default16MiB", 0, 16 << 20, true, 16 << 20, 16 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []buffer.Option
			if tc.max > 0 {
				opts = append(opts, buffer.WithMaxPooled(tc.max))
			}
			p := buffer.NewPool(opts...)
			b := p.Get(tc.size)
			if b.Cap() < tc.wantCapAtLeast || len(b.Bytes()) != tc.size {
				t.Fatalf("Get(%d): len %d cap %d", tc.size, len(b.Bytes()), b.Cap())
			}
			b.Release()
			st := p.Stats()
			if st.Retained != tc.wantRetained || (st.Drops == 0) != tc.kept {
				t.Fatalf("after release: %+v; want %d retained, kept %v", st, tc.wantRetained, tc.kept)
			}
		})
	}
}

package proactor_test

import (
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/buffer"
)

// TestBufferPoolOptions: an engine uses the pool it is given, or sizes its
// own as told, and trims at the interval it is given.
func TestBufferPoolOptions(t *testing.T) {
	for _, name := range proactor.Engines() {
		t.Run(name, func(t *testing.T) {
			mine := buffer.NewPool()
			e, err := proactor.NewEngine(proactor.WithEngineName(name), proactor.WithLoops(1), proactor.WithBufferPool(mine))
			if err != nil {
				t.Fatal(err)
			}
			if e.Buffers() != mine {
				t.Error("WithBufferPool: the engine has a pool of its own")
			}
			e.Close()

			// One free buffer kept per class, none above 4 KiB.
			e, err = proactor.NewEngine(proactor.WithEngineName(name), proactor.WithLoops(1),
				proactor.WithBufferOptions(buffer.WithMaxRetained(1), buffer.WithMaxPooled(4096)))
			if err != nil {
				t.Fatal(err)
			}
			p := e.Buffers()
			bs := []*buffer.Buffer{p.Get(1000), p.Get(1000), p.Get(1000), p.Get(8192)}
			for _, b := range bs {
				b.Release()
			}
			if st := p.Stats(); st.Puts != 1 || st.Drops != 3 || st.Retained != 1024 {
				t.Errorf("WithBufferOptions: %+v; want 1 kept (1 KiB) and 3 dropped", st)
			}
			e.Close()

			e, err = proactor.NewEngine(proactor.WithEngineName(name), proactor.WithLoops(1),
				proactor.WithTrimInterval(20*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			e.Buffers().Get(1000).Release()
			// Gone within two periods; the default period is 10s.
			deadline := time.Now().Add(5 * time.Second)
			for e.Buffers().Stats().Retained != 0 {
				if time.Now().After(deadline) {
					t.Fatal("WithTrimInterval: the free buffer is still kept")
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

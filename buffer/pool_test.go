package buffer_test

import (
	"testing"

	"github.com/seed487d475b/proactor/buffer"
)

const mib = 1 << 20

func TestGetSizeClass(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		wantCap int
		pooled  bool
	}{
		{name: "zero", n: 0, wantCap: 256, pooled: true},
		{name: "one", n: 1, wantCap: 256, pooled: true},
		{name: "smallest class", n: 256, wantCap: 256, pooled: true},
		{name: "just over smallest", n: 257, wantCap: 512, pooled: true},
		{name: "middle", n: 3000, wantCap: 4096, pooled: true},
		{name: "64 KiB", n: 64 << 10, wantCap: 64 << 10, pooled: true},
		{name: "largest class", n: 16 * mib, wantCap: 16 * mib, pooled: true},
		{name: "over largest class", n: 16*mib + 1, wantCap: 16*mib + 1, pooled: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := buffer.NewPool()
			b := p.Get(tt.n)
			if got := len(b.Bytes()); got != tt.n {
				t.Errorf("len = %d, want %d", got, tt.n)
			}
			if got := b.Cap(); got != tt.wantCap {
				t.Errorf("Cap() = %d, want %d", got, tt.wantCap)
			}
			if got := b.Refs(); got != 1 {
				t.Errorf("Refs() = %d, want 1", got)
			}
			b.Release()
			want := buffer.Stats{Gets: 1, Allocs: 1, Puts: 1, Retained: int64(tt.wantCap)}
			if !tt.pooled {
				want = buffer.Stats{Gets: 1, Allocs: 1, Drops: 1}
			}
			if got := p.Stats(); got != want {
				t.Errorf("Stats() = %+v, want %+v", got, want)
			}
		})
	}
}

func TestReuseAfterRelease(t *testing.T) {
	tests := []struct {
		name      string
		first     int
		second    int
		wantReuse bool
	}{
		{name: "same size", first: 1000, second: 1000, wantReuse: true},
		{name: "same class", first: 600, second: 1024, wantReuse: true},
		{name: "larger class", first: 1000, second: 1025, wantReuse: false},
		{name: "smaller class", first: 1000, second: 512, wantReuse: false},
		{name: "oversized", first: 16*mib + 1, second: 16*mib + 1, wantReuse: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := buffer.NewPool()
			b1 := p.Get(tt.first)
			b1.Release()
			b2 := p.Get(tt.second)
			defer b2.Release()
			if got := b1 == b2; got != tt.wantReuse {
				t.Errorf("reused = %v, want %v", got, tt.wantReuse)
			}
			if got := len(b2.Bytes()); got != tt.second {
				t.Errorf("len = %d, want %d", got, tt.second)
			}
			var hits uint64
			if tt.wantReuse {
				hits = 1
			}
			if s := p.Stats(); s.Hits != hits || s.Gets != 2 {
				t.Errorf("Stats() = %+v, want Gets 2 Hits %d", s, hits)
			}
		})
	}
}

func TestMaxRetained(t *testing.T) {
	tests := []struct {
		name     string
		opts     []buffer.Option
		size     int
		wantKept int
	}{
		{name: "default small class", size: 4096, wantKept: 1024},
		{name: "default 64 KiB", size: 64 << 10, wantKept: 1024},
		{name: "default 128 KiB", size: 128 << 10, wantKept: 512},
		{name: "default 1 MiB", size: mib, wantKept: 64},
		{name: "default 16 MiB", size: 16 * mib, wantKept: 4},
		{name: "zero means default", opts: []buffer.Option{buffer.WithMaxRetained(0)}, size: 256, wantKept: 1024},
		{name: "explicit", opts: []buffer.Option{buffer.WithMaxRetained(3)}, size: 1000, wantKept: 3},
		{name: "explicit scaled", opts: []buffer.Option{buffer.WithMaxRetained(8)}, size: 256 << 10, wantKept: 2},
		{name: "explicit floor of one", opts: []buffer.Option{buffer.WithMaxRetained(2)}, size: 16 * mib, wantKept: 1},
		{name: "negative keeps none", opts: []buffer.Option{buffer.WithMaxRetained(-1)}, size: 256, wantKept: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := buffer.NewPool(tt.opts...)
			const extra = 5
			bufs := make([]*buffer.Buffer, tt.wantKept+extra)
			for i := range bufs {
				bufs[i] = p.Get(tt.size)
			}
			for _, b := range bufs {
				b.Release()
			}
			want := buffer.Stats{
				Gets:     uint64(len(bufs)),
				Allocs:   uint64(len(bufs)),
				Puts:     uint64(tt.wantKept),
				Drops:    extra,
				Retained: int64(tt.wantKept) * int64(bufs[0].Cap()),
			}
			if got := p.Stats(); got != want {
				t.Errorf("Stats() = %+v, want %+v", got, want)
			}
		})
	}
}

func TestZeroPool(t *testing.T) {
	var p buffer.Pool
	b := p.Get(100)
	b.Release()
	if got, want := p.Stats(), (buffer.Stats{Gets: 1, Allocs: 1, Puts: 1, Retained: 256}); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

func TestStatsConsistent(t *testing.T) {
	p := buffer.NewPool(buffer.WithMaxRetained(1))
	step := func(name string, want buffer.Stats) {
		t.Helper()
		if got := p.Stats(); got != want {
			t.Errorf("after %s: Stats() = %+v, want %+v", name, got, want)
		}
	}
	a := p.Get(100)  // alloc, class 256
	b := p.Get(200)  // alloc, class 256
	c := p.Get(5000) // alloc, class 8192
	step("three gets", buffer.Stats{Gets: 3, Allocs: 3})
	a.Release()
	step("first put", buffer.Stats{Gets: 3, Allocs: 3, Puts: 1, Retained: 256})
	b.Release() // class full
	step("drop", buffer.Stats{Gets: 3, Allocs: 3, Puts: 1, Drops: 1, Retained: 256})
	c.Retain()
	c.Release()
	step("shared release", buffer.Stats{Gets: 3, Allocs: 3, Puts: 1, Drops: 1, Retained: 256})
	c.Release()
	step("last release", buffer.Stats{Gets: 3, Allocs: 3, Puts: 2, Drops: 1, Retained: 256 + 8192})
	d := p.Get(1)
	step("hit", buffer.Stats{Gets: 4, Hits: 1, Allocs: 3, Puts: 2, Drops: 1, Retained: 8192})
	d.Release()
	step("all released", buffer.Stats{Gets: 4, Hits: 1, Allocs: 3, Puts: 3, Drops: 1, Retained: 256 + 8192})
}

func TestGetNegativePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Get(-1) did not panic")
		}
	}()
	buffer.NewPool().Get(-1)
}

func TestGetReleaseAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	tests := []struct {
		name string
		size int
	}{
		{name: "small", size: 100},
		{name: "64 KiB", size: 64 << 10},
		{name: "16 MiB", size: 16 * mib},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := buffer.NewPool()
			p.Get(tt.size).Release() // warm the class
			allocs := testing.AllocsPerRun(100, func() {
				b := p.Get(tt.size)
				b.Retain()
				b.Release()
				b.Release()
			})
			if allocs != 0 {
				t.Errorf("warm Get/Release allocates %v times, want 0", allocs)
			}
		})
	}
}

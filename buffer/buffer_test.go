package buffer_test

import (
	"sync"
	"testing"

	"github.com/seed487d475b/proactor/buffer"
)

// mustPanic runs f and fails the test unless it panics with want.
func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		if got := recover(); got != want {
			t.Errorf("panic = %v, want %q", got, want)
		}
	}()
	f()
}

func TestMisusePanics(t *testing.T) {
	const (
		errRelease = "buffer: release of a released buffer"
		errRetain  = "buffer: retain of a released buffer"
	)
	tests := []struct {
		name string
		get  func() *buffer.Buffer
		op   func(*buffer.Buffer)
		want string
	}{
		{
			name: "double release",
			get:  func() *buffer.Buffer { return buffer.NewPool().Get(10) },
			op:   func(b *buffer.Buffer) { b.Release(); b.Release() },
			want: errRelease,
		},
		{
			name: "release once too often after retain",
			get:  func() *buffer.Buffer { return buffer.NewPool().Get(10) },
			op:   func(b *buffer.Buffer) { b.Retain(); b.Release(); b.Release(); b.Release() },
			want: errRelease,
		},
		{
			name: "double release of oversized",
			get:  func() *buffer.Buffer { return buffer.NewPool().Get(16<<20 + 1) },
			op:   func(b *buffer.Buffer) { b.Release(); b.Release() },
			want: errRelease,
		},
		{
			name: "double release of New",
			get:  func() *buffer.Buffer { return buffer.New([]byte("x")) },
			op:   func(b *buffer.Buffer) { b.Release(); b.Release() },
			want: errRelease,
		},
		{
			name: "retain after release",
			get:  func() *buffer.Buffer { return buffer.NewPool().Get(10) },
			op:   func(b *buffer.Buffer) { b.Release(); b.Retain() },
			want: errRetain,
		},
		{
			name: "retain after release of New",
			get:  func() *buffer.Buffer { return buffer.New(nil) },
			op:   func(b *buffer.Buffer) { b.Release(); b.Retain() },
			want: errRetain,
		},
		{
			name: "SetLen over cap",
			get:  func() *buffer.Buffer { return buffer.NewPool().Get(10) },
			op:   func(b *buffer.Buffer) { b.SetLen(257) },
			want: "buffer: SetLen out of range",
		},
		{
			name: "SetLen negative",
			get:  func() *buffer.Buffer { return buffer.New(make([]byte, 4)) },
			op:   func(b *buffer.Buffer) { b.SetLen(-1) },
			want: "buffer: SetLen out of range",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.get()
			mustPanic(t, tt.want, func() { tt.op(b) })
		})
	}
}

func TestDoubleReleaseKeepsPoolIntact(t *testing.T) {
	p := buffer.NewPool()
	b := p.Get(10)
	b.Release()
	mustPanic(t, "buffer: release of a released buffer", b.Release)
	if got, want := p.Stats(), (buffer.Stats{Gets: 1, Allocs: 1, Puts: 1, Retained: 256}); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
	if got := b.Refs(); got != 0 {
		t.Errorf("Refs() = %d, want 0", got)
	}
}

func TestConcurrentRefcount(t *testing.T) {
	tests := []struct {
		name       string
		goroutines int
		rounds     int
	}{
		{name: "few", goroutines: 4, rounds: 1000},
		{name: "many", goroutines: 64, rounds: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := buffer.NewPool()
			b := p.Get(100)
			b.Bytes()[0] = 42
			var start, done sync.WaitGroup
			start.Add(1)
			for range tt.goroutines {
				b.Retain() // one reference per goroutine, as for a broadcast
				done.Go(func() {
					start.Wait()
					for range tt.rounds {
						b.Retain()
						if b.Bytes()[0] != 42 {
							t.Error("shared bytes changed")
						}
						b.Release()
					}
					b.Release()
				})
			}
			start.Done()
			b.Release()
			done.Wait()
			if got := b.Refs(); got != 0 {
				t.Errorf("Refs() = %d, want 0", got)
			}
			if got, want := p.Stats(), (buffer.Stats{Gets: 1, Allocs: 1, Puts: 1, Retained: 256}); got != want {
				t.Errorf("Stats() = %+v, want %+v (returned to the pool exactly once)", got, want)
			}
		})
	}
}

func TestConcurrentGetRelease(t *testing.T) {
	p := buffer.NewPool(buffer.WithMaxRetained(4))
	sizes := []int{10, 300, 5000, 70000}
	var wg sync.WaitGroup
	const goroutines, rounds = 16, 500
	for g := range goroutines {
		wg.Go(func() {
			for i := range rounds {
				n := sizes[(g+i)%len(sizes)]
				b := p.Get(n)
				b.Bytes()[n-1] = byte(g) // the holder owns the bytes alone
				if b.Refs() != 1 {
					t.Errorf("fresh buffer has %d refs", b.Refs())
				}
				b.Release()
			}
		})
	}
	wg.Wait()
	s := p.Stats()
	if s.Gets != goroutines*rounds || s.Gets != s.Hits+s.Allocs || s.Puts+s.Drops != s.Gets {
		t.Errorf("inconsistent Stats() = %+v", s)
	}
	if maxRetained := int64(4 * (256 + 512 + 8192 + 128<<10)); s.Retained > maxRetained {
		t.Errorf("Retained = %d, want at most %d", s.Retained, maxRetained)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		p    []byte
	}{
		{name: "nil", p: nil},
		{name: "bytes", p: []byte("hello")},
		{name: "spare capacity", p: make([]byte, 3, 64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := buffer.New(tt.p)
			if got := b.Bytes(); len(got) != len(tt.p) || cap(got) != cap(tt.p) {
				t.Errorf("Bytes() len/cap = %d/%d, want %d/%d", len(got), cap(got), len(tt.p), cap(tt.p))
			}
			if len(tt.p) > 0 && &b.Bytes()[0] != &tt.p[0] {
				t.Error("New copied the slice")
			}
			if got := b.Cap(); got != cap(tt.p) {
				t.Errorf("Cap() = %d, want %d", got, cap(tt.p))
			}
			b.SetLen(cap(tt.p))
			if got := b.Len(); got != cap(tt.p) {
				t.Errorf("Len() after SetLen(cap) = %d, want %d", got, cap(tt.p))
			}
			b.Retain()
			if got := b.Refs(); got != 2 {
				t.Errorf("Refs() = %d, want 2", got)
			}
			b.Release()
			b.Release()
			if got := b.Refs(); got != 0 {
				t.Errorf("Refs() after last release = %d, want 0", got)
			}
		})
	}
}

func TestSetLenKeepsContents(t *testing.T) {
	b := buffer.NewPool().Get(4)
	defer b.Release()
	copy(b.Bytes(), "abcd")
	b.SetLen(2)
	b.SetLen(4)
	if got := string(b.Bytes()); got != "abcd" {
		t.Errorf("Bytes() = %q, want %q", got, "abcd")
	}
	b.SetLen(b.Cap())
	if got := b.Len(); got != 256 {
		t.Errorf("Len() = %d, want 256", got)
	}
}

package buffer_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/seed487d475b/proactor/buffer"
)

var benchSizes = []int{1 << 10, 64 << 10}

func BenchmarkGetRelease(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			p := buffer.NewPool()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					buf := p.Get(size)
					buf.Bytes()[0] = 1
					buf.Release()
				}
			})
		})
	}
}

// BenchmarkSyncPool is the baseline: sync.Pool of fixed-size slices, with
// no size classes, no cap on retention and no reference count.
func BenchmarkSyncPool(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			p := sync.Pool{New: func() any {
				s := make([]byte, size)
				return &s
			}}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					buf := p.Get().(*[]byte)
					(*buf)[0] = 1
					p.Put(buf)
				}
			})
		})
	}
}

// BenchmarkBroadcast shares one buffer among 8 holders on other goroutines'
// behalf: the cost of Retain/Release under contention.
func BenchmarkBroadcast(b *testing.B) {
	p := buffer.NewPool()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			buf := p.Get(512)
			for range 8 {
				buf.Retain()
			}
			buf.Release()
			for range 8 {
				buf.Release()
			}
		}
	})
}

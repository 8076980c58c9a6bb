package uring

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// bufEntrySize is the size of struct io_uring_buf: addr u64, len u32,
// bid u16, resv u16. The ring's tail (u16) overlays resv of entry 0.
const bufEntrySize = 16

// pbufRingInc is IOU_PBUF_RING_INC: buffers consumed incrementally.
const pbufRingInc = 2

// bufReg is struct io_uring_buf_reg.
type bufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	flags       uint16
	_           [3]uint64
}

// BufRing is a provided buffer ring (IORING_REGISTER_PBUF_RING): count
// buffers of size bytes each that the kernel picks from for operations
// submitted with IOSQE_BUFFER_SELECT and that the user hands back with
// Recycle. The ring and the buffers are one anonymous mapping outside the Go
// heap, so neither ever moves; Free must run only once the kernel can no
// longer write into the buffers (every operation using them has completed,
// or the ring is closed).
type BufRing struct {
	mem     []byte // the ring entries (a page multiple), then the buffers
	entries []byte
	bufs    []byte
	size    int
	mask    uint16
	tail    uint16
	bid0    uint16  // the bid last written to entry 0, which shares a word with the tail
	tailw   *uint32 // bytes 12..15 of entry 0: its bid, then the ring's tail
	group   uint16
	reg     bool
	off     []uint32 // incremental: where the next completion's bytes start, by bid
}

// NewBufRing maps count buffers (a power of two, at most 32768) of size
// bytes each, registers them with r as buffer group group and hands all of
// them to the kernel.
//
// With incremental (IOU_PBUF_RING_INC, which kernels before 6.12 refuse with
// EINVAL), a receive takes only the bytes it needs from the current buffer
// and the next one goes on behind them, so small messages share a buffer:
// a small ring of large buffers then serves many connections, stays in the
// CPU's cache, and touches few pages. Received tells where each
// completion's bytes lie and when a buffer is the application's again.
func NewBufRing(r *Ring, group uint16, count, size int, incremental bool) (*BufRing, error) {
	if count <= 0 || count > 1<<15 || count&(count-1) != 0 || size <= 0 {
		return nil, wrap("io_uring_register", unix.EINVAL)
	}
	page := unix.Getpagesize()
	ringBytes := (count*bufEntrySize + page - 1) / page * page
	// MAP_POPULATE: the kernel cycles through every buffer under any
	// sustained load, so the memory is committed at once, a fixed cost of
	// the loop, rather than a page at a time as if connections used it.
	mem, err := unix.Mmap(-1, 0, ringBytes+count*size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return nil, wrap("mmap", err)
	}
	b := &BufRing{mem: mem, entries: mem[:count*bufEntrySize], bufs: mem[ringBytes:], size: size, mask: uint16(count - 1), group: group}
	// SAFETY: bytes 12..15 of the mapping are entry 0's bid and the tail,
	// 4-byte aligned (the mapping is page aligned), and stay mapped until
	// Free, which drops this pointer first.
	b.tailw = (*uint32)(unsafe.Pointer(&mem[12]))
	reg := bufReg{ringAddr: uint64(uintptr(unsafe.Pointer(&mem[0]))), ringEntries: uint32(count), bgid: group}
	if incremental {
		reg.flags = pbufRingInc
		b.off = make([]uint32, count)
	}
	// SAFETY: reg is a live Go value of the kernel's layout, read during
	// the call only; the ring address it carries is the page-aligned
	// mapping above, which the kernel pins and which outlives the
	// registration.
	_, _, e := unix.Syscall6(sysRegister, uintptr(r.fd), registerPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0)
	if e != 0 {
		b.Free()
		return nil, wrap("io_uring_register", e)
	}
	b.reg = true
	for i := range count {
		b.Recycle(uint16(i))
	}
	return b, nil
}

// Size returns the size of one buffer.
func (b *BufRing) Size() int { return b.size }

// Group returns the buffer group id to put in SQE.BufGroup.
func (b *BufRing) Group() uint16 { return b.group }

// Incremental reports whether buffers are consumed incrementally.
func (b *BufRing) Incremental() bool { return b.off != nil }

// Received returns the n bytes that a completion with CQE flags flags
// reported in buffer bid, and whether the buffer is the application's
// again: then it must be recycled once the bytes have been used. Every
// completion that carries a buffer must be passed here, in order, even one
// whose bytes are dropped, so that the offsets stay right. The bytes stay
// valid until the buffer is recycled.
func (b *BufRing) Received(bid uint16, n int, flags uint32) (p []byte, done bool) {
	start := int(bid) * b.size
	if b.off == nil {
		return b.bufs[start : start+n : start+n], true
	}
	start += int(b.off[bid])
	p = b.bufs[start : start+n : start+n]
	if flags&CQEFBufMore != 0 {
		b.off[bid] += uint32(n)
		return p, false
	}
	b.off[bid] = 0
	return p, true
}

// Recycle hands buffer bid back to the kernel.
func (b *BufRing) Recycle(bid uint16) {
	i := int(b.tail & b.mask)
	e := b.entries[i*bufEntrySize : (i+1)*bufEntrySize]
	// SAFETY: the address is of a buffer inside the mapping, which outlives
	// the registration; the kernel writes at most size bytes there.
	addr := uint64(uintptr(unsafe.Pointer(&b.bufs[int(bid)*b.size])))
	// The entry at the tail is outside [head, tail), so the kernel does not
	// read it until the tail store below publishes it.
	binary.NativeEndian.PutUint64(e[0:], addr)
	binary.NativeEndian.PutUint32(e[8:], uint32(b.size))
	if i == 0 {
		b.bid0 = bid
	} else {
		binary.NativeEndian.PutUint16(e[12:], bid)
	}
	b.tail++
	// The tail is a u16 and sync/atomic stores 32 bits at least: store it
	// together with entry 0's bid, which is ours and unchanged unless it was
	// just written. The store releases the entry's contents to the kernel,
	// which loads the tail with acquire semantics.
	var w [4]byte
	binary.NativeEndian.PutUint16(w[0:], b.bid0)
	binary.NativeEndian.PutUint16(w[2:], b.tail)
	atomic.StoreUint32(b.tailw, binary.NativeEndian.Uint32(w[:]))
}

// Unregister removes the buffer group from r; the mapping stays until Free.
func (b *BufRing) Unregister(r *Ring) error {
	if !b.reg {
		return nil
	}
	b.reg = false
	reg := bufReg{bgid: b.group}
	// SAFETY: reg is a live Go value of the kernel's layout, read during
	// the call only.
	_, _, e := unix.Syscall6(sysRegister, uintptr(r.fd), unregisterPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0)
	if e != 0 {
		return wrap("io_uring_register", e)
	}
	return nil
}

// Free unmaps the ring and its buffers. See the type's doc for when.
func (b *BufRing) Free() error {
	if b.mem == nil {
		return nil
	}
	b.tailw, b.entries, b.bufs = nil, nil, nil
	err := unix.Munmap(b.mem)
	b.mem = nil
	return wrap("munmap", err)
}

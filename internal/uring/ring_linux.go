package uring

import (
	"errors"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// System call numbers; the same on every Linux architecture since 5.1.
const (
	sysSetup    = 425
	sysEnter    = 426
	sysRegister = 427
)

// Operation codes (enum io_uring_op), the ones this package's users need.
const (
	OpPollAdd     uint8 = 6
	OpSendmsg     uint8 = 9
	OpRecvmsg     uint8 = 10
	OpAccept      uint8 = 13
	OpAsyncCancel uint8 = 14
	OpRead        uint8 = 22
	OpRecv        uint8 = 27
)

// Setup flags (io_uring_setup(2)).
const (
	SetupCQSize       uint32 = 1 << 3
	SetupRDisabled    uint32 = 1 << 6
	SetupSubmitAll    uint32 = 1 << 7
	SetupCoopTaskrun  uint32 = 1 << 8
	SetupSingleIssuer uint32 = 1 << 12
	SetupDeferTaskrun uint32 = 1 << 13
)

// Features reported in Params.Features.
const (
	FeatSingleMmap uint32 = 1 << 0
	FeatNoDrop     uint32 = 1 << 1
	FeatFastPoll   uint32 = 1 << 5
	FeatExtArg     uint32 = 1 << 8
)

// Submission entry flags (IOSQE_*).
const (
	SQEBufferSelect uint8 = 1 << 5
)

// Per-operation flags carried in SQE.IOPrio or SQE.OpFlags.
const (
	AcceptMultishot uint16 = 1 << 0 // IORING_ACCEPT_MULTISHOT, in IOPrio
	RecvMultishot   uint16 = 1 << 1 // IORING_RECV_MULTISHOT, in IOPrio
	CancelAll       uint32 = 1 << 0 // IORING_ASYNC_CANCEL_ALL
	CancelAny       uint32 = 1 << 2 // IORING_ASYNC_CANCEL_ANY
)

// Completion flags (IORING_CQE_F_*).
const (
	CQEFBuffer     uint32 = 1 << 0
	CQEFMore       uint32 = 1 << 1
	CQEFBufMore    uint32 = 1 << 4 // IORING_CQE_F_BUF_MORE: an incremental buffer is not used up
	CQEBufferShift        = 16
)

const (
	enterGetEvents = 1 << 0
	enterExtArg    = 1 << 3

	sqCQOverflow = 1 << 1 // IORING_SQ_CQ_OVERFLOW in the SQ ring's flags

	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000

	registerProbe       = 8
	registerEnableRings = 12
	registerPbufRing    = 22
	unregisterPbufRing  = 23
)

// SQRingOffsets is struct io_sqring_offsets.
type SQRingOffsets struct {
	Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1 uint32
	UserAddr                                                        uint64
}

// CQRingOffsets is struct io_cqring_offsets.
type CQRingOffsets struct {
	Head, Tail, RingMask, RingEntries, Overflow, CQEs, Flags, Resv1 uint32
	UserAddr                                                        uint64
}

// Params is struct io_uring_params.
type Params struct {
	SQEntries, CQEntries, Flags, SQThreadCPU, SQThreadIdle, Features, WQFd uint32
	Resv                                                                   [3]uint32
	SQOff                                                                  SQRingOffsets
	CQOff                                                                  CQRingOffsets
}

// SQE is struct io_uring_sqe (64 bytes). OpFlags is the per-op flags union
// (msg_flags, accept_flags, cancel_flags, poll32_events, ...); BufGroup is
// buf_index/buf_group.
type SQE struct {
	Opcode      uint8
	Flags       uint8
	IOPrio      uint16
	Fd          int32
	Off         uint64
	Addr        uint64
	Len         uint32
	OpFlags     uint32
	UserData    uint64
	BufGroup    uint16
	Personality uint16
	FileIndex   int32
	Addr3       uint64
	_           uint64
}

// CQE is struct io_uring_cqe (16 bytes; rings are never set up with CQE32).
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

// getEventsArg is struct io_uring_getevents_arg.
type getEventsArg struct {
	sigmask   uint64
	sigmaskSz uint32
	minWait   uint32
	ts        uint64
}

// Ring is one io_uring instance with its rings mapped. See the package doc
// for the threading rule.
type Ring struct {
	fd     int
	params Params

	sqMem, cqMem, sqeMem []byte

	sqHead, sqTail, sqFlags *uint32
	sqMask                  uint32
	sqEntries               uint32
	sqes                    []SQE
	tail                    uint32 // next SQE to hand out; published on Submit

	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []CQE

	// The wait's timeout; the kernel reads both during io_uring_enter, and
	// they live here, on the heap with the Ring, so that they never move.
	arg getEventsArg
	ts  unix.Timespec
}

func wrap(call string, err error) error {
	if err == nil {
		return nil
	}
	return os.NewSyscallError(call, err)
}

// ladder is tried in order until the kernel accepts a set of flags; EINVAL
// means "not this combination", anything else ends the attempt. The first
// rungs make the ring single-issuer and start it disabled, so that it binds
// to the loop's thread when Enable runs there.
var ladder = [...]uint32{
	SetupSingleIssuer | SetupDeferTaskrun | SetupRDisabled | SetupSubmitAll | SetupCQSize,
	SetupSingleIssuer | SetupCoopTaskrun | SetupRDisabled | SetupSubmitAll | SetupCQSize,
	SetupCoopTaskrun | SetupSubmitAll | SetupCQSize,
	SetupCQSize,
}

// Setup creates a ring with sqEntries submission entries and cqEntries
// completion entries (rounded up to powers of two by the kernel), trying the
// fallback ladder of flags unless flags is non-zero, in which case exactly
// those flags (plus CQSIZE) are used.
func Setup(sqEntries, cqEntries uint32, flags uint32) (*Ring, error) {
	rungs := ladder[:]
	if flags != 0 {
		rungs = []uint32{flags | SetupCQSize}
	}
	var err error
	for _, f := range rungs {
		r := &Ring{fd: -1}
		r.params = Params{Flags: f, CQEntries: cqEntries}
		// SAFETY: params is a live Go value of the kernel's struct layout
		// (120 bytes); the kernel reads and writes it during the call only.
		fd, _, e := unix.Syscall(sysSetup, uintptr(sqEntries), uintptr(unsafe.Pointer(&r.params)), 0)
		if e == unix.EINVAL {
			err = e
			continue
		}
		if e != 0 {
			return nil, wrap("io_uring_setup", e)
		}
		r.fd = int(fd)
		if err := r.mapRings(); err != nil {
			r.Close()
			return nil, err
		}
		return r, nil
	}
	return nil, wrap("io_uring_setup", err)
}

func (r *Ring) mapRings() error {
	p := &r.params
	sqSize := int(p.SQOff.Array + p.SQEntries*4)
	cqSize := int(p.CQOff.CQEs) + int(p.CQEntries)*int(unsafe.Sizeof(CQE{}))
	single := p.Features&FeatSingleMmap != 0
	if single {
		sqSize = max(sqSize, cqSize)
	}
	prot, flags := unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE
	var err error
	if r.sqMem, err = unix.Mmap(r.fd, offSQRing, sqSize, prot, flags); err != nil {
		return wrap("mmap", err)
	}
	r.cqMem = r.sqMem
	if !single {
		if r.cqMem, err = unix.Mmap(r.fd, offCQRing, cqSize, prot, flags); err != nil {
			r.cqMem = nil
			return wrap("mmap", err)
		}
	}
	sqeSize := int(p.SQEntries) * int(unsafe.Sizeof(SQE{}))
	if r.sqeMem, err = unix.Mmap(r.fd, offSQEs, sqeSize, prot, flags); err != nil {
		return wrap("mmap", err)
	}
	// SAFETY: the offsets come from the kernel and lie inside the mappings
	// just made, which stay mapped until Close; the fields are 32-bit
	// aligned, as sync/atomic requires.
	r.sqHead = (*uint32)(unsafe.Pointer(&r.sqMem[p.SQOff.Head]))
	r.sqTail = (*uint32)(unsafe.Pointer(&r.sqMem[p.SQOff.Tail]))
	r.sqFlags = (*uint32)(unsafe.Pointer(&r.sqMem[p.SQOff.Flags]))
	r.sqMask = *(*uint32)(unsafe.Pointer(&r.sqMem[p.SQOff.RingMask]))
	r.sqEntries = p.SQEntries
	r.cqHead = (*uint32)(unsafe.Pointer(&r.cqMem[p.CQOff.Head]))
	r.cqTail = (*uint32)(unsafe.Pointer(&r.cqMem[p.CQOff.Tail]))
	r.cqMask = *(*uint32)(unsafe.Pointer(&r.cqMem[p.CQOff.RingMask]))
	// SAFETY: the SQE array and the CQE array are arrays of the kernel's
	// struct layout, of exactly SQEntries and CQEntries elements, at the
	// offsets the kernel reported, inside mappings that outlive the slices
	// (Close drops the slices before unmapping).
	r.sqes = unsafe.Slice((*SQE)(unsafe.Pointer(&r.sqeMem[0])), p.SQEntries)
	r.cqes = unsafe.Slice((*CQE)(unsafe.Pointer(&r.cqMem[p.CQOff.CQEs])), p.CQEntries)
	// SAFETY: the index array has SQEntries uint32 elements at Array. It
	// maps ring positions to SQE indexes; identity once and for all, so a
	// position's SQE is sqes[position&mask].
	array := unsafe.Slice((*uint32)(unsafe.Pointer(&r.sqMem[p.SQOff.Array])), p.SQEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	r.tail = atomic.LoadUint32(r.sqTail)
	return nil
}

// Params returns the parameters the kernel filled in: the flags that were
// accepted, the features, the ring sizes.
func (r *Ring) Params() Params { return r.params }

// FD returns the ring's descriptor.
func (r *Ring) FD() int { return r.fd }

// Disabled reports whether the ring was created disabled and waits for
// Enable.
func (r *Ring) Disabled() bool { return r.params.Flags&SetupRDisabled != 0 }

// Enable starts a ring created with IORING_SETUP_R_DISABLED. With
// IORING_SETUP_SINGLE_ISSUER the calling thread becomes the only one allowed
// to submit.
func (r *Ring) Enable() error {
	_, _, e := unix.Syscall6(sysRegister, uintptr(r.fd), registerEnableRings, 0, 0, 0, 0)
	if e != 0 {
		return wrap("io_uring_register", e)
	}
	r.params.Flags &^= SetupRDisabled
	return nil
}

// GetSQE returns the next free submission entry, zeroed, or nil when the
// submission ring is full (Submit makes room). The entry is handed to the
// kernel by the next Submit or Wait.
func (r *Ring) GetSQE() *SQE {
	if r.tail-atomic.LoadUint32(r.sqHead) >= r.sqEntries {
		return nil
	}
	e := &r.sqes[r.tail&r.sqMask]
	*e = SQE{}
	r.tail++
	return e
}

// Pending returns the number of entries prepared and not yet submitted.
func (r *Ring) Pending() uint32 { return r.tail - atomic.LoadUint32(r.sqHead) }

// Submit hands the prepared entries to the kernel without waiting.
func (r *Ring) Submit() error {
	n := r.publish()
	if n == 0 {
		return nil
	}
	for {
		_, err := r.enter(n, 0, 0, 0, 0)
		if err == unix.EINTR {
			continue
		}
		return wrap("io_uring_enter", err)
	}
}

func (r *Ring) publish() uint32 {
	// The store releases the SQE contents written before it; the kernel
	// loads the tail with acquire semantics.
	atomic.StoreUint32(r.sqTail, r.tail)
	return r.tail - atomic.LoadUint32(r.sqHead)
}

// Wait submits the prepared entries and waits until at least minComplete
// completions are ready or timeout passes (forever when negative). It also
// runs deferred completion work, so it is called even with minComplete 0.
// A timeout or an interrupted wait is not an error.
func (r *Ring) Wait(minComplete uint32, timeout time.Duration) error {
	n := r.publish()
	flags := uintptr(enterGetEvents)
	var arg, argSize uintptr
	if minComplete > 0 && timeout >= 0 {
		r.ts = unix.NsecToTimespec(int64(timeout))
		// SAFETY: ts is a field of the heap-allocated Ring, which is
		// reachable for the whole call; the kernel reads it during the
		// call only.
		r.arg = getEventsArg{ts: uint64(uintptr(unsafe.Pointer(&r.ts)))}
		// SAFETY: as above, arg lives in the Ring and is read during the
		// call only.
		arg, argSize = uintptr(unsafe.Pointer(&r.arg)), unsafe.Sizeof(r.arg)
		flags |= enterExtArg
	}
	_, err := r.enter(n, minComplete, flags, arg, argSize)
	switch err {
	case unix.ETIME, unix.EINTR, unix.EAGAIN, unix.EBUSY:
		// EBUSY and EAGAIN: completions are backed up in the overflow list
		// or memory is short; the caller reaps and comes back.
		return nil
	}
	return wrap("io_uring_enter", err)
}

func (r *Ring) enter(toSubmit, minComplete uint32, flags, arg, argSize uintptr) (int, error) {
	call := unix.Syscall6
	if minComplete == 0 {
		// A call that waits for nothing returns at once: telling Go's
		// scheduler about it (entersyscall, exitsyscall) would cost more
		// than the call saves.
		call = unix.RawSyscall6
	}
	n, _, e := call(sysEnter, uintptr(r.fd), uintptr(toSubmit), uintptr(minComplete), flags, arg, argSize)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// Overflowed reports whether completions wait in the kernel's overflow list
// because the completion ring was full; Wait(0, 0) flushes them once room
// has been made.
func (r *Ring) Overflowed() bool { return atomic.LoadUint32(r.sqFlags)&sqCQOverflow != 0 }

// Reap copies up to len(dst) ready completions into dst, frees their ring
// entries and returns how many it copied.
func (r *Ring) Reap(dst []CQE) int {
	head := *r.cqHead // only this side writes the head
	tail := atomic.LoadUint32(r.cqTail)
	n := 0
	for head != tail && n < len(dst) {
		dst[n] = r.cqes[head&r.cqMask]
		head++
		n++
	}
	if n > 0 {
		// The store releases the entries just copied back to the kernel.
		atomic.StoreUint32(r.cqHead, head)
	}
	return n
}

// Ready returns the number of completions waiting in the ring.
func (r *Ring) Ready() uint32 { return atomic.LoadUint32(r.cqTail) - *r.cqHead }

// Close unmaps the rings and closes the ring's descriptor. The kernel
// cancels whatever is still in flight.
func (r *Ring) Close() error {
	r.sqes, r.cqes = nil, nil
	r.sqHead, r.sqTail, r.sqFlags, r.cqHead, r.cqTail = nil, nil, nil, nil, nil
	if r.params.Features&FeatSingleMmap != 0 {
		r.cqMem = nil // one mapping holds both rings
	}
	var errs []error
	for _, m := range [][]byte{r.sqeMem, r.cqMem, r.sqMem} {
		if m != nil {
			errs = append(errs, wrap("munmap", unix.Munmap(m)))
		}
	}
	r.sqeMem, r.cqMem, r.sqMem = nil, nil, nil
	if r.fd >= 0 {
		errs = append(errs, wrap("close", unix.Close(r.fd)))
		r.fd = -1
	}
	return errors.Join(errs...)
}

// probe is struct io_uring_probe with room for every opcode.
type probe struct {
	lastOp uint8
	opsLen uint8
	_      uint16
	_      [3]uint32
	ops    [256]probeOp
}

type probeOp struct {
	op    uint8
	_     uint8
	flags uint16
	_     uint32
}

const opSupported = 1 << 0

// Supports asks the kernel (IORING_REGISTER_PROBE) whether it knows each
// of ops; it returns the first one it does not, or ok.
func (r *Ring) Supports(ops ...uint8) (missing uint8, ok bool, err error) {
	var p probe
	// SAFETY: p is a live Go value of the kernel's layout with room for 256
	// entries, the count passed; the kernel writes it during the call only.
	_, _, e := unix.Syscall6(sysRegister, uintptr(r.fd), registerProbe, uintptr(unsafe.Pointer(&p)), 256, 0, 0)
	if e != 0 {
		return 0, false, wrap("io_uring_register", e)
	}
	for _, op := range ops {
		if int(op) >= int(p.opsLen) || p.ops[op].flags&opSupported == 0 {
			return op, false, nil
		}
	}
	return 0, true, nil
}

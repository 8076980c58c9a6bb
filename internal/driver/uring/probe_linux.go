package uring

import (
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/uring"
)

func unsupported(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%w: uring: %s: %w", driver.ErrUnsupported, what, err)
	}
	return fmt.Errorf("%w: uring: %s", driver.ErrUnsupported, what)
}

// probe checks that the kernel runs what the engine needs, by asking it
// (feature bits, IORING_REGISTER_PROBE) and by trying the operations whose
// multishot forms a probe cannot tell apart: never by kernel version. It
// also reports whether a multishot receive takes a byte limit, which the
// engine uses where it can.
func probe() (recvLimit bool, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := uring.Setup(8, 16, uring.SetupCQSize)
	if err != nil {
		// ENOSYS: no io_uring; EPERM: the io_uring_disabled sysctl or a
		// seccomp filter.
		return false, unsupported("io_uring_setup", err)
	}
	f := r.Params().Features
	if f&uring.FeatNoDrop == 0 || f&uring.FeatExtArg == 0 {
		r.Close()
		return false, unsupported("kernel lacks IORING_FEAT_NODROP or IORING_FEAT_EXT_ARG", nil)
	}
	op, ok, err := r.Supports(uring.OpRead, uring.OpPollAdd, uring.OpSendmsg, uring.OpAccept, uring.OpAsyncCancel, uring.OpRecv)
	if err != nil || !ok {
		r.Close()
		return false, unsupported(fmt.Sprintf("io_uring opcode %d", op), err)
	}
	bufs, err := uring.NewBufRing(r, bufGroup, 2, 64, false)
	if err != nil {
		r.Close()
		return false, unsupported("provided buffer rings", err)
	}
	err = probeMultishot(r)
	if err == nil {
		recvLimit = probeRecvLimit(r)
	}
	r.Close()
	// Every probe operation has completed (or the ring, now closed, has
	// cancelled it): the buffers are ours again.
	bufs.Free()
	return recvLimit, err
}

// probeRecvLimit receives two bytes with a multishot receive limited to
// one (IORING_RECV_MSHOT_LIM, the SQE's optlen): a kernel that has the
// limit ends the receive after one byte; older ones fail it with EINVAL.
// It uses the probe's second buffer (probeMultishot took the first).
func probeRecvLimit(r *uring.Ring) bool {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(pair[0])
	defer unix.Close(pair[1])
	if _, err := unix.Write(pair[1], []byte{1, 2}); err != nil {
		return false
	}
	const udRecv = 4
	e := r.GetSQE()
	if e == nil {
		return false
	}
	e.Opcode, e.Fd, e.IOPrio, e.Flags, e.UserData = uring.OpRecv, int32(pair[0]), uring.RecvMultishot, uring.SQEBufferSelect, udRecv
	e.FileIndex = 1
	cqes := make([]uring.CQE, 8)
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if err := r.Wait(1, 100*time.Millisecond); err != nil {
			return false
		}
		n := r.Reap(cqes)
		for _, c := range cqes[:n] {
			if c.UserData == udRecv {
				// A receive still armed (no limit after all) is
				// cancelled when the ring closes.
				return c.Res == 1 && c.Flags&uring.CQEFMore == 0
			}
		}
	}
	return false
}

// probeMultishot runs a multishot receive on a socket pair and a multishot
// accept on a listening socket, and reads their completions: kernels
// without the multishot forms fail them with EINVAL.
func probeMultishot(r *uring.Ring) error {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return unsupported("socketpair", err)
	}
	defer unix.Close(pair[0])
	defer unix.Close(pair[1])
	lfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return unsupported("socket", err)
	}
	defer unix.Close(lfd)
	// An empty name autobinds to a unique abstract address.
	if err := unix.Bind(lfd, &unix.SockaddrUnix{}); err != nil {
		return unsupported("bind", err)
	}
	if err := unix.Listen(lfd, 1); err != nil {
		return unsupported("listen", err)
	}
	const udRecv, udAccept, udCancel = 1, 2, 3
	get := func() *uring.SQE {
		e := r.GetSQE()
		if e == nil {
			r.Submit()
			e = r.GetSQE()
		}
		return e
	}
	e := get()
	e.Opcode, e.Fd, e.IOPrio, e.Flags, e.UserData = uring.OpRecv, int32(pair[0]), uring.RecvMultishot, uring.SQEBufferSelect, udRecv
	e = get()
	e.Opcode, e.Fd, e.IOPrio, e.OpFlags, e.UserData = uring.OpAccept, int32(lfd), uring.AcceptMultishot, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, udAccept
	if err := r.Submit(); err != nil {
		return unsupported("io_uring_enter", err)
	}
	if _, err := unix.Write(pair[1], []byte{1}); err != nil {
		return unsupported("write", err)
	}
	for _, ud := range []uint64{udRecv, udAccept} {
		e = get()
		e.Opcode, e.Fd, e.Addr, e.UserData = uring.OpAsyncCancel, -1, ud, udCancel
	}
	var recvOK, acceptOK bool
	var recvRes, acceptRes int32
	done := 0 // operations whose last completion came
	cqes := make([]uring.CQE, 8)
	deadline := time.Now().Add(time.Second)
	for done < 4 && time.Now().Before(deadline) {
		if err := r.Wait(1, 100*time.Millisecond); err != nil {
			return unsupported("io_uring_enter", err)
		}
		n := r.Reap(cqes)
		for _, c := range cqes[:n] {
			if c.Flags&uring.CQEFMore == 0 {
				done++
			}
			switch c.UserData {
			case udRecv:
				if c.Res == 1 && c.Flags&uring.CQEFBuffer != 0 && c.Flags&uring.CQEFMore != 0 {
					recvOK = true
				} else if !recvOK {
					recvRes = c.Res
				}
			case udAccept:
				if c.Res == -int32(unix.ECANCELED) {
					acceptOK = true
				} else if c.Res >= 0 {
					unix.Close(int(c.Res))
				} else {
					acceptRes = c.Res
				}
			}
		}
	}
	if !recvOK {
		return unsupported("multishot recv with a provided buffer ring", probeErr(recvRes))
	}
	if !acceptOK {
		return unsupported("multishot accept", probeErr(acceptRes))
	}
	return nil
}

func probeErr(res int32) error {
	if res < 0 {
		return unix.Errno(-res)
	}
	return unix.ETIMEDOUT
}

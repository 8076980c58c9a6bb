// Package sock holds the socket system calls that proactor's Linux engines
// (epoll and io_uring) share: both make the same calls on the same sockets,
// so they are written once, here. Syscalls only: no policy.
package sock

import (
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/seed487d475b/proactor/internal/driver"
)

// MaxIovecs bounds one writev or sendmsg; the kernel's IOV_MAX is 1024.
const MaxIovecs = 1024

// Wrap names the system call that failed, once, at the boundary.
func Wrap(call string, err error) error {
	if err == nil {
		return nil
	}
	return os.NewSyscallError(call, err)
}

// DupListener takes a descriptor of its own for ln, close-on-exec and
// non-blocking, so that ln and the engine can be closed independently. It
// also returns the bound address when it is not a wildcard.
func DupListener(ln net.Listener) (int, netip.AddrPort, error) {
	fd, err := dup(ln)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	var local netip.AddrPort
	if a, ok := ln.Addr().(*net.TCPAddr); ok && !a.IP.IsUnspecified() {
		local = a.AddrPort()
	}
	return fd, local, nil
}

// Adopt takes over a connected socket of Go's net package: the engine gets
// a descriptor of its own, close-on-exec and non-blocking, and c is closed.
func Adopt(c net.Conn) (driver.Sock, error) {
	fd, err := dup(c)
	c.Close()
	if err != nil {
		return driver.Sock{FD: -1}, err
	}
	return driver.Sock{FD: fd}, nil
}

// dup duplicates the descriptor of a socket of Go's net package.
func dup(x any) (int, error) {
	sc, ok := x.(syscall.Conn)
	if !ok {
		return -1, Wrap("dup", unix.EINVAL)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) {
		fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, Wrap("fcntl", derr)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, Wrap("fcntl", err)
	}
	return fd, nil
}

// SetOptions sets o on a new socket. Errors are ignored, as Go's net
// package ignores them on accept: the calls fail only on a socket the peer
// has already reset, which the first read or write reports.
func SetOptions(fd int, o driver.SockOptions) {
	if o.NoDelay {
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	if o.KeepAlive <= 0 {
		return // a new socket has keepalive off
	}
	// Whole seconds, rounded up, as Go's net package does.
	secs := int((o.KeepAlive + time.Second - 1) / time.Second)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, secs)
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, secs)
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPCNT, driver.KeepAliveProbes)
}

// sockaddr converts addr, IPv4 (or IPv4-mapped) as AF_INET.
func sockaddr(addr netip.AddrPort) unix.Sockaddr {
	if a := addr.Addr(); a.Is4() || a.Is4In6() {
		return &unix.SockaddrInet4{Port: int(addr.Port()), Addr: a.Unmap().As4()}
	}
	return &unix.SockaddrInet6{Port: int(addr.Port()), Addr: addr.Addr().As16()}
}

// Connect starts a non-blocking connect to addr on a new close-on-exec
// socket with the options o, bound first to o.Local if it is set.
func Connect(addr netip.AddrPort, o driver.SockOptions) (int, error) {
	family := unix.AF_INET6
	sa := sockaddr(addr)
	if _, ok := sa.(*unix.SockaddrInet4); ok {
		family = unix.AF_INET
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, Wrap("socket", err)
	}
	SetOptions(fd, o)
	if o.Local.IsValid() {
		if err := unix.Bind(fd, sockaddr(o.Local)); err != nil {
			unix.Close(fd)
			return -1, Wrap("bind", err)
		}
	}
	if err := unix.Connect(fd, sa); err != nil && err != unix.EINPROGRESS && err != unix.EINTR {
		unix.Close(fd)
		return -1, Wrap("connect", err)
	}
	return fd, nil
}

// AbortClose closes fd with a reset (SO_LINGER 0).
func AbortClose(fd int) error {
	// An error here only means the peer is already gone; close anyway.
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	return unix.Close(fd)
}

// rawAddrPort converts a raw socket address. An IPv4 client of a
// dual-stack listener arrives IPv4-mapped and is reported as IPv4, as Go's
// net package does. Reading the raw address (not a unix.Sockaddr) makes
// accepting a connection allocate nothing: no garbage for the GC's
// headroom to turn into RSS.
func rawAddrPort(rsa *unix.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		a := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), ntohs(a.Port))
	case unix.AF_INET6:
		a := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), ntohs(a.Port))
	}
	return netip.AddrPort{}
}

func ntohs(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// Accept accepts a connection on lfd, non-blocking and close-on-exec, and
// returns it with the peer's address.
func Accept(lfd int) (int, netip.AddrPort, error) {
	var rsa unix.RawSockaddrAny
	n := uint32(unix.SizeofSockaddrAny)
	for {
		fd, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&n)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		switch e {
		case 0:
			return int(fd), rawAddrPort(&rsa), nil
		case unix.EINTR:
			continue
		}
		return -1, netip.AddrPort{}, e
	}
}

// name calls getsockname or getpeername.
func name(trap uintptr, fd int) netip.AddrPort {
	var rsa unix.RawSockaddrAny
	n := uint32(unix.SizeofSockaddrAny)
	if _, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&n))); e != 0 {
		return netip.AddrPort{}
	}
	return rawAddrPort(&rsa)
}

// LocalName returns the local address of a socket (zero on error).
func LocalName(fd int) netip.AddrPort { return name(unix.SYS_GETSOCKNAME, fd) }

// PeerName returns the peer's address of a connected socket (zero on error).
func PeerName(fd int) netip.AddrPort { return name(unix.SYS_GETPEERNAME, fd) }

// Names returns the local and peer addresses of a connected socket.
func Names(fd int) (local, peer netip.AddrPort) {
	return LocalName(fd), PeerName(fd)
}

// FillIovecs points vecs at the non-empty slices of iov, at most MaxIovecs
// of them, and returns them with the byte count they cover.
func FillIovecs(vecs []unix.Iovec, iov [][]byte) ([]unix.Iovec, int) {
	vecs = vecs[:0]
	want := 0
	for _, b := range iov {
		if len(vecs) == MaxIovecs {
			break
		}
		if len(b) == 0 {
			continue
		}
		v := unix.Iovec{Base: &b[0]}
		v.SetLen(len(b))
		vecs = append(vecs, v)
		want += len(b)
	}
	return vecs, want
}

// The calls a loop makes per message (read, writev, accept4 and, in the
// engines, a non-blocking epoll_wait) go through RawSyscall: on a
// non-blocking socket they never wait, so telling Go's scheduler about
// each (what Syscall does, entersyscall and exitsyscall) costs some 300
// instructions a message and buys nothing. A long copy (a 1 MiB writev)
// holds the P for its duration, as any Go code would.

// raw makes a system call of up to three arguments that never waits, and
// decodes the kernel's error return. RawSyscallNoError is the SYSCALL
// instruction itself; unix.RawSyscall reaches it through three Go
// functions (syscall.RawSyscall, RawSyscall6, the runtime's Syscall6),
// some 35 instructions a call, two calls a message.
//
// A pointer passed as a uintptr is not kept alive or in place by the
// compiler here, as it is for a call declared in assembly: callers keep
// the memory alive (runtime.KeepAlive) and pass heap memory only, which
// Go's collector never moves. nosplit: no stack growth check, so no stack
// is copied between the conversion and the call.
//
//go:nosplit
func raw(trap, a1, a2, a3 uintptr) (uintptr, unix.Errno) {
	r, _ := unix.RawSyscallNoError(trap, a1, a2, a3)
	if r > ^uintptr(4095) { // -4095..-1: an error number
		return 0, unix.Errno(-r)
	}
	return r, 0
}

// Read reads into p from a non-blocking descriptor: (n, nil) with n > 0,
// (0, nil) at EOF, or the errno (EAGAIN when nothing is there).
func Read(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		// SAFETY: p is a live Go slice, kept alive until the call returns
		// (runtime.KeepAlive), in heap memory (the engines' read buffers).
		r, e := raw(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		runtime.KeepAlive(p)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

// iovec is struct iovec with the base as an integer: the scratch of a
// Writer holds no Go pointer, so filling and emptying it costs no write
// barriers and keeps nothing alive between calls.
type iovec struct {
	base uintptr
	len  uint64
}

// Writer is a loop's writev with its own iovec scratch, so that a write
// allocates nothing.
type Writer struct{ vecs [MaxIovecs]iovec }

// WriteNow writes what the socket takes of iov at once: as Writev, but a
// full socket is not an error (rest says what is left) and other errors
// come wrapped.
func (w *Writer) WriteNow(fd int, iov [][]byte) (int, [][]byte, error) {
	var n int
	var rest [][]byte
	var err error
	if len(iov) == 1 && len(iov[0]) > 0 {
		n, rest, err = writeOne(fd, iov) // as Writev would, a call sooner
	} else {
		n, rest, err = w.Writev(fd, iov)
	}
	if err != nil && err != unix.EAGAIN {
		return n, nil, Wrap("writev", err)
	}
	return n, rest, nil
}

// Writev writes iov until it is done or the socket would block (then the
// error is EAGAIN). It returns the bytes written and what is left; the first
// element of rest may be a reslice of an element of iov, which is modified
// in place.
func (w *Writer) Writev(fd int, iov [][]byte) (int, [][]byte, error) {
	if len(iov) == 1 && len(iov[0]) > 0 {
		return writeOne(fd, iov)
	}
	total := 0
	for len(iov) > 0 {
		k, want := 0, 0
		for _, b := range iov {
			if k == MaxIovecs {
				break
			}
			if len(b) > 0 {
				// SAFETY: iov keeps b's memory alive until the call below
				// returns (runtime.KeepAlive); the bytes are heap memory
				// (write-queue chunks, pooled buffers, a loop's read
				// buffer), which Go's collector never moves; the kernel
				// reads them only during the call.
				w.vecs[k] = iovec{base: uintptr(unsafe.Pointer(&b[0])), len: uint64(len(b))}
				k++
				want += len(b)
			}
		}
		if k == 0 {
			return total, nil, nil
		}
		r, e := raw(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&w.vecs[0])), uintptr(k))
		runtime.KeepAlive(iov)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return total, iov, e
		}
		n := int(r)
		total += n
		iov = Advance(iov, n)
		if n < want {
			if len(iov) == 0 {
				return total, nil, nil
			}
			return total, iov, unix.EAGAIN
		}
	}
	return total, nil, nil
}

// writeOne is Writev of one non-empty slice (an echo's reply, most
// often): one write(2), without filling the iovec scratch.
func writeOne(fd int, iov [][]byte) (int, [][]byte, error) {
	b := iov[0]
	for {
		// SAFETY: b is a live Go slice, kept alive until the call returns
		// (runtime.KeepAlive), in heap memory that Go's collector never
		// moves; the kernel reads it only during the call.
		r, e := raw(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		runtime.KeepAlive(b)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, iov, e
		}
		n := int(r)
		if n < len(b) {
			iov[0] = b[n:]
			return n, iov, unix.EAGAIN
		}
		return n, nil, nil
	}
}

// Unsent returns how many bytes of a TCP socket's output, our FIN
// included, the kernel has not sent yet (SIOCOUTQNSD); 0 when it cannot
// tell.
func Unsent(fd int) int {
	n, err := unix.IoctlGetInt(fd, unix.SIOCOUTQNSD)
	if err != nil {
		return 0
	}
	return n
}

// Sendfile sends up to n bytes of f from *off, advancing it, until done or
// the socket would block.
func Sendfile(fd int, f *os.File, off *int64, n int) (int, error) {
	total := 0
	for total < n {
		k, err := unix.Sendfile(fd, int(f.Fd()), off, n-total)
		if k > 0 {
			total += k
		}
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return total, err
		case k == 0:
			return total, io.ErrUnexpectedEOF // the file is shorter than asked
		}
	}
	return total, nil
}

// Advance drops n written bytes from the front of iov.
func Advance(iov [][]byte, n int) [][]byte {
	for len(iov) > 0 && n >= len(iov[0]) {
		n -= len(iov[0])
		iov = iov[1:]
	}
	if len(iov) > 0 && n > 0 {
		iov[0] = iov[0][n:]
	}
	return iov
}

package sock

import (
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/seed487d475b/proactor/internal/driver"
)

// DupPacket takes a descriptor of its own for a datagram socket,
// close-on-exec and non-blocking, and returns it with the socket's address
// family (AF_INET or AF_INET6), which decides how destinations are written.
func DupPacket(pc net.PacketConn) (fd, family int, err error) {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return -1, 0, Wrap("listen", unix.EINVAL)
	}
	if fd, err = dup(sc); err != nil {
		return -1, 0, err
	}
	family, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		unix.Close(fd)
		return -1, 0, Wrap("getsockopt", err)
	}
	return fd, family, nil
}

// msghdr is struct msghdr with addresses as integers, like iovec: a Mmsg
// points into itself and into its buffers, which it keeps alive, so the
// headers need no Go pointers (no write barriers when they are filled).
// size_t fields are uintptr, and Go pads namelen as C does.
type msghdr struct {
	name       uintptr
	namelen    uint32
	iov        uintptr
	iovlen     uintptr
	control    uintptr
	controllen uintptr
	flags      int32
}

// mmsghdr is struct mmsghdr.
type mmsghdr struct {
	hdr msghdr
	n   uint32
}

// Mmsg is one loop's scratch for recvmmsg or sendmmsg: driver.PacketBatch
// headers, their addresses and iovecs, and for receiving the buffers.
// Allocated once, it makes neither call allocate.
type Mmsg struct {
	hdrs  [driver.PacketBatch]mmsghdr
	names [driver.PacketBatch]unix.RawSockaddrAny
	vecs  [driver.PacketBatch]iovec
	ds    [driver.PacketBatch]driver.Datagram
	bufs  []byte
	size  int
}

// NewMmsg returns a scratch whose receives take datagrams of up to size
// bytes whole (size 0: a scratch for sending only).
func NewMmsg(size int) *Mmsg {
	m := &Mmsg{size: size, bufs: make([]byte, size*driver.PacketBatch)}
	for i := range m.hdrs {
		h := &m.hdrs[i].hdr
		// SAFETY: names and vecs are fields of m, which the calls keep
		// alive; the kernel reads and writes them only during a call.
		h.name = uintptr(unsafe.Pointer(&m.names[i]))
		h.iov = uintptr(unsafe.Pointer(&m.vecs[i]))
		h.iovlen = 1
	}
	return m
}

// Recv receives what is waiting on fd, up to driver.PacketBatch datagrams,
// without waiting: EAGAIN when nothing is. The datagrams' bytes lie in m
// and are valid until the next Recv. With MSG_TRUNC the kernel reports a
// datagram's whole length even when the buffer held only its start.
func (m *Mmsg) Recv(fd int) ([]driver.Datagram, error) {
	for i := range m.hdrs {
		h := &m.hdrs[i]
		h.hdr.namelen = unix.SizeofSockaddrAny
		h.hdr.flags = 0
		// SAFETY: bufs is m's and outlives the call (KeepAlive below).
		m.vecs[i] = iovec{base: uintptr(unsafe.Pointer(unsafe.SliceData(m.bufs[i*m.size:]))), len: uint64(m.size)}
	}
	for {
		// SAFETY: hdrs, names, vecs and bufs belong to m, kept alive
		// across the call; the kernel writes at most what they describe.
		r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&m.hdrs[0])), driver.PacketBatch, unix.MSG_TRUNC, 0, 0)
		runtime.KeepAlive(m)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return nil, e
		}
		n := int(r)
		for i := range n {
			size := int(m.hdrs[i].n)
			off := i * m.size
			m.ds[i] = driver.Datagram{
				Data: m.bufs[off : off+min(size, m.size) : off+m.size],
				Addr: rawAddrPort(&m.names[i]),
				Size: size,
			}
		}
		return m.ds[:n], nil
	}
}

// Send sends ds on fd, a socket of the address family family, without
// waiting, and returns how many the kernel took; when fewer than len(ds),
// err is the errno that stopped ds[n] (EAGAIN: the socket buffer is full).
func (m *Mmsg) Send(fd, family int, ds []driver.Datagram) (int, error) {
	total := 0
	for total < len(ds) {
		k := min(len(ds)-total, driver.PacketBatch)
		for i, d := range ds[total : total+k] {
			h := &m.hdrs[i].hdr
			h.namelen = putSockaddr(&m.names[i], family, d.Addr)
			h.flags = 0
			var base uintptr
			if len(d.Data) > 0 {
				// SAFETY: ds keeps the bytes alive until the call returns
				// (KeepAlive below); Go's collector never moves heap memory.
				base = uintptr(unsafe.Pointer(&d.Data[0]))
			}
			m.vecs[i] = iovec{base: base, len: uint64(len(d.Data))}
		}
		// SAFETY: hdrs, names and vecs belong to m; the kernel reads them
		// and the bytes they point at only during the call.
		r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&m.hdrs[0])), uintptr(k), 0, 0, 0)
		runtime.KeepAlive(m)
		runtime.KeepAlive(ds)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return total, e
		}
		total += int(r)
	}
	clear(m.vecs[:])
	return total, nil
}

// putSockaddr writes a as the socket address a socket of family takes (an
// IPv4 address IPv4-mapped on an IPv6 socket) and returns its length.
func putSockaddr(rsa *unix.RawSockaddrAny, family int, a netip.AddrPort) uint32 {
	ip := a.Addr()
	if family == unix.AF_INET && ip.Unmap().Is4() {
		// SAFETY: RawSockaddrAny is larger than any socket address.
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		*sa = unix.RawSockaddrInet4{Family: unix.AF_INET, Port: htons(a.Port()), Addr: ip.Unmap().As4()}
		return unix.SizeofSockaddrInet4
	}
	// SAFETY: as above.
	sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
	*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Port: htons(a.Port()), Addr: ip.As16()}
	if z := ip.Zone(); z != "" {
		if ifi, err := net.InterfaceByName(z); err == nil {
			sa.Scope_id = uint32(ifi.Index)
		}
	}
	return unix.SizeofSockaddrInet6
}

func htons(p uint16) uint16 { return ntohs(p) }

// ParseRecvmsgOut reads the layout a multishot recvmsg writes into a
// provided buffer (struct io_uring_recvmsg_out, then namelen bytes of
// address, controllen of control data, then the payload): the sender, the
// payload held, and the datagram's whole length. ok is false when b is too
// short to be such a record.
func ParseRecvmsgOut(b []byte, namelen, controllen int) (from netip.AddrPort, payload []byte, size int, ok bool) {
	const hdr = 16 // namelen, controllen, payloadlen, flags: u32 each
	if len(b) < hdr+namelen+controllen {
		return netip.AddrPort{}, nil, 0, false
	}
	// SAFETY: b holds the 16-byte header, read as four u32 in the
	// kernel's (native) byte order; the buffers are 8-byte aligned.
	out := (*[4]uint32)(unsafe.Pointer(&b[0]))
	var rsa unix.RawSockaddrAny
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&rsa)), unix.SizeofSockaddrAny), b[hdr:hdr+min(int(out[0]), namelen)])
	payload = b[hdr+namelen+controllen:]
	size = int(out[2])
	if len(payload) > size {
		payload = payload[:size]
	}
	if out[3]&unix.MSG_TRUNC != 0 && size <= len(payload) {
		size = len(payload) + 1 // cut, whatever the length says
	}
	return rawAddrPort(&rsa), payload, size, true
}

// AddrOf converts a socket address the kernel wrote (IPv4-mapped reported
// as IPv4).
func AddrOf(rsa *unix.RawSockaddrAny) netip.AddrPort { return rawAddrPort(rsa) }

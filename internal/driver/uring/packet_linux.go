package uring

import (
	"net"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/sock"
	"github.com/seed487d475b/proactor/internal/uring"
)

// Datagram sockets receive with a multishot recvmsg (kernel 6.0) from a
// provided buffer ring of their own: each completion is one datagram in one
// buffer, laid out as struct io_uring_recvmsg_out, the sender's address,
// then the payload, whose whole length the header gives even when the
// buffer held only its start. Completions of one socket are gathered and
// delivered as a batch at the end of each reap, and their buffers recycled
// after it. Where the kernel refuses the multishot form (EINVAL), the
// poller falls back to a single-shot recvmsg into one buffer per socket,
// re-armed after each datagram. Sends are sendmmsg calls made inline, as
// on epoll.

// pktRingCount is the buffers of a socket's ring: two batches, so that a
// batch being delivered leaves the kernel room for the next.
const pktRingCount = 2 * driver.PacketBatch

// pktNameLen is the room for the sender's address in a multishot
// recvmsg's buffer: struct sockaddr_in6, the larger of the two families.
const pktNameLen = unix.SizeofSockaddrInet6

// recvmsgOutLen is sizeof(struct io_uring_recvmsg_out).
const recvmsgOutLen = 16

type pktSlot struct {
	fd     int // -1 when the slot is free
	family int
	gen    uint32
	sink   driver.PacketSink
	size   int
	armed  bool
	r      *pktRecv
}

// pktRecv is the memory the kernel writes for a socket's receives. It
// stays referenced (by the slot, then by pktOrphans) until the receive's
// last completion, after which the ring is unregistered and unmapped.
type pktRecv struct {
	msg   unix.Msghdr
	name  unix.RawSockaddrAny
	iov   unix.Iovec
	ring  *uring.BufRing // multishot
	group uint16
	buf   []byte // single-shot
}

// pktBatch gathers one socket's datagrams for one Datagrams call.
type pktBatch struct {
	tok  driver.Token
	r    *pktRecv
	n    int
	ds   [driver.PacketBatch]driver.Datagram
	bids [driver.PacketBatch]uint16
}

func (p *poller) packet(t driver.Token) *pktSlot {
	if i := int(t.Slot()); i < len(p.pkts) {
		if s := &p.pkts[i]; s.fd >= 0 && s.gen == t.Gen() {
			return s
		}
	}
	return nil
}

func (p *poller) ListenPacket(t driver.Token, pc net.PacketConn, s driver.PacketSink, size int) error {
	fd, family, err := sock.DupPacket(pc)
	if err != nil {
		return err
	}
	// The duplicate is the socket from here on. pc's descriptor stays in
	// Go's network poller, which every datagram would wake for nothing.
	pc.Close()
	r, err := p.newPktRecv(size)
	if err != nil {
		unix.Close(fd)
		return err
	}
	for int(t.Slot()) >= len(p.pkts) {
		p.pkts = append(p.pkts, pktSlot{fd: -1})
	}
	ps := &p.pkts[t.Slot()]
	*ps = pktSlot{fd: fd, family: family, gen: t.Gen(), sink: s, size: size, r: r}
	if err := p.armRecvmsg(t, ps); err != nil {
		*ps = pktSlot{fd: -1, gen: ps.gen}
		p.freePktRecv(r)
		unix.Close(fd)
		return err
	}
	return nil
}

// newPktRecv makes a socket's receive memory: a buffer ring under a group
// of its own, or, once the kernel has refused multishot recvmsg, a single
// buffer.
func (p *poller) newPktRecv(size int) (*pktRecv, error) {
	r := &pktRecv{}
	r.msg.Name = (*byte)(unsafe.Pointer(&r.name))
	if p.pktSingle || p.o.singleRecvmsg {
		r.buf = make([]byte, size)
		r.iov = unix.Iovec{Base: unsafe.SliceData(r.buf)}
		r.iov.SetLen(size)
		r.msg.Iov = &r.iov
		r.msg.Iovlen = 1
		return r, nil
	}
	r.msg.Namelen = pktNameLen
	if n := len(p.pktGroups); n > 0 {
		r.group = p.pktGroups[n-1]
		p.pktGroups = p.pktGroups[:n-1]
	} else {
		p.pktNextGroup++
		r.group = bufGroup + p.pktNextGroup
	}
	// Buffers 8-byte aligned, for the header's words.
	bsize := (recvmsgOutLen + pktNameLen + size + 7) &^ 7
	ring, err := uring.NewBufRing(p.ring, r.group, pktRingCount, bsize, false)
	if err != nil {
		p.pktGroups = append(p.pktGroups, r.group)
		return nil, err
	}
	r.ring = ring
	return r, nil
}

// freePktRecv lets go of receive memory the kernel no longer writes.
func (p *poller) freePktRecv(r *pktRecv) {
	if r.ring == nil {
		return
	}
	_ = r.ring.Unregister(p.ring)
	_ = r.ring.Free()
	p.pktGroups = append(p.pktGroups, r.group)
	r.ring = nil
}

func (p *poller) armRecvmsg(t driver.Token, ps *pktSlot) error {
	e, err := p.sqe()
	if err != nil {
		return err
	}
	e.Opcode = uring.OpRecvmsg
	e.Fd = int32(ps.fd)
	// SAFETY: msg (and the name and iovec it points at) lives in ps.r,
	// which stays referenced until the receive's last completion; Go's
	// heap does not move.
	e.Addr = uint64(uintptr(unsafe.Pointer(&ps.r.msg)))
	// The whole length even when the buffer holds only the start (in
	// the result, or in the multishot's header).
	e.OpFlags = unix.MSG_TRUNC
	if ps.r.ring != nil {
		e.IOPrio = uring.RecvMultishot
		e.Flags = uring.SQEBufferSelect
		e.BufGroup = ps.r.ring.Group()
	} else {
		ps.r.msg.Namelen = unix.SizeofSockaddrAny
	}
	e.UserData = userData(kPacket, t.Slot(), ps.gen)
	ps.armed = true
	return nil
}

func (p *poller) SendTo(t driver.Token, ds []driver.Datagram) (int, error) {
	ps := p.packet(t)
	if ps == nil {
		return 0, net.ErrClosed
	}
	if p.tx == nil {
		p.tx = sock.NewMmsg(0)
	}
	n, err := p.tx.Send(ps.fd, ps.family, ds)
	return n, sock.Wrap("sendmmsg", err)
}

func (p *poller) ClosePacket(t driver.Token) error {
	ps := p.packet(t)
	if ps == nil {
		return net.ErrClosed
	}
	if ps.armed {
		ud := userData(kPacket, t.Slot(), ps.gen)
		p.cancel(ud)
		p.pktOrphans[ud] = ps.r
	} else {
		// Freed after the reap: a batch being delivered may hold its
		// buffers.
		p.pktDead = append(p.pktDead, ps.r)
	}
	p.flushSubmissions()
	err := unix.Close(ps.fd)
	*ps = pktSlot{fd: -1, gen: ps.gen}
	return sock.Wrap("close", err)
}

// onPacket handles a receive completion of a datagram socket.
func (p *poller) onPacket(cqe *uring.CQE, s driver.Sink) {
	slot, gen := uint32(cqe.UserData), uint32(cqe.UserData>>genShift)&genBits
	more := cqe.Flags&uring.CQEFMore != 0
	var ps *pktSlot
	if int(slot) < len(p.pkts) && p.pkts[slot].fd >= 0 && p.pkts[slot].gen&genBits == gen {
		ps = &p.pkts[slot]
	}
	if ps == nil {
		// The socket has closed. Its buffers go with its ring, freed at
		// the receive's last completion.
		if r, ok := p.pktOrphans[cqe.UserData]; ok && !more {
			delete(p.pktOrphans, cqe.UserData)
			p.flushPackets()
			p.freePktRecv(r)
		}
		return
	}
	t := driver.MakeToken(slot, ps.gen)
	if !more {
		ps.armed = false
	}
	r := ps.r
	switch {
	case cqe.Res >= 0 && r.ring != nil && cqe.Flags&uring.CQEFBuffer != 0:
		bid := uint16(cqe.Flags >> uring.CQEBufferShift)
		b, _ := r.ring.Received(bid, int(cqe.Res), cqe.Flags)
		from, payload, size, ok := sock.ParseRecvmsgOut(b, pktNameLen, 0)
		if !ok {
			r.ring.Recycle(bid)
			break
		}
		// The buffer's rounding may hold a few bytes more than asked: the
		// limit is the socket's size, on every engine.
		payload = payload[:min(len(payload), ps.size)]
		p.gather(t, r, driver.Datagram{Data: payload, Addr: from, Size: size}, bid)
	case cqe.Res >= 0 && r.ring == nil:
		p.flushPackets()
		p.pds.ds[0] = driver.Datagram{Data: r.buf[:min(int(cqe.Res), len(r.buf))], Addr: sock.AddrOf(&r.name), Size: int(cqe.Res)}
		ps.sink.Datagrams(t, p.pds.ds[:1])
		p.pds.ds[0] = driver.Datagram{}
	case errno(cqe.Res) == unix.EINVAL && r.ring != nil:
		// No multishot recvmsg here: single-shot from now on.
		p.flushPackets()
		p.pktSingle = true
		nr, err := p.newPktRecv(ps.size)
		if err != nil {
			ps.sink.ReceiveFailed(t, err)
			return
		}
		p.freePktRecv(r)
		ps.r = nr
	case errno(cqe.Res) == unix.ENOBUFS:
		// Every buffer is in the batch being gathered: deliver it, which
		// recycles them, and receive again.
		p.flushPackets()
	case errno(cqe.Res) == unix.ECANCELED, errno(cqe.Res) == unix.EINTR, errno(cqe.Res) == unix.EAGAIN:
	case cqe.Res < 0:
		p.flushPackets()
		ps.sink.ReceiveFailed(t, sock.Wrap("recvmsg", errno(cqe.Res)))
	}
	// The Sink may have closed the socket.
	if ps = p.packet(t); ps != nil && !ps.armed {
		if err := p.armRecvmsg(t, ps); err != nil {
			ps.sink.ReceiveFailed(t, err)
		}
	}
}

// gather adds a datagram to the batch being gathered, delivering the
// batch first when it is full or another socket's.
func (p *poller) gather(t driver.Token, r *pktRecv, d driver.Datagram, bid uint16) {
	b := &p.pds
	if b.n == len(b.ds) || b.n > 0 && b.tok != t {
		p.flushPackets()
	}
	b.tok, b.r = t, r
	b.ds[b.n], b.bids[b.n] = d, bid
	b.n++
}

// flushPackets delivers the gathered batch and recycles its buffers.
func (p *poller) flushPackets() {
	b := &p.pds
	if b.n == 0 {
		return
	}
	n := b.n
	b.n = 0
	ring := b.r.ring
	if ps := p.packet(b.tok); ps != nil {
		ps.sink.Datagrams(b.tok, b.ds[:n])
	}
	if ring != nil {
		for _, bid := range b.bids[:n] {
			ring.Recycle(bid)
		}
	}
	clear(b.ds[:n])
	b.r = nil
}

// freeDeadPackets lets go of the receive memory of sockets closed while
// no receive was in flight.
func (p *poller) freeDeadPackets() {
	for i, r := range p.pktDead {
		p.freePktRecv(r)
		p.pktDead[i] = nil
	}
	p.pktDead = p.pktDead[:0]
}

// releasePackets closes the datagram sockets when the poller goes; their
// receives are cancelled with everything else.
func (p *poller) releasePackets() {
	for i := range p.pkts {
		if ps := &p.pkts[i]; ps.fd >= 0 {
			if ps.armed {
				p.pktOrphans[userData(kPacket, uint32(i), ps.gen)] = ps.r
			} else {
				p.pktDead = append(p.pktDead, ps.r)
			}
			unix.Close(ps.fd)
			*ps = pktSlot{fd: -1, gen: ps.gen}
		}
	}
}

// freeOrphanPackets unmaps the rings of cancelled receives once nothing is
// in flight.
func (p *poller) freeOrphanPackets() {
	p.freeDeadPackets()
	for ud, r := range p.pktOrphans {
		delete(p.pktOrphans, ud)
		if r.ring != nil {
			_ = r.ring.Free()
		}
	}
}

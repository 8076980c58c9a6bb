package driver

import (
	"net"
	"net/netip"
)

// Datagram sockets (UDP) use a second, smaller contract beside Poller's,
// which every engine offers as a PacketPoller:
//
//   - ListenPacket(t, pc, s, size): the engine takes the socket (a
//     duplicate of pc's descriptor, after which it closes pc; or pc
//     itself on the portable engine) and starts receiving into buffers of
//     size bytes. The caller closes pc after ClosePacket either way. Received datagrams
//     are reported in batches as s.Datagrams(t, ds); each Datagram's Data
//     is valid only until Datagrams returns. A datagram larger than size
//     arrives with Size above len(Data) (MSG_TRUNC): the engine never
//     passes a cut datagram off as whole. A receive error that does not
//     end the socket is s.ReceiveFailed(t, err); receiving goes on.
//   - SendTo(t, ds): sends the datagrams in order, at once and without
//     waiting, and returns how many the kernel took; when that is fewer
//     than len(ds), err says why ds[n] was not sent (EAGAIN: the socket's
//     buffer is full). The engine keeps no reference to ds.
//   - ClosePacket(t): closes the socket; no completion carries t after it.
//
// Datagrams and ReceiveFailed are called from inside Poll on the loop
// goroutine, like Sink's methods; the rest of the threading rules are
// Poller's.

// Datagram is one datagram received or to send.
type Datagram struct {
	// Data is the payload. For a received datagram it lies in a buffer
	// the engine reuses and holds at most the buffer's size.
	Data []byte
	// Addr is the sender of a received datagram, or the destination of
	// one to send. An IPv4 sender on a dual-stack socket is reported as
	// IPv4, not IPv4-mapped.
	Addr netip.AddrPort
	// Size is a received datagram's length on the wire. Above len(Data),
	// the datagram did not fit the buffer and Data holds its start; an
	// engine that cannot learn the whole length reports len(Data)+1.
	Size int
}

// PacketSink receives the completions of datagram sockets.
type PacketSink interface {
	Datagrams(t Token, ds []Datagram)
	ReceiveFailed(t Token, err error)
}

// PacketPoller is a Poller's datagram side. See the comment above Datagram.
type PacketPoller interface {
	ListenPacket(t Token, pc net.PacketConn, s PacketSink, size int) error
	SendTo(t Token, ds []Datagram) (n int, err error)
	ClosePacket(t Token) error
}

// PacketBatch is the most datagrams an engine receives or sends with one
// system call (recvmmsg, sendmmsg) and delivers in one Datagrams call.
const PacketBatch = 32

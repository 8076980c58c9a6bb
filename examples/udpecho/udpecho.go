// Package udpecho is the datagram echo: every datagram is sent back to
// its sender, whole. It is what `proactor serve udp-echo` runs, on the
// same port number as the TCP echo, over UDP.
package udpecho

import (
	"log/slog"
	"net/netip"

	"github.com/seed487d475b/proactor"
)

// DefaultAddr is where `proactor serve udp-echo` listens (UDP) unless told
// otherwise.
const DefaultAddr = "127.0.0.1:5001"

// Handler echoes datagrams. Log, if set, is told of each datagram that
// could not be received whole or sent back (at debug level: on a busy
// server they are many, and every one is counted in PacketStats anyway).
type Handler struct {
	Log *slog.Logger
}

// OnPacket sends data back to from. WriteTo copies it, so the receive
// buffer may be reused as soon as OnPacket returns. A refused write (the
// socket's queue is full, or it is closing) drops the echo, which UDP
// allows and PacketStats counts.
func (Handler) OnPacket(pc *proactor.PacketConn, data []byte, from netip.AddrPort) {
	_ = pc.WriteTo(data, from)
}

// OnPacketError logs a datagram that was dropped: larger than the
// buffer (proactor.ErrTruncated), or refused by the kernel.
func (h Handler) OnPacketError(pc *proactor.PacketConn, addr netip.AddrPort, err error) {
	if h.Log != nil {
		h.Log.Debug("datagram dropped", "peer", addr, "err", err)
	}
}

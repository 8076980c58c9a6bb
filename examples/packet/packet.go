// Package packet is the seed articles' packet echo server: each packet
// starts with a 1-byte header holding the packet's total length, header
// included, and is echoed back whole once all of it has arrived, however
// the network split or joined it.
//
// The article speaks of packets "of up to 256 bytes": that is the size of
// its I/O buffer. A 1-byte header cannot count past 255, so the longest
// packet is MaxPacket, 255 bytes, and the shortest that carries data is 2
// bytes (a header of 2, Ctrl-B in a terminal). A header of 0 or 1 describes
// no data at all and is a protocol error: the framer rejects it with
// proactor.ErrBadFrame, so the connection closes gracefully (the echoes of
// the good packets before it are sent, then a FIN; OnClose gets the error)
// and is counted in Stats.FrameErrors, while every other connection goes
// on.
package packet

import (
	"fmt"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/codec"
)

// DefaultAddr is where `proactor serve packet` listens unless told
// otherwise.
const DefaultAddr = "127.0.0.1:5002"

// MaxPacket is the longest packet, header included: the largest length a
// 1-byte header holds.
const MaxPacket = 255

// MinPacket is the shortest valid packet: the header and one byte of data.
const MinPacket = 2

// format is the wire format; codec.LengthPrefixed alone would accept a
// header of 1 as an empty packet, which Framer refuses.
func format() codec.LengthPrefixed {
	return codec.LengthPrefixed{HeaderSize: 1, IncludesHeader: true, MaxFrame: MaxPacket}
}

// Framer is both directions of the packet format.
var (
	_ codec.Framer  = Framer{}
	_ codec.Encoder = Framer{}
)

// Framer finds packets in a stream for proactor.WithFramer; each frame it
// returns is a whole packet, header included. It is stateless, so one value
// serves every connection at once.
type Framer struct{}

// Next returns the first whole packet in buf, following the codec.Framer
// contract. A header below MinPacket is an error wrapping codec.ErrBadFrame.
func (Framer) Next(buf []byte) (frame []byte, n int, need int, err error) {
	if len(buf) > 0 && buf[0] < MinPacket {
		return nil, 0, 0, fmt.Errorf("%w: packet length %d, want %d to %d", codec.ErrBadFrame, buf[0], MinPacket, MaxPacket)
	}
	return format().Next(buf)
}

// Append appends payload, framed as one packet, to dst: what a client
// sends. It fails with codec.ErrFrameTooLarge for a payload over
// MaxPacket-1 bytes and with codec.ErrBadFrame for an empty one, returning
// dst unchanged.
func (Framer) Append(dst, payload []byte) ([]byte, error) {
	if len(payload) == 0 {
		return dst, fmt.Errorf("%w: empty packet", codec.ErrBadFrame)
	}
	return format().Append(dst, payload)
}

// Options returns the options that make a server or a listener speak the
// packet protocol; give them to proactor.NewServer or Server.Listen.
func Options() []proactor.Option {
	return []proactor.Option{proactor.WithFramer(Framer{})}
}

// Handler echoes packets. With Options' framer every OnData receives one
// whole packet, which Write copies, so one stateless value serves every
// connection.
type Handler struct{ proactor.BaseHandler }

// OnData writes the packet back whole, header included. A refused write
// (the connection is closing, or its queue overflowed) means the echo
// cannot be delivered: the connection is aborted rather than left with a
// hole in its stream.
func (Handler) OnData(c *proactor.Conn, packet []byte) {
	if _, err := c.Write(packet); err != nil {
		c.Abort()
	}
}

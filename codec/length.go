package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// DefaultMaxLengthPrefixed is the MaxFrame of a LengthPrefixed whose MaxFrame
// is 0: 1 MiB, header included.
const DefaultMaxLengthPrefixed = 1 << 20

// LengthPrefixed frames start with a header holding an unsigned length. The
// whole frame, header included, is the decoded length, plus HeaderSize
// unless IncludesHeader, plus Adjust. A value is stateless and safe for
// concurrent use.
type LengthPrefixed struct {
	HeaderSize     int              // 1, 2, 4 or 8; 0 means 4
	ByteOrder      binary.ByteOrder // nil means big endian
	IncludesHeader bool             // the length counts the header too
	Adjust         int              // added to the decoded length, after the IncludesHeader rule (Netty's lengthAdjustment)
	MaxFrame       int              // max whole frame including the header; 0 means DefaultMaxLengthPrefixed
	StripHeader    bool             // the frame given to the handler excludes the header
}

// config returns the effective header size, byte order and MaxFrame.
func (p LengthPrefixed) config() (hs int, order binary.ByteOrder, maxFrame int, err error) {
	hs = p.HeaderSize
	switch hs {
	case 0:
		hs = 4
	case 1, 2, 4, 8:
	default:
		return 0, nil, 0, fmt.Errorf("%w: length header size %d, want 1, 2, 4 or 8", ErrBadFrame, hs)
	}
	order = p.ByteOrder
	if order == nil {
		order = binary.BigEndian
	}
	maxFrame = p.MaxFrame
	if maxFrame == 0 {
		maxFrame = DefaultMaxLengthPrefixed
	} else if maxFrame < 0 {
		return 0, nil, 0, fmt.Errorf("%w: negative MaxFrame %d", ErrBadFrame, maxFrame)
	}
	return hs, order, maxFrame, nil
}

// Next returns the first whole frame in buf; see Framer. Once the header is
// in buf, need is the whole frame's size, header included. A length that
// makes the frame shorter than its header is ErrBadFrame; one that makes it
// longer than MaxFrame is ErrFrameTooLarge, computed without overflow for
// any 8-byte length and any Adjust.
func (p LengthPrefixed) Next(buf []byte) (frame []byte, n int, need int, err error) {
	hs, order, maxFrame, err := p.config()
	if err != nil {
		return nil, 0, 0, err
	}
	if len(buf) < hs {
		return nil, 0, 0, nil
	}
	total, err := p.frameSize(decodeLength(buf, hs, order), hs, maxFrame)
	if err != nil {
		return nil, 0, 0, err
	}
	if len(buf) < total {
		return nil, 0, total, nil
	}
	start := 0
	if p.StripHeader {
		start = hs
	}
	return buf[start:total:total], total, 0, nil
}

// decodeLength reads the hs-byte length at the start of buf.
func decodeLength(buf []byte, hs int, order binary.ByteOrder) uint64 {
	switch hs {
	case 1:
		return uint64(buf[0])
	case 2:
		return uint64(order.Uint16(buf))
	case 4:
		return uint64(order.Uint32(buf))
	default:
		return order.Uint64(buf)
	}
}

// frameSize turns a decoded length into the whole frame's size. It works in
// uint64 and checks every step, so that no length wraps into a small or
// negative int: the result is exact or an error.
func (p LengthPrefixed) frameSize(length uint64, hs, maxFrame int) (int, error) {
	total := length
	if !p.IncludesHeader {
		if total > math.MaxUint64-uint64(hs) {
			return 0, p.tooLong(length, maxFrame)
		}
		total += uint64(hs)
	}
	if p.Adjust >= 0 {
		if total > math.MaxUint64-uint64(p.Adjust) {
			return 0, p.tooLong(length, maxFrame)
		}
		total += uint64(p.Adjust)
	} else {
		// -(Adjust+1)+1 is |Adjust| even for math.MinInt.
		sub := uint64(-(p.Adjust + 1)) + 1
		if total < sub {
			return 0, fmt.Errorf("%w: length %d with adjustment %d is negative", ErrBadFrame, length, p.Adjust)
		}
		total -= sub
	}
	if total < uint64(hs) {
		return 0, fmt.Errorf("%w: length %d gives a %d-byte frame, shorter than its %d-byte header",
			ErrBadFrame, length, total, hs)
	}
	if total > uint64(maxFrame) {
		return 0, p.tooLong(length, maxFrame)
	}
	return int(total), nil
}

func (p LengthPrefixed) tooLong(length uint64, maxFrame int) error {
	return fmt.Errorf("%w: length %d (adjustment %d) exceeds MaxFrame %d", ErrFrameTooLarge, length, p.Adjust, maxFrame)
}

// Append appends the header and payload to dst, payload being everything
// that follows the header: what Next returns with StripHeader. It returns
// ErrFrameTooLarge if the frame would exceed MaxFrame or its length does not
// fit in HeaderSize bytes, and ErrBadFrame if Adjust would make the length
// negative. It allocates only when dst lacks capacity.
func (p LengthPrefixed) Append(dst, payload []byte) ([]byte, error) {
	hs, order, maxFrame, err := p.config()
	if err != nil {
		return dst, err
	}
	if len(payload) > maxFrame-hs {
		return dst, fmt.Errorf("%w: %d-byte payload and %d-byte header exceed MaxFrame %d",
			ErrFrameTooLarge, len(payload), hs, maxFrame)
	}
	// The header holds v such that frameSize(v) is the frame's size.
	base := len(payload)
	if p.IncludesHeader {
		base += hs
	}
	var v uint64
	if p.Adjust >= 0 {
		if base < p.Adjust {
			return dst, fmt.Errorf("%w: %d-byte payload is shorter than adjustment %d allows",
				ErrBadFrame, len(payload), p.Adjust)
		}
		v = uint64(base - p.Adjust)
	} else {
		v = uint64(base) + uint64(-(p.Adjust + 1)) + 1
	}
	if hs < 8 && v >= 1<<(8*hs) {
		return dst, fmt.Errorf("%w: length %d does not fit a %d-byte header", ErrFrameTooLarge, v, hs)
	}
	dst = slices.Grow(dst, hs+len(payload))
	at := len(dst)
	dst = dst[:at+hs]
	switch hs {
	case 1:
		dst[at] = byte(v)
	case 2:
		order.PutUint16(dst[at:], uint16(v))
	case 4:
		order.PutUint32(dst[at:], uint32(v))
	default:
		order.PutUint64(dst[at:], v)
	}
	return append(dst, payload...), nil
}

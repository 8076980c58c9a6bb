package codec

import "fmt"

// Fixed frames all have the same Size, which must be positive. A value is
// stateless and safe for concurrent use.
type Fixed struct {
	Size int // bytes per frame; Next and Append return ErrBadFrame unless Size > 0
}

// Next returns the first Size bytes of buf as a frame; see Framer. While buf
// is shorter, need is Size.
func (f Fixed) Next(buf []byte) (frame []byte, n int, need int, err error) {
	if f.Size <= 0 {
		return nil, 0, 0, f.badSize()
	}
	if len(buf) < f.Size {
		return nil, 0, f.Size, nil
	}
	return buf[:f.Size:f.Size], f.Size, 0, nil
}

// Append appends payload to dst, returning ErrBadFrame unless payload is
// exactly Size bytes long. It allocates only when dst lacks capacity.
func (f Fixed) Append(dst, payload []byte) ([]byte, error) {
	if f.Size <= 0 {
		return dst, f.badSize()
	}
	if len(payload) != f.Size {
		return dst, fmt.Errorf("%w: %d-byte payload, fixed size %d", ErrBadFrame, len(payload), f.Size)
	}
	return append(dst, payload...), nil
}

func (f Fixed) badSize() error {
	return fmt.Errorf("%w: fixed frame size %d, want > 0", ErrBadFrame, f.Size)
}

package codec

import "errors"

// Errors reported by framers and encoders. They are sentinels, wrapped with
// detail: compare with errors.Is.
var (
	// ErrFrameTooLarge reports a frame over its format's MaxFrame, or a
	// payload whose length the format cannot represent.
	ErrFrameTooLarge = errors.New("proactor: frame too large")
	// ErrBadFrame reports a malformed frame, a payload the format cannot
	// encode, or a framer configuration that cannot work.
	ErrBadFrame = errors.New("proactor: bad frame")
)

// Framer finds frames in a byte stream. Implementations are stateless values,
// safe for concurrent use by many connections: all state is in buf.
type Framer interface {
	// Next looks at buf, the bytes received and not yet consumed, and
	// returns the first whole frame. frame is the part handed to the
	// handler, a subslice of buf and never a copy. n is how many bytes of
	// buf the frame used (n > 0), or 0 if buf holds no whole frame yet; then
	// need is the total number of buffered bytes the next frame needs when
	// that is known (a length header has been read), else 0. err is
	// ErrFrameTooLarge or ErrBadFrame, wrapped with detail, after which the
	// stream is unusable. Next returns ErrFrameTooLarge as soon as buf
	// proves that the frame exceeds MaxFrame, so a peer can never make the
	// caller buffer more than the largest valid frame plus one read.
	Next(buf []byte) (frame []byte, n int, need int, err error)
}

// Encoder encodes frames in the format that a Framer decodes. It is
// implemented by LengthPrefixed, Delimited and Fixed, and is safe for
// concurrent use.
type Encoder interface {
	// Append appends payload, encoded as one frame, to dst and returns the
	// extended slice. On error it returns dst unchanged.
	Append(dst, payload []byte) ([]byte, error)
}

// ResumableFramer is a Framer that can resume a search where the previous
// call on the same tail left off, as Delimited does; callers that keep their
// tail between reads should use NextFrom when a Framer implements it.
type ResumableFramer interface {
	Framer
	// NextFrom returns what Next(buf) returns, given that scanned is the
	// length buf had at the previous call that found no frame and no error
	// (with the same bytes at its start), or 0 after a frame or at first.
	NextFrom(buf []byte, scanned int) (frame []byte, n int, need int, err error)
}

// Static checks that every format implements both directions.
var (
	_ ResumableFramer = Delimited{}
	_ Framer          = LengthPrefixed{}
	_ Framer          = Delimited{}
	_ Framer          = Fixed{}
	_ Encoder         = LengthPrefixed{}
	_ Encoder         = Delimited{}
	_ Encoder         = Fixed{}
)

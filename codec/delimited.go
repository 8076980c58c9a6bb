package codec

import (
	"bytes"
	"fmt"
)

// DefaultMaxDelimited is the MaxFrame of a Delimited whose MaxFrame is 0:
// 64 KiB, delimiter excluded.
const DefaultMaxDelimited = 64 << 10

// crlf is the default delimiter; never modified.
var crlf = []byte("\r\n")

// Delimited frames end with a delimiter, such as text lines. A value is
// stateless and safe for concurrent use as long as Delimiter is not modified.
type Delimited struct {
	Delimiter     []byte // nil or empty means "\r\n"
	MaxFrame      int    // max frame length excluding the delimiter; 0 means DefaultMaxDelimited
	KeepDelimiter bool   // the frame given to the handler includes the delimiter

	// AcceptLF makes a bare "\n" end a frame as well as "\r\n": the line
	// mode of text protocols read by people typing at nc, which sends LF.
	// The delimiter is then whichever of the two ended the frame (a CR
	// before the LF is never part of the frame), and Append writes "\r\n".
	// It needs the default delimiter: with another, Next and Append
	// return ErrBadFrame.
	AcceptLF bool
}

// config returns the effective delimiter and MaxFrame.
func (d Delimited) config() (delim []byte, maxFrame int, err error) {
	delim = d.Delimiter
	if len(delim) == 0 {
		delim = crlf
	} else if d.AcceptLF && !bytes.Equal(delim, crlf) {
		return nil, 0, fmt.Errorf("%w: AcceptLF with the delimiter %q; it needs \"\\r\\n\"", ErrBadFrame, delim)
	}
	maxFrame = d.MaxFrame
	if maxFrame == 0 {
		maxFrame = DefaultMaxDelimited
	} else if maxFrame < 0 {
		return nil, 0, fmt.Errorf("%w: negative MaxFrame %d", ErrBadFrame, maxFrame)
	}
	return delim, maxFrame, nil
}

// Next returns the first whole frame in buf; see Framer. It ends at the first
// occurrence of the delimiter, so a delimiter split across reads is found
// once the caller calls again with the rest appended. need is always 0. It
// returns ErrFrameTooLarge once buf holds more than MaxFrame bytes and no
// delimiter starting within the first MaxFrame+1 bytes, complete or still
// arriving, so the tail it leaves is shorter than MaxFrame plus the
// delimiter.
//
// Next searches buf from its start on every call, so a frame that arrives in
// many small reads costs time quadratic in its length (bounded by MaxFrame);
// a caller that keeps its tail should call NextFrom instead.
func (d Delimited) Next(buf []byte) (frame []byte, n int, need int, err error) {
	return d.NextFrom(buf, 0)
}

// NextFrom is Next for a caller that remembers how much of buf it has
// already searched: scanned is the length buf had at the previous call that
// returned no frame and no error, with the same bytes at its start, or 0.
// The search resumes where that call left off, so a frame costs time linear
// in its length however it is split into reads. The results are those of
// Next(buf).
func (d Delimited) NextFrom(buf []byte, scanned int) (frame []byte, n int, need int, err error) {
	delim, maxFrame, err := d.config()
	if err != nil {
		return nil, 0, 0, err
	}
	if d.AcceptLF {
		return d.nextLine(buf, scanned, maxFrame)
	}
	// A delimiter found beyond the window would end a frame over MaxFrame.
	window := buf
	if limit := maxFrame + len(delim); limit > 0 && len(window) > limit {
		window = window[:limit]
	}
	// The previous search found no delimiter starting before from.
	from := min(max(scanned-len(delim)+1, 0), len(window))
	if i := bytes.Index(window[from:], delim); i >= 0 {
		i += from
		end := i + len(delim)
		if d.KeepDelimiter {
			return buf[:end:end], end, 0, nil
		}
		return buf[:i:i], end, 0, nil
	}
	if len(buf) <= maxFrame {
		return nil, 0, 0, nil
	}
	// window holds no whole delimiter; one that starts at p <= maxFrame may
	// still be arriving if window[p:] begins it.
	for p := max(len(window)-len(delim)+1, 0); p <= maxFrame; p++ {
		if bytes.HasPrefix(delim, window[p:]) {
			return nil, 0, 0, nil
		}
	}
	return nil, 0, 0, fmt.Errorf("%w: no delimiter in the first %d bytes, MaxFrame %d",
		ErrFrameTooLarge, maxFrame+1, maxFrame)
}

// nextLine is NextFrom in AcceptLF mode: a frame ends at the first LF,
// and a CR just before it belongs to the delimiter. The longest frame is
// therefore followed by a CR and an LF at buf[maxFrame:maxFrame+2].
func (d Delimited) nextLine(buf []byte, scanned, maxFrame int) (frame []byte, n int, need int, err error) {
	window := buf
	if len(buf)-2 > maxFrame { // not maxFrame+2, which may overflow
		window = buf[:maxFrame+2]
	}
	// The previous search found no LF before scanned.
	if i := bytes.IndexByte(window[min(scanned, len(window)):], '\n'); i >= 0 {
		i += min(scanned, len(window))
		end := i
		if end > 0 && buf[end-1] == '\r' {
			end--
		}
		if end > maxFrame {
			// An LF right after maxFrame+1 bytes with no CR before it.
			return nil, 0, 0, fmt.Errorf("%w: a %d-byte line, MaxFrame %d", ErrFrameTooLarge, end, maxFrame)
		}
		if d.KeepDelimiter {
			return buf[: i+1 : i+1], i + 1, 0, nil
		}
		return buf[:end:end], i + 1, 0, nil
	}
	// With no LF yet, only a CR right after a full frame may still turn
	// into a delimiter.
	if len(buf) <= maxFrame || len(buf) == maxFrame+1 && buf[maxFrame] == '\r' {
		return nil, 0, 0, nil
	}
	return nil, 0, 0, fmt.Errorf("%w: no line end in the first %d bytes, MaxFrame %d",
		ErrFrameTooLarge, len(window), maxFrame)
}

// Append appends payload and the delimiter to dst. It returns
// ErrFrameTooLarge if payload exceeds MaxFrame, and ErrBadFrame if Next would
// not decode the result back to payload: payload contains the delimiter, or
// ends with bytes that form one together with the start of the appended
// delimiter. It allocates only when dst lacks capacity.
func (d Delimited) Append(dst, payload []byte) ([]byte, error) {
	delim, maxFrame, err := d.config()
	if err != nil {
		return dst, err
	}
	if len(payload) > maxFrame {
		return dst, fmt.Errorf("%w: %d-byte payload exceeds MaxFrame %d", ErrFrameTooLarge, len(payload), maxFrame)
	}
	if d.AcceptLF {
		// The first LF ends a frame; a CR anywhere is data (a trailing one
		// comes back whole, as the CR of the appended CRLF is the one taken).
		if i := bytes.IndexByte(payload, '\n'); i >= 0 {
			return dst, fmt.Errorf("%w: payload holds a line feed at offset %d", ErrBadFrame, i)
		}
	}
	start := len(dst)
	dst = append(append(dst, payload...), delim...)
	if i := bytes.Index(dst[start:], delim); i != len(payload) {
		return dst[:start], fmt.Errorf("%w: payload holds the delimiter %q at offset %d", ErrBadFrame, delim, i)
	}
	return dst, nil
}

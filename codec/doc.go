// Package codec finds frames in a TCP byte stream and encodes them: a
// length-prefixed format with a 1, 2, 4 or 8-byte header, a delimited format
// (lines ending in "\r\n" or any other delimiter; with AcceptLF, lines ending
// in "\r\n" or a bare "\n") and fixed-size records.
//
// # The Framer contract
//
// A Framer is incremental and stateless. Its caller keeps the bytes it has
// received and not yet consumed, the tail, and after every read calls Next
// on the tail with the new bytes appended:
//
//	buf = append(tail, chunk...)
//	for {
//		frame, n, need, err := f.Next(buf)
//		if err != nil { /* close the connection with err */ }
//		if n == 0 { break } // keep buf as the tail; need may size its buffer
//		handle(frame)
//		buf = buf[n:]
//	}
//
// Frames are zero copy: frame is a subslice of buf, never a copy, so it is
// valid only as long as the caller leaves buf's bytes alone (in proactor,
// until OnData returns). Its capacity ends with the frame, so appending to it
// copies rather than overwriting the next frame. When a whole frame is not
// there yet, Next returns n == 0 and, if the header has told it, the total
// size need the frame will have in buf, so that the caller can allocate one
// buffer for the tail instead of growing it read by read. A ResumableFramer
// (Delimited) also has NextFrom, which skips the part of the tail an earlier
// call already searched: callers should prefer it, since Next searches a
// delimited tail from its start on every read.
//
// Because all state lives in buf, one Framer value serves any number of
// connections at once; Next never allocates on the paths that find a frame
// or wait for more bytes, so framing costs nothing per message.
//
// # MaxFrame
//
// Next returns ErrFrameTooLarge as soon as buf proves that the next frame
// exceeds its MaxFrame: once a length header announces more, or once a
// delimited frame has run past MaxFrame bytes with no delimiter that could
// still end it. A peer therefore never makes its caller hold more than the
// largest valid frame plus one read. ErrBadFrame reports a malformed stream
// (such as a length shorter than its own header) or an unusable
// configuration. Both errors wrap the sentinel with detail, to be tested with
// errors.Is, and leave the stream unusable: the caller must stop reading it.
// A configuration error comes back from every call, so Next(nil) validates a
// framer before any connection uses it.
//
// # Encoders
//
// Each format's Append encodes one frame, header or delimiter included, at
// the end of dst, and refuses what the matching Next would not decode back
// to the same payload; on error it returns dst unchanged.
package codec

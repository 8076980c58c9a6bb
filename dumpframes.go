package proactor

import (
	"encoding/hex"
	"fmt"
)

// WithDumpBadFrames makes a framing error show the input that caused it:
// the OnClose reason becomes a *BadFrameError carrying a copy of the first
// n bytes the framer refused (from the start of the frame it was looking
// at), shown in hex in its message, and the error is logged at Warn level
// with a hex dump, so that a client speaking the wrong protocol or a
// corrupt length header can be told apart. The reason still matches
// ErrFrameTooLarge or ErrBadFrame with errors.Is. Per server or per
// listener; default: 0, off (the reason is the bare sentinel, and nothing
// is copied or logged).
func WithDumpBadFrames(n int) Option {
	return scoped("WithDumpBadFrames", onListener|onClient, func(c *config) { c.dumpBad = max(n, 0) })
}

// BadFrameError is the OnClose reason of a connection whose framer refused
// its input, with WithDumpBadFrames: Err is the framer's error
// (ErrFrameTooLarge, ErrBadFrame) and Input the first bytes from the start
// of the refused frame.
type BadFrameError struct {
	Err   error
	Input []byte
}

func (e *BadFrameError) Error() string {
	return fmt.Sprintf("%v; the first %d bytes of the frame: %s", e.Err, len(e.Input), hex.EncodeToString(e.Input))
}

// Unwrap returns the framer's error.
func (e *BadFrameError) Unwrap() error { return e.Err }

// badFrame returns the OnClose reason of a framing error on input in: err
// itself, or with WithDumpBadFrames err with the first bytes of in, which
// is also logged.
func (c *Conn) badFrame(err error, in []byte) error {
	n := c.cfg.dumpBad
	if n == 0 {
		return err
	}
	e := &BadFrameError{Err: err, Input: append([]byte(nil), in[:min(n, len(in))]...)}
	c.srv().log.Warn("proactor: bad frame", "conn", c.id, "remote", c.remote.unpack(), "err", err,
		"input", "\n"+hex.Dump(e.Input))
	return e
}

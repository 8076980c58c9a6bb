// Package resp reads and writes RESP2, the protocol of Redis, so that a
// proactor server can speak to redis-cli, redis-benchmark and every Redis
// client library.
//
// # Commands
//
// A client sends a command as an array of bulk strings
//
//	*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n
//
// or, typed by hand (telnet, nc), as an inline command: one line of words
// separated by spaces or tabs, ending in "\n" or "\r\n". Inline words are
// taken as they are: quotes and backslashes have no special meaning, unlike
// in redis-server, because unquoting would have to copy. An empty line is a
// command with no arguments, which a server skips. An array of 0 or fewer
// elements ("*0\r\n", "*-1\r\n") is one too, as Redis treats it.
//
// Limits.Parse splits the first command of a buffer into its arguments,
// which are subslices of the buffer, never copies. Two codec.Framer types
// put it on proactor's framing model (proactor.WithFramer), which hands a
// handler whole frames from the stream without copying them:
//
//   - Framer makes each command a frame, and reports a malformed or
//     over-limit command as an error, as every codec framer does (the
//     connection then closes without a word).
//   - PipelineFramer, for servers, makes a frame of every whole command at
//     the start of the stream, so that a handler answers all the commands of
//     one read with one Write; and it hands a malformed command over as a
//     frame of its own, on which Parse reports the error, so that the
//     handler can answer "-ERR Protocol error: ..." before it closes, as
//     redis-server does.
//
// # Limits
//
// Limits bounds a bulk string's length (MaxBulk), an array's element count
// (MaxArgs), an inline line (MaxInline) and a whole command (MaxCommand). A
// command is refused as soon as its bytes prove it over a limit, so a
// client can never make a server hold more than MaxCommand bytes plus one
// read. Errors are *ProtocolError values, worded as redis-server words
// them, that match codec.ErrFrameTooLarge or codec.ErrBadFrame with
// errors.Is.
//
// The framers are stateless (the codec contract), so a command that
// arrives in many reads is parsed again from its start after each read.
// Bulk payloads are skipped by their length, so the cost is one small
// header per element, and no element is looked at before the buffer is
// long enough to hold them all; MaxArgs bounds what is left.
//
// # Replies
//
// The Append functions append one reply (a simple string, an error, an
// integer, a bulk string, a null, an array header) to a []byte and return
// it, as strconv.AppendInt does: a handler builds all the replies of a
// read in one buffer it reuses, with no allocation per reply. Simple
// strings and errors cannot hold a line break; the encoder turns "\r" and
// "\n" into spaces, as redis-server does with error messages.
package resp

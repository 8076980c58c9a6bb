// Package pop3 is the Post Office Protocol, version 3 (RFC 1939), on
// proactor: a session state machine, a command parser with limits, and
// the multi-line responses with their dot-stuffing, over a Maildrop that
// the user supplies (examples/pop3d has one on Maildir directories).
//
// # Sessions
//
// A Session moves from AUTHORIZATION (USER, PASS; APOP is refused, as
// the greeting carries no timestamp) to TRANSACTION (STAT, LIST, UIDL,
// RETR, TOP, DELE, RSET, NOOP) and, with QUIT, to UPDATE, where the
// messages marked by DELE are removed and the maildrop released. A
// session that ends any other way removes nothing. CAPA (RFC 2449) works
// in every state and lists USER, TOP, UIDL, RESP-CODES and PIPELINING;
// errors carry the response codes [AUTH], [IN-USE] and [SYS/TEMP]. An
// Authenticator opens a user's maildrop locked: a second session of the
// same user is answered "-ERR [IN-USE] maildrop locked".
//
// A failed PASS is answered after Limits.FailDelay (1 s), and
// Limits.MaxFailures of them (3) end the session. Handler checks at most
// GOMAXPROCS passwords at a time, since a password hash is built to cost
// CPU.
//
// # Limits
//
// Commands end in CRLF or a bare LF. A command line may hold 255 octets
// with its CRLF (RFC 2449, section 4); a longer one closes the connection
// (Framer), since no POP3 client sends one. An unknown command, or an
// argument over 40 octets (RFC 1939), is answered "-ERR" and the session
// goes on. The autologout timer of RFC 1939 is proactor's idle timeout,
// 10 minutes (Options).
//
// # Messages on the wire
//
// Messages are stored as they come, with LF or CRLF line ends; RFC 1939
// sends them with CRLF, each line that starts with "." given another
// (dot-stuffing), and ".\r\n" after the last line. Sizes (STAT, LIST, the
// RETR reply) count the CRLF form without the stuffing (Measure).
//
// Since dot-stuffing changes the bytes, a message cannot go to the socket
// unchanged in general. RETR therefore reads it 32 KiB at a time, converts
// each chunk (Stuffer, which keeps its place across chunks) and writes it,
// then waits until the connection's queue is under proactor's high
// watermark (Conn.Writable, then OnWritable) before the next: a 100 MB
// message costs a chunk, its converted form and the watermark's worth of
// queue, never the message. A message whose stored bytes are already the
// wire form (Message.Wire: CRLF only, no line starting with ".", a final
// CRLF) goes out with Conn.SendFile instead, sendfile(2) where the engine
// has it.
//
// # Off the loops
//
// Commands that touch no disk are answered on the connection's loop. A
// login, RETR, TOP, the whole-maildrop LIST and UIDL and QUIT's UPDATE run
// on a goroutine of their own, and the connection stops reading
// (PauseRead) until they are answered, so commands sent together
// (PIPELINING) are still answered in order, and a slow disk or a password
// hash never holds up the loop's other connections.
package pop3

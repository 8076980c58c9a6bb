// Package pop3d is the POP3 server behind `proactor serve pop3`: package
// pop3's sessions over a directory of Maildirs, with users and bcrypt
// password hashes in a file.
//
// # Layout
//
// The maildrop directory holds one Maildir per user, named after the user:
//
//	DIR/alice/new/1733300000.M1P2.host     a message, as delivered
//	DIR/alice/cur/1733200000.M5P9.host:2,S a message seen by a mail reader
//	DIR/alice/tmp/                         deliveries in progress (ignored)
//	DIR/.users                             the users file (--users elsewhere)
//
// A user's messages are the regular files of new/ and cur/ whose names do
// not start with ".", in the order of their names (a Maildir name starts
// with the delivery time), one message a file, with lines ended by LF or
// CRLF. A user without a Maildir has an empty maildrop. UIDL reports a
// message's name without its ":2,..." flags; messages are not moved from
// new/ to cur/. DELE marks a message, and QUIT removes the files of the
// marked ones; a session that ends otherwise removes nothing.
//
// # Sizes and RETR
//
// STAT and LIST report sizes in octets as sent (lines ended by CRLF, RFC
// 1939's rule), so every message is read once when a session opens the
// maildrop; the result is kept per file (name, size, time) for the life
// of the Store, so a message is read for that once per process. A message
// stored in wire form (CRLF line ends, no line starting with ".", a final
// CRLF) goes out with sendfile(2); any other is converted on the way, 32
// KiB at a time (package pop3).
//
// # Users
//
// The users file holds one "name:hash" line per user, the hash a bcrypt
// one; `proactor pop3-user --users FILE NAME` adds a user or changes a
// password (AddUser), reading it from standard input. It is read at each
// login. A user name is 1 to 64 characters of a-z, A-Z, 0-9, '.', '_' and
// '-' (CheckName), never starting with '.' or '-', so it is always a plain
// directory of the maildrop root, which is opened as an os.Root: no name
// and no symbolic link reaches outside it.
//
// Each maildrop is locked in memory for one session at a time, so one
// directory must be served by one process.
package pop3d

import (
	"github.com/seed487d475b/proactor/pop3"
)

// DefaultAddr is where `proactor serve pop3` listens unless told otherwise.
const DefaultAddr = "127.0.0.1:5110"

// UsersFile is the users file's name in the maildrop directory, used when
// no other is given.
const UsersFile = ".users"

// NewHandler returns a POP3 handler over store, with pop3's default
// limits: failed logins answered after 1 s, three of them end a session.
func NewHandler(store *Store) *pop3.Handler {
	return pop3.NewHandler(store, pop3.Limits{})
}

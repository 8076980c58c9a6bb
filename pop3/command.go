package pop3

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/seed487d475b/proactor/codec"
)

// MaxLine is the longest command line, its line end excluded: RFC 2449
// (section 4) makes servers that offer CAPA take commands of up to 255
// octets, CRLF included.
const MaxLine = 255 - 2

// MaxArg is the longest argument of a command, except PASS: RFC 1939 caps
// arguments at 40 characters. A password may be longer and hold spaces,
// so PASS takes the rest of its line.
const MaxArg = 40

// ErrSyntax reports a command line that is not a POP3 command.
var ErrSyntax = errors.New("pop3: syntax error")

// Command is one parsed command line. Name is the keyword in upper case;
// Args are subslices of the line, valid only as long as it is.
type Command struct {
	Name string
	Args [][]byte
}

// keywords are the commands the server knows, so that Parse can name a
// command without allocating its upper-case form.
var keywords = []string{"USER", "PASS", "APOP", "QUIT", "STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "TOP", "UIDL", "CAPA"}

// Parse parses one command line without its line end: a keyword of 3 or 4
// letters (any case), then arguments separated by single spaces. It
// returns ErrSyntax, wrapped with the reason, for an unknown keyword, more
// than two arguments (no command takes more), an empty argument or one
// over MaxArg, or a line over MaxLine.
func Parse(line []byte) (Command, error) {
	if len(line) > MaxLine {
		return Command{}, fmt.Errorf("%w: line over %d octets", ErrSyntax, MaxLine)
	}
	word, rest, hasArgs := bytes.Cut(line, []byte(" "))
	var cmd Command
	for _, k := range keywords {
		if bytes.EqualFold(word, []byte(k)) {
			cmd.Name = k
			break
		}
	}
	if cmd.Name == "" {
		return Command{}, fmt.Errorf("%w: unknown command", ErrSyntax)
	}
	if !hasArgs {
		return cmd, nil
	}
	if cmd.Name == "PASS" {
		cmd.Args = [][]byte{rest}
		return cmd, nil
	}
	for {
		arg, more, found := bytes.Cut(rest, []byte(" "))
		if len(arg) == 0 || len(arg) > MaxArg {
			return Command{}, fmt.Errorf("%w: an argument must be 1 to %d octets", ErrSyntax, MaxArg)
		}
		if len(cmd.Args) == 2 {
			return Command{}, fmt.Errorf("%w: more than two arguments", ErrSyntax)
		}
		cmd.Args = append(cmd.Args, arg)
		if !found {
			return cmd, nil
		}
		rest = more
	}
}

// number parses a message number or a line count: decimal digits only,
// at most 9 of them, so that it fits an int everywhere.
func number(arg []byte) (int, bool) {
	if len(arg) == 0 || len(arg) > 9 {
		return 0, false
	}
	for _, b := range arg {
		if b < '0' || b > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(string(arg))
	return n, err == nil
}

// Framer splits command lines for proactor.WithFramer: lines ended by CRLF
// or a bare LF (people type at nc), of at most MaxLine octets. A longer
// line is an error (codec.ErrFrameTooLarge), so proactor closes the
// connection: a client that sends one is not speaking POP3.
func Framer() codec.Delimited {
	return codec.Delimited{MaxFrame: MaxLine, AcceptLF: true}
}

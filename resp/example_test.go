package resp_test

import (
	"fmt"

	"github.com/seed487d475b/proactor/resp"
)

// Example parses a pipelined read as a server does: the PipelineFramer
// finds the whole commands at its start, Parse splits them into arguments,
// and the replies are appended to one buffer, written once.
func Example() {
	read := []byte("*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\n*2\r\n$3\r\nGET")
	frame, n, _, _ := resp.PipelineFramer{}.Next(read)
	fmt.Printf("frame of %d bytes; %q waits for the next read\n", n, read[n:])

	var out []byte
	var args [][]byte
	for len(frame) > 0 {
		var err error
		args, n, _, err = resp.Limits{}.Parse(frame, args[:0])
		if err != nil {
			out = resp.AppendError(out, "ERR Protocol error: "+err.(*resp.ProtocolError).Reason)
			break // and close the connection
		}
		switch string(args[0]) {
		case "ECHO":
			out = resp.AppendBulk(out, args[1])
		case "PING":
			out = resp.AppendSimple(out, "PONG")
		}
		frame = frame[n:]
	}
	fmt.Printf("%q\n", out)
	// Output:
	// frame of 28 bytes; "*2\r\n$3\r\nGET" waits for the next read
	// "$2\r\nhi\r\n+PONG\r\n"
}

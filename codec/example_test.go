package codec_test

import (
	"fmt"

	"github.com/seed487d475b/proactor/codec"
)

// Example encodes two messages with a 2-byte length header and decodes them
// the way proactor does: reads arrive in arbitrary pieces, the unconsumed
// tail is kept, and Next is called until it finds no whole frame.
func Example() {
	f := codec.LengthPrefixed{HeaderSize: 2, StripHeader: true}
	var stream []byte
	for _, msg := range []string{"hello", "", "proactor"} {
		var err error
		if stream, err = f.Append(stream, []byte(msg)); err != nil {
			fmt.Println(err)
			return
		}
	}

	var tail []byte
	for len(stream) > 0 {
		read := stream[:min(3, len(stream))] // the network splits the stream
		stream = stream[len(read):]
		tail = append(tail, read...)
		for {
			frame, n, need, err := f.Next(tail)
			if err != nil {
				fmt.Println(err) // the connection would close with err
				return
			}
			if n == 0 {
				if need > 0 {
					fmt.Printf("waiting: %d of %d bytes\n", len(tail), need)
				}
				break
			}
			fmt.Printf("frame %q\n", frame) // valid until tail is reused
			tail = tail[n:]
		}
	}
	// Output:
	// waiting: 3 of 7 bytes
	// waiting: 6 of 7 bytes
	// frame "hello"
	// frame ""
	// waiting: 3 of 10 bytes
	// waiting: 6 of 10 bytes
	// waiting: 9 of 10 bytes
	// frame "proactor"
}

// ExampleDelimited splits text lines and shows that a line over MaxFrame is
// refused before its end arrives.
func ExampleDelimited() {
	f := codec.Delimited{MaxFrame: 8}
	buf := []byte("GET /\r\n\r\nthis line is too long")
	for {
		frame, n, _, err := f.Next(buf)
		if err != nil {
			fmt.Println(err)
			return
		}
		if n == 0 {
			return
		}
		fmt.Printf("line %q\n", frame)
		buf = buf[n:]
	}
	// Output:
	// line "GET /"
	// line ""
	// proactor: frame too large: no delimiter in the first 9 bytes, MaxFrame 8
}

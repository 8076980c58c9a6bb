package buffer_test

import (
	"fmt"

	"github.com/seed487d475b/proactor/buffer"
)

// Example broadcasts one message to three recipients without copying it:
// one reference per recipient, and the producer drops its own.
func Example() {
	pool := buffer.NewPool()

	msg := pool.Get(5)
	copy(msg.Bytes(), "hello")

	recipients := make([]chan *buffer.Buffer, 3)
	done := make(chan string)
	for i := range recipients {
		recipients[i] = make(chan *buffer.Buffer, 1)
		go func() {
			b := <-recipients[i]
			s := string(b.Bytes()) // shared: read only
			b.Release()
			done <- s
		}()
	}
	for _, r := range recipients {
		msg.Retain()
		r <- msg
	}
	msg.Release()

	for range recipients {
		fmt.Println(<-done)
	}
	s := pool.Stats()
	fmt.Printf("gets=%d puts=%d retained=%d\n", s.Gets, s.Puts, s.Retained)
	// Output:
	// hello
	// hello
	// hello
	// gets=1 puts=1 retained=256
}

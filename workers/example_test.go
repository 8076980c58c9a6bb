package workers_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/seed487d475b/proactor/workers"
)

// Requests from two connections arrive interleaved and are handled on eight
// workers, yet each connection's replies come out in request order. In a
// proactor handler the key is c.ID() and the job ends with c.Write(reply).
func Example() {
	pool := workers.New(8)

	replies := make([][]string, 3) // indexed by connection ID
	for i := range 3 {
		for _, conn := range []uint64{1, 2} {
			req := fmt.Sprintf("req%d", i)
			err := pool.Submit(conn, func() {
				// No lock: jobs of one key never run concurrently.
				replies[conn] = append(replies[conn], strings.ToUpper(req))
			})
			if err != nil {
				fmt.Println("busy:", err) // workers.ErrQueueFull
			}
		}
	}

	if err := pool.Close(context.Background()); err != nil {
		fmt.Println(err)
	}
	fmt.Println("conn 1:", replies[1])
	fmt.Println("conn 2:", replies[2])
	// Output:
	// conn 1: [REQ0 REQ1 REQ2]
	// conn 2: [REQ0 REQ1 REQ2]
}

// SubmitWait suits a producer that may block, such as a goroutine reading a
// file, and gives up when its context ends.
func ExamplePool_SubmitWait() {
	pool := workers.New(2, workers.WithQueueSize(4))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	lines := make([]string, 0, 10)
	for i := range 10 {
		// With room for four pending jobs this waits for the workers.
		if err := pool.SubmitWait(ctx, 0, func() { lines = append(lines, fmt.Sprint(i)) }); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := pool.Close(ctx); err != nil {
		fmt.Println(err)
	}
	fmt.Println(strings.Join(lines, " "))
	st := pool.Stats()
	fmt.Println("submitted", st.Submitted, "completed", st.Completed, "rejected", st.Rejected)
	// Output:
	// 0 1 2 3 4 5 6 7 8 9
	// submitted 10 completed 10 rejected 0
}

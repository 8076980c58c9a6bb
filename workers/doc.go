// Package workers is a bounded, resizable goroutine pool for business
// logic, so that proactor's I/O loops never block.
//
// A loop runs the callbacks of many connections one after another: a
// callback that waits on a database or a disk stalls all of them. Hand such
// work to a Pool instead, keyed by the connection's ID:
//
//	h := &handler{pool: workers.New(64, workers.WithQueueSize(4096))}
//	// ... serve with h; after the server's Shutdown, drain the pool:
//	defer h.pool.Close(context.Background())
//
//	func (h *handler) OnData(c *proactor.Conn, data []byte) {
//		req := bytes.Clone(data) // data is only valid until OnData returns
//		err := h.pool.Submit(c.ID(), func() {
//			reply := h.process(req) // may block: it runs on a worker
//			c.Write(reply)          // Write is goroutine-safe and copies reply
//		})
//		if err != nil { // ErrQueueFull: shed load rather than block the loop
//			c.Write(busyReply)
//		}
//	}
//
// # Ordering
//
// Jobs submitted with the same key run one at a time, in the order they
// were accepted: each starts after the previous one has returned, so a job
// sees everything its predecessors wrote, without locks. Because OnData
// calls of one connection come in order on one loop, keying by c.ID()
// turns this into per-connection order: replies leave in request order
// however many workers the pool has, while different connections are
// served in parallel, up to Size jobs at once. A key that has queued work
// gets a worker in turn with the other keys, one job per turn, so one busy
// connection cannot starve the rest.
//
// Order is the order of acceptance: concurrent Submit calls for one key
// from different goroutines are ordered as they take the pool's lock. A
// job can outlive its connection; Write then returns proactor.ErrClosed,
// which a job is free to ignore. Under proactor.WithConnPool a Conn is
// reused once its connection has ended, so a job that uses it must have
// it held: c.Hold() in OnData before Submit, c.Release() at the job's end
// (and at once if Submit fails).
//
// # Backpressure
//
// The queue of pending jobs is bounded (WithQueueSize, across all keys;
// running jobs do not count). Submit never blocks and returns ErrQueueFull
// when the queue is full: the right call on a loop, which may then reply
// "busy", close the connection, or PauseRead it and retry later.
// SubmitWait blocks until there is room or its context ends, for producers
// that may block, such as a goroutine reading a file.
//
// # Failures and shutdown
//
// A job that panics is recovered, counted in Stats().Panics and logged
// through log/slog (WithLogger); the worker goes on, and so do the key's
// later jobs. Close stops accepting jobs, runs those already queued and
// waits for the workers to exit, or for its context, in the manner of
// net/http's Server.Shutdown. Resize changes the number of workers at run
// time; a shrink lets running jobs finish.
package workers

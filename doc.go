// Package proactor is a framework for TCP (and UDP) servers in the Proactor model: the
// framework owns the sockets, the event loops, the buffers, accepting and
// shutdown; your Handler reacts to completed I/O.
//
// # Engines and loops
//
// An Engine runs N event loops (default GOMAXPROCS), each a goroutine with
// its own poller: epoll or io_uring on Linux, Go's net package anywhere
// (WithEngineName). A connection belongs to one loop for its whole life, and
// every callback of that connection runs on that loop. New connections are
// spread over the loops round-robin. Several Servers and Clients may share
// one Engine (WithEngine); one without starts a private engine. A Client
// (or Dial) makes outgoing connections with the same Conn and Handler.
//
// With WithFramer (package codec) OnData receives exactly one whole frame
// per call. Protection options bound what a hostile peer can cost: timeouts
// on a per-loop timing wheel, connection limits, allow and deny lists,
// deferred accept and write-queue backpressure.
//
// # Callback lifecycle
//
// For each connection, in this order and never two at a time:
//
//	OnOpen(c)                 once, after accept; may Write a greeting
//	OnData(c, data)           zero or more times, one per read; data is valid
//	                          only until OnData returns
//	OnPeerClosed(c)           at most once, when the peer's FIN arrives (not
//	                          after Close was requested); c may still write
//	OnClose(c, err)           exactly once, after the socket is gone
//
// The optional AcceptFilter.OnAccept runs before any of these;
// ShutdownHandler.OnShutdown (when the server shuts down),
// WritableHandler.OnWritable, WrittenHandler.OnWritten,
// ClosingHandler.OnClosing and the connection's timer functions run
// between them, on the same loop, never at the same time as another.
// Callbacks must not block the loop: hand long work to another goroutine,
// which may call Write, Close and the other goroutine-safe methods of Conn,
// or Conn.Do to run a function on the connection's loop, in turn with its
// callbacks (to apply a result to state the callbacks own, without a lock).
// A panic in a callback is recovered, logged through log/slog and counted;
// its connection is aborted with a *PanicError and the server goes on.
//
// # Writing and closing
//
// Write and Writev copy the bytes into the connection's queue and return at
// once; they are safe from any goroutine and FIFO per connection. Writes
// made during one loop iteration leave in one writev. The one exception to
// the copy: bytes of OnData's data written with Write during OnData (an
// echo, a relay) are sent from the read buffer when OnData returns, so
// data must not change after it is written. Three ways to end:
//
//	CloseWrite()   FIN after the queue drains; reading goes on (half-close)
//	Close()        no more OnData; the queue drains, FIN, lingering close
//	Abort()        reset now; the queue is dropped
//
// OnClose's err is nil after a clean close, and says why otherwise: a
// wrapped syscall error such as ECONNRESET (test with errors.Is), or one of
// this package's sentinels (ErrAborted, ErrServerClosed, ErrPanic, ...).
//
// CloseRead shuts the receive side alone: no more OnData, input read and
// dropped (no shutdown(SHUT_RD): see CloseRead), writing goes on; with
// CloseWrite it makes a Close. Open reports which sides are open. A
// ClosingHandler's OnClosing is asked, once, before proactor closes a
// connection on its own (a timeout, a framing or TLS error; never the
// peer's FIN, a failed socket or a close the handler asked for): it may
// write a goodbye and let the close go on, or take the close over.
//
// # Completion notices and timers
//
// Mark puts a numbered mark behind what is queued; a WrittenHandler's
// OnWritten(c, mark, nil) follows on the loop once every byte before it
// has been handed to the kernel (ciphertext over TLS), or OnWritten(c,
// mark, err) before OnClose if the connection ends first. A Mark after a
// SendFile reports the file sent. Marks allocate nothing once a
// connection has made its first.
//
// Conn.AfterFunc and Conn.Every run a function on the connection's loop, in
// turn with its callbacks, on the loop's timing wheel (a 20 ms tick; no
// goroutine per timer); the connection's end stops them. Engine and Server
// have their own AfterFunc and Every, on one of the loops; a server's stop
// with it. Each returns a *Timer whose Stop is safe from any goroutine.
// # Files, pools, accepting and diagnostics
//
// Conn.ReceiveFile streams the next n bytes of a connection's input into a
// file straight from the read buffer (plaintext over TLS), never holding
// them in memory; the bytes after them go on to the framer. The engine's
// buffer pool is sized with WithBufferPool or WithBufferOptions, and
// WithTrimInterval says how soon unused memory goes back. Once warm, a
// connection's life allocates one object, its Conn, which by default is
// never reused: a *Conn kept after OnClose fails with ErrClosed instead of
// reaching another connection. WithConnPool reuses Conns too, the seeds'
// context pool, so accepting allocates nothing; code that keeps a *Conn
// outside its callbacks then pins it with Hold and Release. WithAcceptBatch bounds how many connections one
// readiness of a listener brings; WithLocalAddr binds a Client's sockets
// before they connect. WithWorkerPool puts the jobs of the handler's
// workers pool in Stats; WithDumpBadFrames shows, in hex, the first bytes
// of a frame the framer refused.
//
// # Unix sockets and load balancers
//
// Listen("unix:/path") serves a unix stream socket (file mode:
// WithUnixSocketMode), and Client.Dial(ctx, "unix", "/path") dials one,
// on every engine. A unix peer has no IP address: the allow and deny
// lists and the per-IP cap do not apply to it; the socket file's mode is
// the access control. WithProxyProtocol makes a listener behind a load
// balancer take the client's address from the PROXY protocol header
// (package proxyproto), and every admission rule then judges that address.
// docs/DEPLOY.md shows HAProxy, nginx and Kubernetes in front.
//
// # Watching
//
// Server.Stats sums per-loop counters and Server.Histograms per-loop
// histograms (connection lifetime, and, for one OnData call in 64, loop lag
// and callback time): neither walks the connections, so both are cheap to
// scrape (package metrics exports them to Prometheus). Server.Conns is the
// listing: each loop describes its connections (addresses, age, state of
// each side, bytes read and written, queue) between two iterations.
//
// # Datagrams (UDP)
//
// A PacketServer runs a PacketHandler on UDP sockets (ListenPacket,
// ServePacket) on the loops of an Engine, which it may share with
// Servers. Each socket belongs to one loop; OnPacket(pc, data, from) runs
// there for each datagram received whole, in order, never two at a time
// for one socket, and data is valid only until it returns.
// PacketConn.WriteTo(p, addr) copies a reply and is safe from any
// goroutine; the replies written during a batch of OnPacket calls leave
// together after it. A datagram larger than WithPacketSize (4096 bytes by
// default) is dropped and reported to the optional PacketErrorHandler as a
// *TruncatedError (ErrTruncated), never delivered cut; datagrams the kernel
// refuses to send are reported there too, and everything is counted in
// PacketStats. PacketConn.Close sends what is queued, closes the socket on
// its loop and closes Done once no callback of it can run; a panic in
// OnPacket is recovered, logged and counted, and the next datagram is
// delivered.
//
// # Stopping
//
// Shutdown follows net/http: stop accepting, ask every connection to finish
// (OnShutdown, or a graceful Close), wait for every OnClose or the context,
// then abort what is left and return ctx.Err(). Close aborts at once. Both
// wait for the loops, so call them from another goroutine, never from a
// callback.
//
// To take over a listening socket opened elsewhere (systemd's socket
// activation, or the previous process of a zero-downtime upgrade: package
// activation), AddListener serves it; StopAccepting hands accepting over
// to another process that shares the socket without resetting what its
// backlog holds (io_uring serves the few connections whose kernel wake-up
// its cancelled accepts may have taken: see StopAccepting).
package proactor

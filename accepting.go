package proactor

import "net/netip"

// WithAcceptBatch bounds how many connections one readiness of a listening
// socket brings before the loop goes back to its other connections (the
// seeds' number of posted accepts): epoll accepts at most n per readiness
// event, io_uring keeps n single-shot accepts posted instead of one
// multishot accept (so one Poll delivers at most n), and std accepts at
// most n ahead of the loop, leaving the rest in the kernel's backlog. A
// small n keeps a connection storm from delaying the traffic of the
// connections already open; a large one drains a burst sooner. Per server
// or per listener; default: 0, the engine's own (epoll 64 per event,
// io_uring one multishot accept, std no bound).
func WithAcceptBatch(n int) Option {
	return scoped("WithAcceptBatch", onListener, func(c *config) { c.acceptBatch = max(n, 0) })
}

// WithLocalAddr makes a Client (and Dial) bind its sockets to addr before
// connecting, on every engine: a source address on a multi-homed host, or
// a fixed source port (a second connection from the same address and port
// to the same peer then fails with EADDRINUSE). A zero port lets the
// kernel choose one. The address family must match the peer's. Default:
// none (the kernel chooses the address and port).
func WithLocalAddr(addr netip.AddrPort) Option {
	return scoped("WithLocalAddr", onClient, func(c *config) { c.localAddr = addr })
}

// Package uring is a small io_uring(7) binding written on raw system calls:
// ring setup with a fallback ladder of flags, the shared submission and
// completion rings, registration (probe, provided buffer rings, enabling a
// ring created disabled) and provided buffer rings. It holds no policy; the
// engine in internal/driver/uring decides what to submit.
//
// A Ring is not safe for concurrent use: one goroutine (the loop's, locked
// to its OS thread when the ring was set up with IORING_SETUP_SINGLE_ISSUER)
// prepares, submits and reaps. Memory shared with the kernel (the rings, the
// submission entries, buffer rings) is mapped with mmap(2), outside the Go
// heap, and read or written with sync/atomic where the kernel synchronises
// with us (ring heads and tails).
//
// io_uring exists on Linux only; elsewhere the package is empty.
package uring

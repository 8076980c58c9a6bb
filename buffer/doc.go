// Package buffer provides pooled, reference-counted byte buffers.
//
// A Pool hands out Buffers in size classes, the powers of two from 256 B to
// 16 MiB; a request is served from the smallest class that holds it, and a
// request above 16 MiB gets a buffer of its own that is never pooled. Each
// class keeps a bounded stack of free buffers (see WithMaxRetained), so the
// memory a Pool holds stays bounded however bursty the load.
//
// # Ownership
//
// A Buffer carries a count of references. Get and New return it with one,
// owned by the caller. The rules:
//
//   - Whoever holds a reference must Release it exactly once. The last
//     Release returns the buffer to its pool; after that the buffer and its
//     bytes belong to the pool and must not be touched.
//   - To hand a buffer to another owner while keeping it, Retain first: one
//     Retain per extra holder. Handing it over without keeping it (for
//     example to proactor's Conn.WriteBuffer) passes your reference along
//     and needs no Retain.
//   - The bytes may be modified only while there is exactly one holder.
//     Once shared, a buffer is read-only for everyone, its first owner
//     included.
//
// Retain and Release are safe from any goroutine. Releasing a buffer with
// no reference left, or retaining one, is a caller bug and panics. The check
// is best-effort: it catches a double release until the pool hands the same
// buffer out again, which is enough for tests to find the bug.
//
// # Broadcast
//
// To send one message to many connections, fill a buffer once, Retain it
// once per recipient, hand one reference to each, and Release your own:
//
//	b := pool.Get(len(msg))
//	copy(b.Bytes(), msg)
//	for _, c := range conns {
//		b.Retain()
//		c.WriteBuffer(b) // takes the reference just added
//	}
//	b.Release() // the buffer goes back to the pool after the last send
package buffer

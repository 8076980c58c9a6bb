package main

import (
	"encoding/binary"
	"fmt"
)

// The raw streams of the fault clients on the echo server (resets, slow
// readers) are made of 8-byte words, each holding its own position in the
// stream mixed with the client's seed: any hole, repeat, shift or changed
// byte in the echo makes some word differ from the one expected at its
// offset, and two clients' streams never look alike.

// streamWord is word number word (bytes 8*word to 8*word+7) of stream seed.
func streamWord(seed uint64, word uint64) uint64 {
	return (word+1)*0x9E3779B97F4A7C15 ^ seed
}

// fillStream writes the bytes [off, off+len(b)) of stream seed into b.
func fillStream(b []byte, seed uint64, off int64) {
	var w [8]byte
	cur := ^uint64(0)
	for i := range b {
		pos := uint64(off) + uint64(i)
		if pos/8 != cur {
			cur = pos / 8
			binary.LittleEndian.PutUint64(w[:], streamWord(seed, cur))
		}
		b[i] = w[pos%8]
	}
}

// checkStream returns nil if b is the bytes [off, off+len(b)) of stream
// seed, else an error giving the first offset that differs.
func checkStream(b []byte, seed uint64, off int64) error {
	var w [8]byte
	cur := ^uint64(0)
	for i := range b {
		pos := uint64(off) + uint64(i)
		if pos/8 != cur {
			cur = pos / 8
			binary.LittleEndian.PutUint64(w[:], streamWord(seed, cur))
		}
		if b[i] != w[pos%8] {
			return fmt.Errorf("echo differs from the stream at byte %d (got %#02x, want %#02x)", pos, b[i], w[pos%8])
		}
	}
	return nil
}

//go:build race

package buffer_test

// raceEnabled reports whether the race detector is on; it allocates, so
// allocation counts are meaningless under it.
const raceEnabled = true

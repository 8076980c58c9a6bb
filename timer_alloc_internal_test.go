//go:build !race

package proactor

import "testing"

// TestEveryAllocs asserts that an Every's runs allocate nothing: the wheel
// fires it and arms it again in place.
func TestEveryAllocs(t *testing.T) {
	e := &Engine{}
	l := &loop{eng: e, timers: newWheel(0)}
	runs := 0
	tm := &Timer{loop: l, every: wheelTick, f: func() { runs++ }}
	l.timers.arm(&tm.e, wheelTick)
	now := int64(0)
	tick := func() {
		now += wheelTick
		l.timers.advance(now, l.userTimerFired)
	}
	if n := testing.AllocsPerRun(1000, tick); n != 0 {
		t.Fatalf("%v allocations per run of an Every", n)
	}
	if runs < 1000 {
		t.Fatalf("%d runs in 1001 ticks", runs)
	}
}

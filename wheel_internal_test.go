package proactor

import "testing"

// TestWheelCatchUp checks the Timers wheel, which the loop leaves alone
// while it is empty: an arm after a long quiet first brings its tick to
// the loop's clock, and the entry fires when due, with no walk through
// the ticks it missed.
func TestWheelCatchUp(t *testing.T) {
	w := newWheel(0)
	now := 1000 * wheelTick // the loop ran on; the wheel was not advanced
	w.catchUp(now)
	if w.cur != 1000 {
		t.Fatalf("tick %d after catching up to tick 1000", w.cur)
	}
	var e, f timerEntry
	w.arm(&e, now+wheelTick/2)
	w.arm(&f, now+3*wheelTick)
	w.catchUp(now + 100*wheelTick) // armed: it does not move
	if w.cur != 1000 {
		t.Fatalf("an armed wheel moved to tick %d", w.cur)
	}
	var fired []*timerEntry
	fire := func(x *timerEntry) { fired = append(fired, x) }
	w.advance(now+wheelTick, fire)
	if len(fired) != 1 || fired[0] != &e || e.armed() || !f.armed() {
		t.Fatalf("after one tick: fired %v, e armed %v, f armed %v", fired, e.armed(), f.armed())
	}
	w.cancel(&f)
	if w.n != 0 || f.armed() || f.next != nil {
		t.Fatalf("cancel left %d armed", w.n)
	}
}

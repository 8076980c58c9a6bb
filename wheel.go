package proactor

// wheel is a hashed timing wheel: O(1) arm and cancel, a coarse tick. A
// loop has two: one for its connections, where each has at most one entry,
// armed at its earliest deadline (the deadlines themselves are recomputed
// from timestamps when the entry fires, see timeouts.go, so traffic never
// touches the wheel), and one for Timers. Which wheel fired an entry says
// whose it is, so the entry carries no flag for it.
type wheel struct {
	slots []*timerEntry // heads of intrusive doubly-linked lists; the array never moves
	cur   int64         // the last tick processed
	n     int           // entries armed
}

const (
	wheelTick  = int64(20e6) // 20 ms: timeouts are coarse, seconds in practice
	wheelSlots = 256         // one revolution is 5.12 s; later deadlines wait their round
)

// timerEntry is an entry of a wheel's list: 24 bytes in every Conn. Its
// pprev points at whatever points at it (the previous entry's next, or its
// slot's head), so that cancelling needs neither a back link nor the slot.
type timerEntry struct {
	next  *timerEntry
	pprev **timerEntry // nil: not armed
	when  int64        // the deadline, on the loop's clock
}

func (e *timerEntry) armed() bool { return e.pprev != nil }

func newWheel(now int64) wheel {
	return wheel{slots: make([]*timerEntry, wheelSlots), cur: now / wheelTick}
}

// arm schedules e at when; e must not be armed.
func (w *wheel) arm(e *timerEntry, when int64) {
	tick := (when + wheelTick - 1) / wheelTick
	if tick <= w.cur {
		tick = w.cur + 1
	}
	head := &w.slots[tick%wheelSlots]
	e.when, e.pprev, e.next = when, head, *head
	if e.next != nil {
		e.next.pprev = &e.next
	}
	*head = e
	w.n++
}

func (w *wheel) cancel(e *timerEntry) {
	if e.pprev == nil {
		return
	}
	*e.pprev = e.next
	if e.next != nil {
		e.next.pprev = e.pprev
	}
	e.next, e.pprev = nil, nil
	w.n--
}

// advance fires, in no particular order, every entry due by now. fire may
// arm entries again, including the one it was given.
func (w *wheel) advance(now int64, fire func(*timerEntry)) {
	target := now / wheelTick
	if w.n == 0 {
		w.cur = target
		return
	}
	for w.cur < target {
		w.cur++
		for e := w.slots[w.cur%wheelSlots]; e != nil; {
			next := e.next
			if e.when <= now {
				w.cancel(e)
				fire(e)
			}
			e = next
		}
		if w.n == 0 {
			w.cur = target
		}
	}
}

// timeout returns how long the loop may sleep: until the next tick if any
// entry is armed, else forever (-1).
func (w *wheel) timeout(now int64) int64 {
	if w.n == 0 {
		return -1
	}
	return max((w.cur+1)*wheelTick-now, 0)
}

// catchUp brings an empty wheel's tick to now, as advance would have: a
// wheel that is left alone while empty must catch up before an arm, or the
// arm would see an old tick and the next advance walk every tick since.
func (w *wheel) catchUp(now int64) {
	if w.n == 0 {
		w.cur = max(w.cur, now/wheelTick)
	}
}

// timeout2 is the sooner of two wheels' timeouts.
func timeout2(a, b int64) int64 {
	if a < 0 || (b >= 0 && b < a) {
		return b
	}
	return a
}

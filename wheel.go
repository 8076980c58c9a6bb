package proactor

// wheel is a loop's hashed timing wheel: O(1) arm and cancel, a coarse tick.
// Each connection has at most one entry, armed at its earliest deadline; the
// deadlines themselves are recomputed from timestamps when the entry fires
// (see timeouts.go), so traffic never touches the wheel.
type wheel struct {
	slots []*timerEntry // heads of intrusive doubly-linked lists
	cur   int64         // the last tick processed
	n     int           // entries armed
}

const (
	wheelTick  = int64(20e6) // 20 ms: timeouts are coarse, seconds in practice
	wheelSlots = 256         // one revolution is 5.12 s; later deadlines wait their round
)

type timerEntry struct {
	next, prev *timerEntry
	when       int64 // the deadline, on the loop's clock
	slot       int32
	armed      bool
	user       bool // a Timer's entry (AfterFunc, Every), not a Conn's
}

func newWheel(now int64) wheel {
	return wheel{slots: make([]*timerEntry, wheelSlots), cur: now / wheelTick}
}

// arm schedules e at when; e must not be armed.
func (w *wheel) arm(e *timerEntry, when int64) {
	tick := (when + wheelTick - 1) / wheelTick
	if tick <= w.cur {
		tick = w.cur + 1
	}
	s := int32(tick % wheelSlots)
	e.when, e.slot, e.armed = when, s, true
	e.prev = nil
	e.next = w.slots[s]
	if e.next != nil {
		e.next.prev = e
	}
	w.slots[s] = e
	w.n++
}

func (w *wheel) cancel(e *timerEntry) {
	if !e.armed {
		return
	}
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		w.slots[e.slot] = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	}
	e.next, e.prev, e.armed = nil, nil, false
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

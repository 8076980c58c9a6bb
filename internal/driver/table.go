package driver

// tablePage is the number of entries a Table adds at a time.
const tablePage = 256

// Table is a slot-indexed table for per-connection state that grows a page
// at a time. Entries never move, so a pointer to one stays valid while the
// table grows, and growing leaves no garbage behind: a slice grown by
// append would copy every entry and leave the old array to the GC, whose
// headroom turns it into resident memory at tens of thousands of
// connections. The zero Table is empty and ready to use.
type Table[T any] struct {
	pages []*[tablePage]T
}

// Len returns the number of slots the table holds.
func (t *Table[T]) Len() int { return len(t.pages) * tablePage }

// At returns the entry of slot i, which must be below Len.
func (t *Table[T]) At(i uint32) *T { return &t.pages[i/tablePage][i%tablePage] }

// Get returns the entry of slot i, or nil when i is not below Len.
func (t *Table[T]) Get(i uint32) *T {
	if p := i / tablePage; int(p) < len(t.pages) {
		return &t.pages[p][i%tablePage]
	}
	return nil
}

// Grow makes slot i exist, calling fresh on each entry of every page it
// adds.
func (t *Table[T]) Grow(i uint32, fresh func(*T)) {
	for int(i) >= t.Len() {
		p := new([tablePage]T)
		if fresh != nil {
			for k := range p {
				fresh(&p[k])
			}
		}
		t.pages = append(t.pages, p)
	}
}

// All calls fn on every entry, in slot order.
func (t *Table[T]) All(fn func(i uint32, e *T)) {
	for k, p := range t.pages {
		for j := range p {
			fn(uint32(k*tablePage+j), &p[j])
		}
	}
}

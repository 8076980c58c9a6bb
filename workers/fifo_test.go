package workers

import "testing"

func TestFIFO(t *testing.T) {
	tests := []struct {
		name string
		ops  string // 'p' pushes the next number, 'o' pops and expects the oldest
	}{
		{name: "empty pop", ops: "o"},
		{name: "grow from empty", ops: "ppppppppppoooooooooo"},
		{name: "wrap then grow", ops: "pppooppppppppoooooooooooo"},
		{name: "steady state", ops: "ppopopopopopopopopopopopoo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q fifo[int]
			next, want := 0, 0
			for i, op := range tt.ops {
				switch op {
				case 'p':
					q.push(next)
					next++
				case 'o':
					v, ok := q.pop()
					if ok != (want < next) {
						t.Fatalf("op %d: pop ok = %v with %d queued", i, ok, next-want)
					}
					if ok {
						if v != want {
							t.Fatalf("op %d: pop = %d, want %d", i, v, want)
						}
						want++
					}
				}
				if q.len() != next-want {
					t.Fatalf("op %d: len = %d, want %d", i, q.len(), next-want)
				}
			}
		})
	}
}
